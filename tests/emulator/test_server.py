"""The server shell: control API, reset, and that boto3 reaches moto through it."""
from __future__ import annotations

import urllib.error

import pytest

from tests.emulator.helpers import control


def test_control_api_sets_and_reports_pace(emulator):
    assert control(emulator, "pace", {"seconds": 0.25}) == {"seconds": 0.25}
    assert control(emulator, "pace") == {"seconds": 0.25}


def test_reset_clears_knobs_and_aws_state(emulator, client):
    client("s3").create_bucket(Bucket="kept-until-reset")
    control(emulator, "pace", {"seconds": 1})
    control(emulator, "throttle", {"fraction": 0.5})
    control(emulator, "failures", {"type": "resource", "logical_id": "Bucket"})
    control(emulator, "actions", {"simulate": True})

    control(emulator, "reset", {})

    assert client("s3").list_buckets()["Buckets"] == []
    assert control(emulator, "pace") == {"seconds": 0.0}
    assert control(emulator, "throttle") == {"fraction": 0.0}
    assert control(emulator, "failures") == {"resource": [], "action": [], "event": []}
    assert control(emulator, "actions") == {"simulate": False}  # actions do their real work again


def test_failures_endpoint_lists_and_clears_rules(emulator):
    control(emulator, "failures", {"type": "resource", "logical_id": "Topic", "operation": "update",
                                   "count": 2, "reason": "boom"})
    control(emulator, "failures", {"type": "action", "stage_name": "Build", "action_name": "BuildAndTest"})

    listed = control(emulator, "failures")
    assert listed["resource"][0]["logical_id"] == "Topic"
    assert listed["resource"][0]["operation"] == "UPDATE"
    assert listed["resource"][0]["remaining"] == 2
    assert listed["action"][0]["action_name"] == "BuildAndTest"

    assert control(emulator, "failures", method="DELETE") == {"resource": [], "action": [], "event": []}


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("pace", {"seconds": -1}, "'seconds' must be between"),
        ("pace", {"seconds": "fast"}, "'seconds' must be a number"),
        ("throttle", {"fraction": 1.5}, "'fraction' must be between"),
        ("failures", {"type": "resource"}, "'logical_id' must be a non-empty string"),
        ("failures", {"type": "resource", "logical_id": "X", "operation": "MOVE"}, "'operation' must be one of"),
        ("failures", {"type": "resource", "logical_id": "X", "count": 0}, "'count' must be a positive"),
        ("failures", {"type": "stack"}, "'type' must be 'resource', 'action' or 'event'"),
    ],
)
def test_control_api_rejects_bad_input(emulator, path, body, message):
    with pytest.raises(urllib.error.HTTPError) as caught:
        control(emulator, path, body)
    assert caught.value.code == 400
    assert message in caught.value.read().decode()


def test_aws_calls_reach_moto_through_the_emulator(client):
    sns = client("sns")
    arn = sns.create_topic(Name="reachable")["TopicArn"]
    assert arn == "arn:aws:sns:us-east-1:123456789012:reachable"


def test_client_for_another_account_acts_in_that_account(client):
    identity = client("sts", account="222222222222").get_caller_identity()
    assert identity["Account"] == "222222222222"


def test_install_again_keeps_existing_stacks(client):
    from emulator import cfn
    from emulator.install import install

    client("cloudformation").create_stack(
        StackName="kept", TemplateBody='{"Resources": {"T": {"Type": "AWS::SNS::Topic"}}}')

    install()
    cfn.install()

    assert client("cloudformation").describe_stacks(StackName="kept")["Stacks"][0]["StackStatus"] == \
        "CREATE_COMPLETE"
