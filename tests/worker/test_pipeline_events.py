"""CodePipeline and CloudFormation events as the queue delivers them, turned into what the worker stores."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from core.models import PipelineSnapshot
from worker.event_intake import BadEvent, PipelineChange, StackChange, parse
from worker.pipeline_events import EVENT_READ_SECONDS, apply

NOW = datetime(2026, 12, 3, 12, 0, 0, tzinfo=timezone.utc)
STACK_ID = "arn:aws:cloudformation:us-east-1:111111111111:stack/orders-api-pipeline/0a1b"


def body(detail_type, detail, at=NOW, source="aws.codepipeline", event_id="e-1"):
    return json.dumps({"version": "0", "id": event_id, "detail-type": detail_type, "source": source,
                       "account": "111111111111", "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "region": "us-east-1",
                       "resources": [], "detail": detail})


def action_event(state, at, run="run-1", stage="Build", action="BuildAndTest", execution="x-1", **extra):
    return parse(body("CodePipeline Action Execution State Change",
                      {"pipeline": "orders-api-pipeline", "execution-id": execution, "stage": stage, "action": action,
                       "action-execution-id": run, "state": state, **extra}, at))


def snapshot():
    action = {"name": "BuildAndTest", "status": "Succeeded", "action_execution_id": "run-0",
              "started_at": None, "updated_at": (NOW - timedelta(minutes=5)).isoformat(), "summary": "",
              "external_id": "", "external_url": "", "error": {}}
    approve = {"name": "Approve", "status": "InProgress", "action_execution_id": "run-a",
               "updated_at": (NOW - timedelta(minutes=5)).isoformat()}
    return PipelineSnapshot(setup_id=1, pipeline_name="orders-api-pipeline", account_id="111111111111",
                            region="us-east-1", version=3, read_at=NOW - timedelta(seconds=10),
                            next_read_at=NOW + timedelta(minutes=5),
                            stages=[{"name": "Build", "status": "Succeeded", "execution_id": "x-0",
                                     "actions": [action]},
                                    {"name": "ApproveProduction", "status": "InProgress", "execution_id": "x-0",
                                     "actions": [approve]}],
                            executions=[{"id": "x-0", "status": "Succeeded", "updated_at": (NOW - timedelta(minutes=5)).isoformat()}],
                            approval={"stage": "ApproveProduction"}, approval_token="t")


def test_stack_events_of_both_kinds_become_stack_events_under_the_queue_id():
    own = parse(body("CloudFormation Stack Status Change",
                     {"stack-id": STACK_ID, "status-details": {"status": "UPDATE_IN_PROGRESS",
                                                              "status-reason": "User Initiated"}},
                     source="aws.cloudformation", event_id="abc"))
    resource = parse(body("CloudFormation Resource Status Change",
                          {"stack-id": STACK_ID, "logical-resource-id": "Pipeline", "physical-resource-id": "p",
                           "resource-type": "AWS::CodePipeline::Pipeline",
                           "status-details": {"status": "UPDATE_COMPLETE", "status-reason": ""}},
                          source="aws.cloudformation"))
    assert isinstance(own, StackChange) and own.event.event_id == "evb:abc"
    assert (own.event.logical_id, own.event.resource_type, own.event.is_stack_event) == (
        "orders-api-pipeline", "AWS::CloudFormation::Stack", True)
    assert own.event.timestamp == NOW and own.event.reason == "User Initiated"
    assert isinstance(resource, StackChange) and resource.event.logical_id == "Pipeline"
    assert not resource.event.is_stack_event


@pytest.mark.parametrize("text", ["not json", json.dumps({"id": "1"}),
                                  body("CloudFormation Stack Status Change", {"stack-id": "nonsense",
                                                                              "status-details": {"status": "X"}})])
def test_a_message_that_is_no_event_we_follow_is_refused_clearly(text):
    with pytest.raises(BadEvent):
        parse(text)


def test_other_event_kinds_are_ignored():
    assert parse(body("EC2 Instance State-change Notification", {}, source="aws.ec2")) is None


def test_an_action_event_shows_at_once_and_makes_a_read_due_a_minute_after_the_last():
    row = snapshot()
    change = action_event("STARTED", NOW, run="run-1")
    assert isinstance(change, PipelineChange)

    assert apply(row, change, NOW)

    action = row.stages[0]["actions"][0]
    assert (action["status"], action["action_execution_id"], action["started_at"]) == (
        "InProgress", "run-1", NOW.isoformat())
    assert row.version == 4
    assert row.next_read_at == row.read_at + timedelta(seconds=EVENT_READ_SECONDS)


def test_duplicate_and_late_events_never_move_a_state_backwards():
    row = snapshot()
    apply(row, action_event("STARTED", NOW), NOW)
    apply(row, action_event("SUCCEEDED", NOW + timedelta(seconds=4),
                            **{"execution-result": {"external-execution-summary": "built"}}), NOW)
    version = row.version

    assert not apply(row, action_event("SUCCEEDED", NOW + timedelta(seconds=4)), NOW)  # duplicate
    assert not apply(row, action_event("STARTED", NOW), NOW)  # reordered: older than what is shown
    action = row.stages[0]["actions"][0]
    assert (action["status"], action["summary"], row.version) == ("Succeeded", "built", version)


def test_a_new_execution_is_listed_and_a_finished_approval_is_no_longer_waiting():
    row = snapshot()
    started = parse(body("CodePipeline Pipeline Execution State Change",
                         {"pipeline": "orders-api-pipeline", "execution-id": "x-1", "state": "STARTED",
                          "execution-trigger": {"trigger-type": "CodeCommit", "trigger-detail": "c0ffee"}}))
    assert apply(row, started, NOW)
    assert row.executions[0]["id"] == "x-1" and row.executions[0]["trigger"] == "CodeCommit" and row.active

    approved = action_event("SUCCEEDED", NOW + timedelta(seconds=1), run="run-a", stage="ApproveProduction",
                            action="Approve", execution="x-0")
    assert apply(row, approved, NOW)
    assert row.approval == {} and row.approval_token == ""


def test_a_manual_approval_that_starts_waits_from_its_event_and_its_read_is_the_coalesced_one():
    """The approval page needs the waiting approval, not the token (a decision reads its own): no
    read at once per approval, the one a minute after the last read as for any event."""
    row = snapshot()
    row.stages[1]["actions"][0]["entity_url"] = "https://example.com/review"
    at = NOW + timedelta(seconds=2)
    assert apply(row, action_event("STARTED", at, run="run-b", stage="ApproveProduction", action="Approve",
                                   execution="x-2"), NOW)

    assert row.approval == {"stage": "ApproveProduction", "action": "Approve", "execution_id": "x-2",
                            "since": "2026-12-03T12:00:02+00:00", "expires": "2026-12-10T12:00:02+00:00",
                            "external_link": "https://example.com/review"}
    assert row.approval_token == "", "the earlier run's token is not this run's"
    assert row.next_read_at == row.read_at + timedelta(seconds=EVENT_READ_SECONDS)


def test_a_late_approval_start_leaves_the_read_s_approval_and_token_alone():
    row = snapshot()
    row.stages[1]["actions"][0].update(action_execution_id="run-b", updated_at=NOW.isoformat())
    read = dict(row.approval, execution_id="x-2", since="2026-12-03T12:00:00+00:00")
    row.approval, row.approval_token = read, "token-of-run-b"

    assert not apply(row, action_event("STARTED", NOW, run="run-b", stage="ApproveProduction",
                                       action="Approve", execution="x-2"), NOW)
    assert (row.approval, row.approval_token) == (read, "token-of-run-b")


def test_events_of_another_pipeline_change_nothing():
    row = snapshot()
    other = parse(body("CodePipeline Stage Execution State Change",
                       {"pipeline": "someone-else", "execution-id": "x-9", "stage": "Build", "state": "FAILED"}))
    assert not apply(row, other, NOW) and row.version == 3
