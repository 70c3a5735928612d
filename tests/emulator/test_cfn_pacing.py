"""Pacing: stack operations take time, revealed one event per ``pace`` seconds."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError

from tests.emulator.helpers import control, event_trail, outputs, stack_events, template, wait_for_status
from tests.waiting import wait_for

PACE = 0.1
# Declared out of dependency order on purpose: the alias needs the key, the key the topic's name.
RESOURCES = {
    "Alias": {"Type": "AWS::KMS::Alias",
              "Properties": {"AliasName": "alias/app-artifacts", "TargetKeyId": {"Ref": "Key"}}},
    "Key": {"Type": "AWS::KMS::Key",
            "Properties": {"Description": {"Fn::GetAtt": ["Topic", "TopicName"]}}},
    "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "approvals"}},
}
OUTPUTS = {"KeyArn": {"Value": {"Fn::GetAtt": ["Key", "Arn"]}}}
EVENTS = 1 + 3 * len(RESOURCES) + 1  # stack start, three per resource, stack end


@pytest.fixture
def paced(emulator):
    control(emulator, "pace", {"seconds": PACE})


def test_paced_stack_reports_in_progress_until_last_event(paced, client):
    cfn = client("cloudformation")
    started = time.monotonic()
    cfn.create_stack(StackName="app", TemplateBody=template(RESOURCES, OUTPUTS))

    first = cfn.describe_stacks(StackName="app")["Stacks"][0]
    assert first["StackStatus"] == "CREATE_IN_PROGRESS"
    assert "Outputs" not in first
    done = wait_for_status(cfn, "app", {"CREATE_COMPLETE"})
    elapsed = time.monotonic() - started

    assert elapsed >= (EVENTS - 1) * PACE * 0.9
    assert outputs(done)["KeyArn"].startswith("arn:aws:kms:us-east-1:123456789012:key/")
    assert len(stack_events(cfn, "app")) == EVENTS


def test_paced_request_returns_before_the_operation_ends(paced, client):
    cfn = client("cloudformation")
    started = time.monotonic()

    cfn.create_stack(StackName="app", TemplateBody=template(RESOURCES, OUTPUTS))

    assert time.monotonic() - started < (EVENTS - 1) * PACE / 2


def test_paced_events_appear_over_time_in_dependency_order(paced, client):
    cfn = client("cloudformation")
    cfn.create_stack(StackName="app", TemplateBody=template(RESOURCES, OUTPUTS))

    seen: list[int] = []  # how many events were visible at each look

    def all_visible() -> bool:
        seen.append(len(stack_events(cfn, "app")))
        return seen[-1] >= EVENTS

    wait_for(all_visible, EVENTS * PACE + 10, "every event to appear", interval=PACE / 2)

    assert seen[0] < EVENTS / 2  # most events were still hidden at first
    assert seen == sorted(seen)
    events = stack_events(cfn, "app")
    gaps = [(b["Timestamp"] - a["Timestamp"]).total_seconds() for a, b in zip(events, events[1:])]
    assert all(gap == pytest.approx(PACE, abs=0.01) for gap in gaps)
    completed = [lid for lid, status in event_trail(cfn, "app") if status == "CREATE_COMPLETE"]
    assert completed == ["Topic", "Key", "Alias", "app"]


def test_zero_pace_completes_at_once(client):
    cfn = client("cloudformation")

    cfn.create_stack(StackName="app", TemplateBody=template(RESOURCES, OUTPUTS))

    stack = cfn.describe_stacks(StackName="app")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert "KeyArn" in outputs(stack)


def test_paced_resources_appear_as_their_events_do(paced, client):
    cfn = client("cloudformation")
    cfn.create_stack(StackName="app", TemplateBody=template(RESOURCES, OUTPUTS))

    early = cfn.list_stack_resources(StackName="app")["StackResourceSummaries"]
    wait_for_status(cfn, "app", {"CREATE_COMPLETE"})
    final = cfn.list_stack_resources(StackName="app")["StackResourceSummaries"]

    assert len(early) < len(RESOURCES)
    assert {r["LogicalResourceId"]: r["ResourceStatus"] for r in final} == {
        "Topic": "CREATE_COMPLETE", "Key": "CREATE_COMPLETE", "Alias": "CREATE_COMPLETE"}


def test_stack_cannot_be_updated_while_a_paced_operation_runs(paced, client):
    cfn = client("cloudformation")
    stack_id = cfn.create_stack(StackName="app", TemplateBody=template(RESOURCES, OUTPUTS))["StackId"]

    with pytest.raises(ClientError) as caught:
        cfn.update_stack(StackName="app", TemplateBody=template({"Topic": RESOURCES["Topic"]}))

    assert caught.value.response["Error"]["Message"] == (
        f"Stack:{stack_id} is in CREATE_IN_PROGRESS state and can not be updated.")


def test_paced_deletion_reports_delete_in_progress_then_vanishes(emulator, client):
    cfn = client("cloudformation")
    stack_id = cfn.create_stack(StackName="app", TemplateBody=template(RESOURCES, OUTPUTS))["StackId"]
    control(emulator, "pace", {"seconds": PACE})

    cfn.delete_stack(StackName="app")

    assert cfn.describe_stacks(StackName="app")["Stacks"][0]["StackStatus"] == "DELETE_IN_PROGRESS"
    wait_for_status(cfn, stack_id, {"DELETE_COMPLETE"})
    with pytest.raises(ClientError):
        cfn.describe_stacks(StackName="app")
    deletes = [lid for lid, status in event_trail(cfn, stack_id) if status == "DELETE_COMPLETE"]
    assert deletes == ["Alias", "Key", "Topic", "app"]


def test_paced_change_set_execution_is_in_progress_until_done(paced, client):
    cfn = client("cloudformation")
    cfn.create_change_set(StackName="app", ChangeSetName="create", ChangeSetType="CREATE",
                          TemplateBody=template(RESOURCES, OUTPUTS))

    cfn.execute_change_set(StackName="app", ChangeSetName="create")

    assert cfn.describe_change_set(StackName="app", ChangeSetName="create")["ExecutionStatus"] == \
        "EXECUTE_IN_PROGRESS"
    wait_for_status(cfn, "app", {"CREATE_COMPLETE"})
    assert cfn.describe_change_set(StackName="app", ChangeSetName="create")["ExecutionStatus"] == \
        "EXECUTE_COMPLETE"


def test_paced_rollback_ends_in_rollback_complete(paced, emulator, client):
    cfn = client("cloudformation")
    control(emulator, "failures", {"type": "resource", "logical_id": "Alias", "reason": "nope"})

    cfn.create_stack(StackName="app", TemplateBody=template(RESOURCES, OUTPUTS))

    statuses: set[str] = set()  # every status seen on the way

    def rolled_back() -> bool:
        statuses.add(cfn.describe_stacks(StackName="app")["Stacks"][0]["StackStatus"])
        return "ROLLBACK_COMPLETE" in statuses

    wait_for(rolled_back, EVENTS * PACE + 10, "the rollback to complete", interval=PACE / 2)
    assert {"CREATE_IN_PROGRESS", "ROLLBACK_IN_PROGRESS"} <= statuses


def test_concurrent_stack_operations_do_not_interfere(paced, client):
    def deploy(index: int) -> str:
        cfn = client("cloudformation")
        name = f"app-{index}"
        cfn.create_stack(StackName=name, TemplateBody=template(
            {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": name}}}))
        return wait_for_status(cfn, name, {"CREATE_COMPLETE", "ROLLBACK_COMPLETE"})["StackStatus"]

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(deploy, range(6)))

    assert statuses == ["CREATE_COMPLETE"] * 6
    assert len(client("sns").list_topics()["Topics"]) == 6
