"""Injected EventBridge faults: duplicated, dropped and reordered events, as at-least-once,
best-effort delivery may show them; the control API refuses a fault it does not know."""
from __future__ import annotations

import json
import urllib.error

import pytest

from tests.emulator.events_helpers import collect, queue_for_rule, statuses
from tests.emulator.helpers import control, template

TOPIC = {"Topic": {"Type": "AWS::SNS::Topic"}}
IN_ORDER = [("stack", "CREATE_IN_PROGRESS"), ("Topic", "CREATE_IN_PROGRESS"), ("Topic", "CREATE_IN_PROGRESS"),
            ("Topic", "CREATE_COMPLETE"), ("stack", "CREATE_COMPLETE")]


@pytest.fixture
def queue(client):
    events = client("events")
    rule_arn = events.put_rule(Name="stack-events", EventPattern=json.dumps({"source": ["aws.cloudformation"]}))["RuleArn"]
    url, arn = queue_for_rule(client, None, "stack-events", rule_arn)
    events.put_targets(Rule="stack-events", Targets=[{"Id": "queue", "Arn": arn}])
    return url


def _create_and_collect(client, url, expected_count):
    client("cloudformation").create_stack(StackName="orders", TemplateBody=template(TOPIC))
    return collect(client("sqs"), url, lambda events: len(events) >= expected_count)


def test_a_duplicated_event_arrives_twice_with_the_same_id(client, emulator, queue):
    control(emulator, "failures", {"type": "event", "fault": "duplicate", "source": "aws.cloudformation", "count": 1})

    received = _create_and_collect(client, queue, 6)

    assert statuses(received) == IN_ORDER[:1] + IN_ORDER
    assert received[0] == received[1]
    assert control(emulator, "events")["counts"]["fault:duplicate"] == 1


def test_dropped_events_never_arrive(client, emulator, queue):
    control(emulator, "failures", {"type": "event", "fault": "drop", "count": 2})

    received = _create_and_collect(client, queue, 3)

    assert statuses(received) == IN_ORDER[2:]
    assert [d["reason"] for d in control(emulator, "events")["dropped"]] == ["injected fault: drop"] * 2


def test_a_reordered_event_arrives_after_the_next_one(client, emulator, queue):
    control(emulator, "failures", {"type": "event", "fault": "reorder", "detail_type": "CloudFormation Stack Status Change",
                                   "count": 1})

    received = _create_and_collect(client, queue, 5)

    assert statuses(received) == [IN_ORDER[1], IN_ORDER[0], *IN_ORDER[2:]]


def test_a_fault_for_another_source_changes_nothing(client, emulator, queue):
    control(emulator, "failures", {"type": "event", "fault": "drop", "source": "aws.codepipeline"})

    assert statuses(_create_and_collect(client, queue, 5)) == IN_ORDER
    assert control(emulator, "failures")["event"] == [
        {"fault": "drop", "source": "aws.codepipeline", "detail_type": "", "remaining": -1}]


@pytest.mark.parametrize(("body", "message"), [
    ({"type": "event"}, "'fault' must be a non-empty string"),
    ({"type": "event", "fault": "delay"}, "'fault' must be one of duplicate, drop, reorder"),
    ({"type": "event", "fault": "drop", "count": 0}, "'count' must be a positive integer"),
])
def test_a_bad_event_fault_is_refused(emulator, body, message):
    with pytest.raises(urllib.error.HTTPError) as refused:
        control(emulator, "failures", body)
    assert refused.value.code == 400
    assert json.loads(refused.value.read())["error"] == message
