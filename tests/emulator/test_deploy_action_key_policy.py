"""KMS key policies as the deploy action evaluates them (emulator/kms_policy.py): only the key policy
grants, the account root statement hands the key's own account to IAM, another account needs a
statement naming it, an explicit Deny wins, a disabled key refuses everyone."""
from __future__ import annotations

import json

import pytest

from emulator.kms_policy import KeyAccessDenied, KeyUse, check
from emulator.sts import Caller
from tests.emulator.helpers import BUILD_ACCOUNT, REGION, STAGING_ACCOUNT

DEPLOY_ROLE = f"arn:aws:iam::{STAGING_ACCOUNT}:role/orders-api-deploy-role"
DEPLOYER = Caller(STAGING_ACCOUNT, f"arn:aws:sts::{STAGING_ACCOUNT}:assumed-role/orders-api-deploy-role/1",
                  DEPLOY_ROLE, "AssumedRole")
BUILDER = Caller(BUILD_ACCOUNT, f"arn:aws:sts::{BUILD_ACCOUNT}:assumed-role/orders-api-build-role/1",
                 f"arn:aws:iam::{BUILD_ACCOUNT}:role/orders-api-build-role", "AssumedRole")
ROOT = {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{BUILD_ACCOUNT}:root"},
        "Action": "kms:*", "Resource": "*"}
GRANT = {"Sid": "Deploy", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{STAGING_ACCOUNT}:root"},
         "Action": ["kms:Decrypt", "kms:DescribeKey"], "Resource": "*",
         "Condition": {"ArnEquals": {"aws:PrincipalArn": DEPLOY_ROLE}}}


def key(client, *statements):
    kms = client("kms", account=BUILD_ACCOUNT)
    policy = json.dumps({"Version": "2012-10-17", "Statement": list(statements)})
    return kms, kms.create_key(Policy=policy)["KeyMetadata"]["Arn"]


def use(key_arn, action="kms:Decrypt"):
    return KeyUse(action, key_arn, BUILD_ACCOUNT, REGION, via_service=f"s3.{REGION}.amazonaws.com")


def test_the_keys_own_account_is_granted_by_the_root_statement(client):
    _, arn = key(client, ROOT)
    assert check(use(arn), BUILDER) == arn


def test_another_account_needs_a_statement_naming_its_role(client):
    _, granted = key(client, ROOT, GRANT)
    _, root_only = key(client, ROOT)

    assert check(use(granted), DEPLOYER) == granted
    with pytest.raises(KeyAccessDenied) as refused:
        check(use(root_only), DEPLOYER)
    assert str(refused.value) == (f"User: {DEPLOYER.arn} is not authorized to perform: kms:Decrypt on resource: "
                                  f"{root_only} because no resource-based policy allows the kms:Decrypt action")


def test_the_grant_covers_only_its_actions_and_roles(client):
    _, arn = key(client, ROOT, GRANT)
    other_role = Caller(STAGING_ACCOUNT, f"arn:aws:sts::{STAGING_ACCOUNT}:assumed-role/someone/1",
                        f"arn:aws:iam::{STAGING_ACCOUNT}:role/someone", "AssumedRole")
    with pytest.raises(KeyAccessDenied):
        check(use(arn), other_role)
    with pytest.raises(KeyAccessDenied):
        check(use(arn, "kms:Encrypt"), DEPLOYER)


def test_an_explicit_deny_wins(client):
    deny = {"Sid": "NoS3", "Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}}}
    _, arn = key(client, ROOT, GRANT, deny)
    with pytest.raises(KeyAccessDenied, match="with an explicit deny in a resource-based policy"):
        check(use(arn), DEPLOYER)


def test_a_disabled_key_refuses_even_its_own_account(client):
    kms, arn = key(client, ROOT)
    kms.disable_key(KeyId=arn.rsplit("/", 1)[-1])
    with pytest.raises(KeyAccessDenied, match="is disabled"):
        check(use(arn), BUILDER)
