"""Strict STS AssumeRole in the emulator: the role must exist and trust the caller, as on AWS."""
from __future__ import annotations

import datetime
import json
from typing import Any

import pytest

from tests.emulator.helpers import DEFAULT_ACCOUNT, make_client

TARGET = "222222222222"
OTHER = "444444444444"
DEFAULT_USER = f"arn:aws:iam::{DEFAULT_ACCOUNT}:user/moto"


def _iam_in(emulator: str, account_id: str) -> Any:
    """An IAM client acting in ``account_id`` through moto's account header (setup only)."""
    iam = make_client(emulator, "iam")

    def in_account(request: Any, **_: Any) -> None:
        request.headers["x-moto-account-id"] = account_id

    iam.meta.events.register("before-sign.iam.*", in_account)
    return iam


def _role(emulator: str, name: str, *statements: dict[str, Any], account_id: str = TARGET, **kwargs: Any) -> str:
    document = {"Version": "2012-10-17", "Statement": list(statements)}
    role = _iam_in(emulator, account_id).create_role(
        RoleName=name, AssumeRolePolicyDocument=json.dumps(document), **kwargs)
    return str(role["Role"]["Arn"])


def _allow(principal: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole", **extra}


def _credentials(response: dict[str, Any]) -> dict[str, str]:
    creds = response["Credentials"]
    return {"aws_access_key_id": creds["AccessKeyId"], "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"]}


def _denied(excinfo: pytest.ExceptionInfo, caller: str, role_arn: str) -> None:
    error = excinfo.value.response["Error"]
    assert error["Code"] == "AccessDenied"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert error["Message"] == (
        f"User: {caller} is not authorized to perform: sts:AssumeRole on resource: {role_arn}")


def test_assumed_role_credentials_act_in_the_role_account(client, emulator):
    role_arn = _role(emulator, "deployer", _allow({"AWS": f"arn:aws:iam::{DEFAULT_ACCOUNT}:root"}))

    creds = _credentials(client("sts").assume_role(RoleArn=role_arn, RoleSessionName="alice"))

    identity = make_client(emulator, "sts", creds).get_caller_identity()
    assert identity["Account"] == TARGET
    assert identity["Arn"] == f"arn:aws:sts::{TARGET}:assumed-role/deployer/alice"
    make_client(emulator, "s3", creds).create_bucket(Bucket="in-target-account")
    assert [b["Name"] for b in make_client(emulator, "s3", creds).list_buckets()["Buckets"]] == ["in-target-account"]
    assert client("s3").list_buckets()["Buckets"] == []


def test_assume_role_denied_when_role_does_not_exist(client):
    role_arn = f"arn:aws:iam::{TARGET}:role/missing"

    with pytest.raises(client("sts").exceptions.ClientError) as excinfo:
        client("sts").assume_role(RoleArn=role_arn, RoleSessionName="alice")

    _denied(excinfo, DEFAULT_USER, role_arn)


def test_assume_role_denied_when_trust_policy_excludes_caller(client, emulator):
    role_arn = _role(emulator, "other-account-only", _allow({"AWS": f"arn:aws:iam::{OTHER}:root"}))

    with pytest.raises(client("sts").exceptions.ClientError) as excinfo:
        client("sts").assume_role(RoleArn=role_arn, RoleSessionName="alice")

    _denied(excinfo, DEFAULT_USER, role_arn)


@pytest.mark.parametrize("principal", [
    {"AWS": DEFAULT_ACCOUNT},
    {"AWS": f"arn:aws:iam::{DEFAULT_ACCOUNT}:root"},
    {"AWS": [f"arn:aws:iam::{OTHER}:root", DEFAULT_USER]},
    {"AWS": "*"},
    "*",
])
def test_assume_role_allowed_for_principals_naming_the_caller(client, emulator, principal):
    role_arn = _role(emulator, "trusting", _allow(principal))

    assumed = client("sts").assume_role(RoleArn=role_arn, RoleSessionName="alice")

    assert assumed["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{TARGET}:assumed-role/trusting/alice"


def test_service_principal_never_matches_a_user(client, emulator):
    role_arn = _role(emulator, "for-codepipeline", _allow({"Service": "codepipeline.amazonaws.com"}))

    with pytest.raises(client("sts").exceptions.ClientError) as excinfo:
        client("sts").assume_role(RoleArn=role_arn, RoleSessionName="alice")

    _denied(excinfo, DEFAULT_USER, role_arn)


def test_deny_statement_overrides_allow(client, emulator):
    role_arn = _role(emulator, "denying", _allow({"AWS": DEFAULT_ACCOUNT}),
                     {"Effect": "Deny", "Principal": {"AWS": DEFAULT_USER}, "Action": "sts:*"})

    with pytest.raises(client("sts").exceptions.ClientError) as excinfo:
        client("sts").assume_role(RoleArn=role_arn, RoleSessionName="alice")

    _denied(excinfo, DEFAULT_USER, role_arn)


def test_role_principal_trusts_sessions_of_that_role_only(client, emulator):
    first_hop = _role(emulator, "pipeline-role", _allow({"AWS": DEFAULT_ACCOUNT}), account_id=DEFAULT_ACCOUNT)
    deploy = _role(emulator, "deploy-role", _allow({"AWS": first_hop}))
    hop_creds = _credentials(client("sts").assume_role(RoleArn=first_hop, RoleSessionName="pipeline"))

    chained = make_client(emulator, "sts", hop_creds).assume_role(RoleArn=deploy, RoleSessionName="deploy")

    assert chained["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{TARGET}:assumed-role/deploy-role/deploy"
    with pytest.raises(client("sts").exceptions.ClientError) as excinfo:
        client("sts").assume_role(RoleArn=deploy, RoleSessionName="direct")
    _denied(excinfo, DEFAULT_USER, deploy)


def test_denied_assumed_role_caller_is_named_by_its_session_arn(client, emulator):
    first_hop = _role(emulator, "hop", _allow({"AWS": DEFAULT_ACCOUNT}), account_id=DEFAULT_ACCOUNT)
    locked = _role(emulator, "locked", _allow({"AWS": f"arn:aws:iam::{OTHER}:root"}))
    hop = make_client(emulator, "sts", _credentials(client("sts").assume_role(RoleArn=first_hop,
                                                                              RoleSessionName="bob")))

    with pytest.raises(hop.exceptions.ClientError) as excinfo:
        hop.assume_role(RoleArn=locked, RoleSessionName="again")

    _denied(excinfo, f"arn:aws:sts::{DEFAULT_ACCOUNT}:assumed-role/hop/bob", locked)


@pytest.mark.parametrize("external_id, allowed", [("s3cret", True), ("guess", False), (None, False)])
def test_external_id_condition_requires_the_matching_external_id(client, emulator, external_id, allowed):
    role_arn = _role(emulator, "with-external-id", _allow(
        {"AWS": DEFAULT_ACCOUNT}, Condition={"StringEquals": {"sts:ExternalId": "s3cret"}}))
    kwargs = {"ExternalId": external_id} if external_id else {}

    if allowed:
        client("sts").assume_role(RoleArn=role_arn, RoleSessionName="alice", **kwargs)
    else:
        with pytest.raises(client("sts").exceptions.ClientError) as excinfo:
            client("sts").assume_role(RoleArn=role_arn, RoleSessionName="alice", **kwargs)
        _denied(excinfo, DEFAULT_USER, role_arn)


@pytest.mark.parametrize("condition, allowed", [
    ({"StringLike": {"aws:PrincipalArn": f"arn:aws:iam::{DEFAULT_ACCOUNT}:user/*"}}, True),
    ({"StringLike": {"aws:PrincipalArn": f"arn:aws:iam::{DEFAULT_ACCOUNT}:role/*"}}, False),
    ({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/mo?o"}}, True),
    ({"ArnEquals": {"aws:PrincipalArn": f"arn:aws:iam::{OTHER}:user/moto"}}, False),
    ({"StringEquals": {"aws:PrincipalArn": [f"arn:aws:iam::{OTHER}:user/x", DEFAULT_USER]}}, True),
])
def test_principal_arn_condition_limits_who_may_assume(client, emulator, condition, allowed):
    role_arn = _role(emulator, "conditional", _allow({"AWS": "*"}, Condition=condition))

    if allowed:
        client("sts").assume_role(RoleArn=role_arn, RoleSessionName="alice")
    else:
        with pytest.raises(client("sts").exceptions.ClientError):
            client("sts").assume_role(RoleArn=role_arn, RoleSessionName="alice")


def test_duration_seconds_sets_the_expiration(client, emulator):
    role_arn = _role(emulator, "long", _allow({"AWS": DEFAULT_ACCOUNT}), MaxSessionDuration=7200)
    before = datetime.datetime.now(datetime.timezone.utc)

    creds = client("sts").assume_role(RoleArn=role_arn, RoleSessionName="alice", DurationSeconds=5400)["Credentials"]

    lifetime = (creds["Expiration"] - before).total_seconds()
    assert 5390 <= lifetime <= 5410


@pytest.mark.parametrize("duration, message", [
    (3601, "exceeds the MaxSessionDuration"),
    (899, "greater than or equal to 900"),
])
def test_duration_outside_the_role_limits_is_rejected(client, emulator, duration, message):
    role_arn = _role(emulator, "short", _allow({"AWS": DEFAULT_ACCOUNT}))
    sts = make_client(emulator, "sts", parameter_validation=False)  # let the server judge 899

    with pytest.raises(sts.exceptions.ClientError) as excinfo:
        sts.assume_role(RoleArn=role_arn, RoleSessionName="alice", DurationSeconds=duration)

    assert excinfo.value.response["Error"]["Code"] == "ValidationError"
    assert message in excinfo.value.response["Error"]["Message"]


def test_default_credentials_are_the_moto_user(client):
    identity = client("sts").get_caller_identity()

    assert (identity["Account"], identity["Arn"]) == (DEFAULT_ACCOUNT, DEFAULT_USER)


def test_role_chaining_is_limited_to_one_hour(client, emulator):
    first_hop = _role(emulator, "first", _allow({"AWS": DEFAULT_ACCOUNT}), account_id=DEFAULT_ACCOUNT)
    second = _role(emulator, "second", _allow({"AWS": DEFAULT_ACCOUNT}), MaxSessionDuration=7200)
    hop = make_client(emulator, "sts", _credentials(client("sts").assume_role(RoleArn=first_hop,
                                                                              RoleSessionName="hop")))

    with pytest.raises(hop.exceptions.ClientError) as excinfo:
        hop.assume_role(RoleArn=second, RoleSessionName="chained", DurationSeconds=7200)

    assert "role chaining" in excinfo.value.response["Error"]["Message"]
