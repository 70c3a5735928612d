"""Demo accounts: build, staging and production, each reachable from the default credentials."""
from __future__ import annotations

import json

import pytest

from emulator import demo
from tests.emulator.helpers import DEFAULT_ACCOUNT, control, make_client

ACCOUNTS = ["111111111111", "222222222222", "333333333333"]


def _assume(client, account_id: str) -> dict[str, str]:
    creds = client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole", RoleSessionName="portal-alice"
    )["Credentials"]
    return {"aws_access_key_id": creds["AccessKeyId"], "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"]}


def test_seed_returns_the_three_demo_accounts():
    accounts = demo.seed()

    assert [(a.name, a.account_id) for a in accounts] == [
        ("build", "111111111111"), ("staging", "222222222222"), ("production", "333333333333")]
    assert accounts[1].role_arn == "arn:aws:iam::222222222222:role/OrganizationAccountAccessRole"


@pytest.mark.parametrize("account_id", ACCOUNTS)
def test_default_credentials_can_assume_each_demo_account_role(client, emulator, account_id):
    control(emulator, "demo", {})

    creds = _assume(client, account_id)

    assert make_client(emulator, "sts", creds).get_caller_identity()["Account"] == account_id


def test_demo_role_trusts_the_default_account_and_allows_everything(client, emulator):
    control(emulator, "demo", {})
    iam = make_client(emulator, "iam", _assume(client, "333333333333"))

    role = iam.get_role(RoleName="OrganizationAccountAccessRole")["Role"]
    policy = iam.get_role_policy(RoleName="OrganizationAccountAccessRole", PolicyName="AdministratorAccess")

    [statement] = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{DEFAULT_ACCOUNT}:root"}
    assert policy["PolicyDocument"]["Statement"] == [{"Effect": "Allow", "Action": "*", "Resource": "*"}]


def test_seeding_twice_keeps_one_role_and_repairs_its_trust(client, emulator):
    control(emulator, "demo", {})
    iam = make_client(emulator, "iam", _assume(client, "111111111111"))
    iam.update_assume_role_policy(RoleName="OrganizationAccountAccessRole", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "999999999999"}, "Action": "sts:AssumeRole"}]}))

    control(emulator, "demo", {})

    roles = iam.list_roles()["Roles"]
    assert [r["RoleName"] for r in roles].count("OrganizationAccountAccessRole") == 1
    assert _assume(client, "111111111111")["aws_access_key_id"].startswith("ASIA")


def test_demo_roles_are_gone_after_reset(client, emulator):
    control(emulator, "demo", {})
    control(emulator, "reset", {})

    with pytest.raises(client("sts").exceptions.ClientError) as excinfo:
        _assume(client, "222222222222")
    assert excinfo.value.response["Error"]["Code"] == "AccessDenied"
