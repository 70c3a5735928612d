"""CloudFormation pushes its stack and resource status changes to EventBridge, as AWS does."""
from __future__ import annotations

import datetime
import json
import time

from tests.emulator.events_helpers import collect, drain, queue_for_rule, statuses
from tests.emulator.helpers import REGION, STAGING_ACCOUNT, control, event_trail, template
from tests.waiting import wait_for

PATTERN = {"source": ["aws.cloudformation"]}
TOPIC = {"Topic": {"Type": "AWS::SNS::Topic"}}


def _forward_to_queue(client, account=None, name="stack-events", pattern=PATTERN):
    events = client("events", account=account)
    rule_arn = events.put_rule(Name=name, EventPattern=json.dumps(pattern))["RuleArn"]
    url, arn = queue_for_rule(client, account, name, rule_arn)
    events.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": arn}])
    return url


def _ended(events):
    return any(e["detail-type"] == "CloudFormation Stack Status Change"
               and e["detail"]["status-details"]["status"].endswith("_COMPLETE") for e in events)


def test_a_created_stack_s_events_arrive_in_order_with_cloudformation_s_detail_shape(client):
    url = _forward_to_queue(client)
    cfn = client("cloudformation")
    stack_id = cfn.create_stack(StackName="orders", TemplateBody=template(TOPIC))["StackId"]

    received = collect(client("sqs"), url, _ended)

    assert statuses(received) == [(logical if logical != "orders" else "stack", status)
                                  for logical, status in event_trail(cfn, "orders")]
    assert statuses(received) == [("stack", "CREATE_IN_PROGRESS"), ("Topic", "CREATE_IN_PROGRESS"),
                                  ("Topic", "CREATE_IN_PROGRESS"), ("Topic", "CREATE_COMPLETE"),
                                  ("stack", "CREATE_COMPLETE")]
    stack_event, resource_event = received[0], received[3]
    assert stack_event["detail-type"] == "CloudFormation Stack Status Change"
    assert stack_event["source"] == "aws.cloudformation"
    assert (stack_event["account"], stack_event["region"], stack_event["resources"]) == (
        "123456789012", REGION, [stack_id])
    assert stack_event["detail"] == {"stack-id": stack_id, "client-request-token": "",
                                     "status-details": {"status": "CREATE_IN_PROGRESS",
                                                        "status-reason": "User Initiated"}}
    topic_arn = cfn.describe_stack_resource(StackName="orders", LogicalResourceId="Topic")[
        "StackResourceDetail"]["PhysicalResourceId"]
    assert resource_event["detail-type"] == "CloudFormation Resource Status Change"
    assert resource_event["detail"] == {
        "stack-id": stack_id, "logical-resource-id": "Topic", "physical-resource-id": topic_arn,
        "status-details": {"status": "CREATE_COMPLETE", "status-reason": ""},
        "resource-type": "AWS::SNS::Topic", "client-request-token": ""}
    assert len({e["id"] for e in received}) == len(received)
    assert set(received[0]) == {"version", "id", "detail-type", "source", "account", "time", "region",
                                "resources", "detail"}


def test_events_are_pushed_when_their_stack_event_is_due_not_before(client, emulator):
    control(emulator, "pace", {"seconds": 0.4})
    url = _forward_to_queue(client)
    cfn = client("cloudformation")
    cfn.create_stack(StackName="orders", TemplateBody=template(TOPIC))
    sqs = client("sqs")

    early = drain(sqs, url)
    assert statuses(early) in ([], [("stack", "CREATE_IN_PROGRESS")])  # only what is due so far
    received = early + collect(sqs, url, _ended)
    arrived = time.time()

    visible = cfn.describe_stack_events(StackName="orders")["StackEvents"]
    assert len(received) == len(visible) == 5
    last = datetime.datetime.strptime(received[-1]["time"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc)
    assert abs(last.timestamp() - visible[0]["Timestamp"].timestamp()) < 1.0
    assert arrived - visible[0]["Timestamp"].timestamp() < 1.0  # pushed, not found by a later read


def test_a_failed_create_sends_its_rollback_too(client, emulator):
    control(emulator, "failures", {"type": "resource", "logical_id": "Topic", "reason": "Quota exceeded"})
    url = _forward_to_queue(client)
    client("cloudformation").create_stack(StackName="orders", TemplateBody=template(TOPIC))

    received = collect(client("sqs"), url, _ended)

    failed = next(e for e in received if e["detail"]["status-details"]["status"] == "CREATE_FAILED")
    assert failed["detail"]["status-details"]["status-reason"] == "Quota exceeded"
    assert statuses(received)[-1] == ("stack", "ROLLBACK_COMPLETE")


def test_a_queue_without_a_policy_for_eventbridge_gets_nothing_and_the_stats_say_why(client, emulator):
    events, sqs = client("events"), client("sqs")
    events.put_rule(Name="stack-events", EventPattern=json.dumps(PATTERN))
    url = sqs.create_queue(QueueName="no-policy")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_targets(Rule="stack-events", Targets=[{"Id": "queue", "Arn": arn}])
    client("cloudformation").create_stack(StackName="orders", TemplateBody=template(TOPIC))

    dropped = collect_dropped(emulator, 5)

    assert drain(sqs, url) == []
    assert {d["reason"] for d in dropped} == {f"queue {arn} has no policy"}


def test_a_queue_policy_for_another_rule_allows_nothing(client, emulator):
    events = client("events")
    events.put_rule(Name="stack-events", EventPattern=json.dumps(PATTERN))
    url, arn = queue_for_rule(client, None, "other-rule", f"arn:aws:events:{REGION}:123456789012:rule/other")
    events.put_targets(Rule="stack-events", Targets=[{"Id": "queue", "Arn": arn}])
    client("cloudformation").create_stack(StackName="orders", TemplateBody=template(TOPIC))

    dropped = collect_dropped(emulator, 5)

    assert drain(client("sqs"), url) == []
    assert all("does not allow it" in d["reason"] for d in dropped)


def test_events_stay_in_the_stack_s_account(client):
    url = _forward_to_queue(client)
    client("cloudformation", account=STAGING_ACCOUNT).create_stack(StackName="elsewhere", TemplateBody=template(TOPIC))
    client("cloudformation").create_stack(StackName="orders", TemplateBody=template(TOPIC))

    # Delivery is in time order, so the staging stack's events, had they leaked, would be here first.
    received = collect(client("sqs"), url, _ended)

    assert {e["account"] for e in received} == {"123456789012"}
    assert all("/orders/" in e["detail"]["stack-id"] for e in received)


def collect_dropped(emulator, n):
    return wait_for(lambda: (d := control(emulator, "events")["dropped"]) and len(d) >= n and d,
                    10, f"{n} dropped deliveries")


def test_set_queue_attributes_keeps_the_policy_it_does_not_name(client):
    """AWS's SetQueueAttributes changes only the attributes in the request: a queue whose visibility
    timeout changes still lets EventBridge deliver. An empty Policy removes the policy."""
    url = _forward_to_queue(client)
    sqs = client("sqs")
    policy = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"]

    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "45"})

    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (attributes["Policy"], attributes["VisibilityTimeout"]) == (policy, "45")
    client("cloudformation").create_stack(StackName="orders", TemplateBody=template(TOPIC))
    assert statuses(collect(sqs, url, _ended))[-1] == ("stack", "CREATE_COMPLETE")

    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": ""})

    assert "Policy" not in sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
