"""Bucket policies over the emulator's plain HTTP: conditions evaluated, every request counted as TLS."""
from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError

from tests.emulator.helpers import (BUILD_ACCOUNT, DEFAULT_ACCOUNT, STAGING_ACCOUNT, deploy_repository_templates,
                                    make_client, outputs)

BUCKET = "policy-test-bucket"
PIPELINE_ROLE = f"arn:aws:iam::{BUILD_ACCOUNT}:role/orders-api-pipeline-role"
POLICY_LOGGER = "emulator.s3policy"


def credentials(response: dict) -> dict[str, str]:
    creds = response["Credentials"]
    return {"aws_access_key_id": creds["AccessKeyId"], "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"]}


def policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def deny(action: str = "s3:*", **extra: object) -> dict:
    return {"Effect": "Deny", "Principal": "*", "Action": action,
            "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"], **extra}


def is_denied(call) -> bool:
    try:
        call()
    except ClientError as err:
        assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 403, err.response
        return True
    return False


def anonymous_get(endpoint: str, key: str) -> int:
    try:
        with urllib.request.urlopen(f"{endpoint}/{BUCKET}/{key}", timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


@pytest.fixture
def s3(client):
    """A versioned bucket of the default account with one object in it."""
    s3 = client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=BUCKET, Key="present.txt", Body=b"present")
    return s3


@pytest.fixture
def pipeline(client, emulator):
    """The repository's templates deployed; the pipeline role's and a deploy role's sessions.

    Only CodePipeline may assume the pipeline role, so the test lets the default account stand
    in for the service; the deploy role is then assumed from the pipeline role's session, as
    the pipeline's cross-account actions do.
    """
    _, stack = deploy_repository_templates(client)
    iam = client("iam", account=BUILD_ACCOUNT)
    iam.update_assume_role_policy(RoleName="orders-api-pipeline-role", PolicyDocument=policy(
        {"Effect": "Allow", "Principal": {"Service": "codepipeline.amazonaws.com",
                                          "AWS": f"arn:aws:iam::{DEFAULT_ACCOUNT}:root"},
         "Action": "sts:AssumeRole"}))
    pipeline_creds = credentials(make_client(emulator, "sts").assume_role(
        RoleArn=PIPELINE_ROLE, RoleSessionName="codepipeline"))
    deploy_creds = credentials(make_client(emulator, "sts", pipeline_creds).assume_role(
        RoleArn=f"arn:aws:iam::{STAGING_ACCOUNT}:role/orders-api-deploy-role", RoleSessionName="deploy"))
    return {"bucket": outputs(stack)["ArtifactBucketName"],
            "admin": client("s3", account=BUILD_ACCOUNT),
            "pipeline": make_client(emulator, "s3", pipeline_creds),
            "deploy": make_client(emulator, "s3", deploy_creds)}


def test_artifact_bucket_keeps_its_tls_only_policy_and_takes_the_pipelines_writes(pipeline):
    bucket, writer = pipeline["bucket"], pipeline["pipeline"]
    statements = json.loads(pipeline["admin"].get_bucket_policy(Bucket=bucket)["Policy"])["Statement"]
    assert statements[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}

    first = writer.put_object(Bucket=bucket, Key="build/output.zip", Body=b"build 1")["VersionId"]
    writer.put_object(Bucket=bucket, Key="build/output.zip", Body=b"build 2")

    assert writer.get_object(Bucket=bucket, Key="build/output.zip")["Body"].read() == b"build 2"
    assert writer.get_object(Bucket=bucket, Key="build/output.zip", VersionId=first)["Body"].read() == b"build 1"
    assert writer.head_object(Bucket=bucket, Key="build/output.zip")["ContentLength"] == 7
    writer.delete_object(Bucket=bucket, Key="build/output.zip", VersionId=first)
    versions = pipeline["admin"].list_object_versions(Bucket=bucket)["Versions"]
    assert [v["VersionId"] for v in versions if v["VersionId"] == first] == []


def test_deploy_role_reads_artifacts_and_their_versions_across_accounts(pipeline):
    bucket = pipeline["bucket"]
    version = pipeline["pipeline"].put_object(Bucket=bucket, Key="packaged.yaml", Body=b"template")["VersionId"]

    reader = pipeline["deploy"]
    assert reader.get_object(Bucket=bucket, Key="packaged.yaml")["Body"].read() == b"template"
    assert reader.get_object(Bucket=bucket, Key="packaged.yaml", VersionId=version)["Body"].read() == b"template"


def test_artifact_bucket_can_be_emptied_of_every_version_and_delete_marker(pipeline):
    bucket, admin = pipeline["bucket"], pipeline["admin"]
    for n in range(2):
        admin.put_object(Bucket=bucket, Key="artifact.zip", Body=f"build {n}".encode())
    admin.delete_object(Bucket=bucket, Key="artifact.zip")  # a delete marker
    listing = admin.list_object_versions(Bucket=bucket)
    keys = [{"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in listing.get("Versions", []) + listing.get("DeleteMarkers", [])]

    result = admin.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})

    assert result.get("Errors", []) == []
    assert len(keys) == 3
    assert "Versions" not in admin.list_object_versions(Bucket=bucket)


def test_unconditional_deny_still_denies_every_object_request(s3):
    s3.put_bucket_policy(Bucket=BUCKET, Policy=policy(deny()))

    assert is_denied(lambda: s3.put_object(Bucket=BUCKET, Key="new.txt", Body=b"x"))
    assert is_denied(lambda: s3.get_object(Bucket=BUCKET, Key="present.txt"))
    assert is_denied(lambda: s3.delete_object(Bucket=BUCKET, Key="present.txt"))
    errors = s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": "present.txt"}]})["Errors"]
    assert [(e["Key"], e["Code"]) for e in errors] == [("present.txt", "AccessDenied")]


@pytest.mark.parametrize(("condition", "denied"), [
    ({"Bool": {"aws:SecureTransport": "false"}}, False),
    ({"Bool": {"aws:SecureTransport": False}}, False),  # a JSON boolean reads as "false"
    ({"Bool": {"aws:SecureTransport": "true"}}, True),
    ({"BoolIfExists": {"aws:SecureTransport": "false"}}, False),
    ({"Null": {"aws:SecureTransport": "true"}}, False),
    ({"StringEquals": {"aws:PrincipalAccount": DEFAULT_ACCOUNT}}, True),
    ({"StringNotEquals": {"aws:PrincipalAccount": DEFAULT_ACCOUNT}}, False),
    ({"StringEquals": {"aws:PrincipalType": "User"}, "Bool": {"aws:SecureTransport": "false"}}, False),
])
def test_deny_conditions_are_evaluated_with_every_request_over_tls(s3, condition, denied):
    s3.put_bucket_policy(Bucket=BUCKET, Policy=policy(deny(Condition=condition)))

    assert is_denied(lambda: s3.put_object(Bucket=BUCKET, Key="new.txt", Body=b"x")) is denied
    assert is_denied(lambda: s3.get_object(Bucket=BUCKET, Key="present.txt")) is denied


def test_deny_for_one_principal_spares_the_others(s3, client, emulator):
    other = client("s3", account=STAGING_ACCOUNT)  # a role session of another account
    s3.put_bucket_policy(Bucket=BUCKET, Policy=policy(
        deny("s3:GetObject", Condition={"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{STAGING_ACCOUNT}:role/*"}}),
        {**deny("s3:PutObject"), "Principal": {"AWS": f"arn:aws:iam::{DEFAULT_ACCOUNT}:root"}}))

    assert is_denied(lambda: other.get_object(Bucket=BUCKET, Key="present.txt"))
    assert not is_denied(lambda: s3.get_object(Bucket=BUCKET, Key="present.txt"))
    assert is_denied(lambda: s3.put_object(Bucket=BUCKET, Key="new.txt", Body=b"x"))
    assert not is_denied(lambda: other.put_object(Bucket=BUCKET, Key="new.txt", Body=b"x"))


def test_object_versions_are_authorized_by_their_own_actions(s3):
    version = s3.put_object(Bucket=BUCKET, Key="present.txt", Body=b"second")["VersionId"]
    s3.put_bucket_policy(Bucket=BUCKET, Policy=policy(deny(["s3:GetObjectVersion", "s3:DeleteObjectVersion"])))

    assert not is_denied(lambda: s3.get_object(Bucket=BUCKET, Key="present.txt"))
    assert is_denied(lambda: s3.get_object(Bucket=BUCKET, Key="present.txt", VersionId=version))
    errors = s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [
        {"Key": "present.txt", "VersionId": version}]}).get("Errors", [])
    assert [e["Code"] for e in errors] == ["AccessDenied"]
    assert not is_denied(lambda: s3.delete_object(Bucket=BUCKET, Key="present.txt"))  # only a delete marker


def test_deny_with_a_condition_the_emulator_cannot_evaluate_denies_and_says_so(s3, caplog):
    caplog.set_level(logging.WARNING, logger=POLICY_LOGGER)
    s3.put_bucket_policy(Bucket=BUCKET, Policy=policy(
        deny(Sid="OnlyFromTheOffice", Condition={"NotIpAddress": {"aws:SourceIp": "192.0.2.0/24"}}),
        deny("s3:PutObject", Sid="SmallAccounts", Condition={"NumericLessThan": {"aws:PrincipalAccount": "5"}})))

    assert is_denied(lambda: s3.get_object(Bucket=BUCKET, Key="present.txt"))
    assert is_denied(lambda: s3.get_object(Bucket=BUCKET, Key="present.txt"))

    warnings = [r.getMessage() for r in caplog.records if r.name == POLICY_LOGGER]
    assert warnings == [f"bucket policy of {BUCKET} is not fully emulated: Deny statement OnlyFromTheOffice: "
                        "condition key aws:SourceIp is not emulated; applied"]  # once, not per request
    caplog.clear()
    s3.put_bucket_policy(Bucket=BUCKET, Policy=policy(
        deny("s3:PutObject", Sid="SmallAccounts", Condition={"NumericLessThan": {"aws:PrincipalAccount": "5"}})))
    assert is_denied(lambda: s3.put_object(Bucket=BUCKET, Key="new.txt", Body=b"x"))
    assert "condition operator NumericLessThan is not emulated; applied" in caplog.text


def test_allow_with_a_condition_the_emulator_cannot_evaluate_grants_nothing(s3, emulator, caplog):
    caplog.set_level(logging.WARNING, logger=POLICY_LOGGER)
    public = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"}
    assert anonymous_get(emulator, "present.txt") == 403  # private object, no policy

    s3.put_bucket_policy(Bucket=BUCKET, Policy=policy(public))
    assert anonymous_get(emulator, "present.txt") == 200

    s3.put_bucket_policy(Bucket=BUCKET, Policy=policy(
        {**public, "Condition": {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}}))
    assert anonymous_get(emulator, "present.txt") == 403
    assert "condition key aws:SourceIp is not emulated; granting nothing" in caplog.text


def test_anonymous_requests_have_no_principal(s3, emulator):
    s3.put_bucket_policy(Bucket=BUCKET, Policy=policy(
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"},
        deny("s3:GetObject", Condition={"Null": {"aws:PrincipalArn": "true"}})))

    assert anonymous_get(emulator, "present.txt") == 403
    assert s3.get_object(Bucket=BUCKET, Key="present.txt")["Body"].read() == b"present"
