"""EventBridge rules deliver to another account's bus as AWS does: the same event, if the receiving
bus's policy lets the sending account put events there; silently not at all otherwise."""
from __future__ import annotations

import json

from tests.emulator.events_helpers import collect, drain, queue_for_rule
from tests.emulator.helpers import BUILD_ACCOUNT, REGION, STAGING_ACCOUNT, control
from tests.waiting import wait_for

BUS = "orders-api-events"
BUS_ARN = f"arn:aws:events:{REGION}:{BUILD_ACCOUNT}:event-bus/{BUS}"
PATTERN = {"source": ["orders.app"]}


def _receiving_bus(client):
    """A bus in the build account whose rule fills a queue; return the queue's URL."""
    events = client("events", account=BUILD_ACCOUNT)
    events.create_event_bus(Name=BUS)
    rule_arn = events.put_rule(Name="to-queue", EventBusName=BUS, EventPattern=json.dumps(PATTERN))["RuleArn"]
    url, arn = queue_for_rule(client, BUILD_ACCOUNT, "received", rule_arn)
    events.put_targets(Rule="to-queue", EventBusName=BUS, Targets=[{"Id": "queue", "Arn": arn}])
    return url


def _sending_rule(client, target=BUS_ARN):
    events = client("events", account=STAGING_ACCOUNT)
    events.put_rule(Name="forward", EventPattern=json.dumps(PATTERN))
    events.put_targets(Rule="forward", Targets=[{"Id": "bus", "Arn": target}])
    return events


def _send(events):
    [entry] = events.put_events(Entries=[{"Source": "orders.app", "DetailType": "Order Placed",
                                          "Detail": json.dumps({"order": 1}), "Resources": ["arn:aws:x:y"]}])["Entries"]
    return entry["EventId"]


def test_a_bus_policy_naming_the_account_lets_the_same_event_through(client):
    url = _receiving_bus(client)
    client("events", account=BUILD_ACCOUNT).put_permission(EventBusName=BUS, Action="events:PutEvents",
                                                           Principal=STAGING_ACCOUNT, StatementId="staging")
    event_id = _send(_sending_rule(client))

    [received] = collect(client("sqs", account=BUILD_ACCOUNT), url, lambda events: len(events) >= 1)

    # AWS keeps the event as it was put: its id, its account, its resources.
    assert (received["id"], received["account"], received["resources"]) == (event_id, STAGING_ACCOUNT, ["arn:aws:x:y"])
    assert received["detail"] == {"order": 1} and received["detail-type"] == "Order Placed"


def test_a_bus_without_a_policy_takes_nothing_from_another_account(client, emulator):
    url = _receiving_bus(client)
    event_id = _send(_sending_rule(client))

    dropped = wait_for(lambda: control(emulator, "events")["dropped"], 10, "the refused delivery")

    assert dropped == [{"id": event_id, "detail-type": "Order Placed", "target": BUS_ARN,
                        "reason": f"event bus {BUS_ARN} has no policy"}]
    assert drain(client("sqs", account=BUILD_ACCOUNT), url) == []


def test_a_deny_for_the_account_wins_over_an_allow_for_everyone(client, emulator):
    url = _receiving_bus(client)
    client("events", account=BUILD_ACCOUNT).put_permission(EventBusName=BUS, Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Sid": "all", "Effect": "Allow", "Principal": "*", "Action": "events:PutEvents", "Resource": BUS_ARN},
            {"Sid": "not-staging", "Effect": "Deny", "Principal": {"AWS": STAGING_ACCOUNT},
             "Action": "events:PutEvents", "Resource": BUS_ARN}]}))
    _send(_sending_rule(client))

    [dropped] = wait_for(lambda: control(emulator, "events")["dropped"], 10, "the refused delivery")

    assert dropped["reason"] == f"event bus {BUS_ARN}'s policy denies it"
    assert drain(client("sqs", account=BUILD_ACCOUNT), url) == []


def test_a_condition_the_emulator_cannot_evaluate_grants_nothing_and_says_so(client, emulator):
    _receiving_bus(client)
    client("events", account=BUILD_ACCOUNT).put_permission(EventBusName=BUS, Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Sid": "org", "Effect": "Allow", "Principal": "*", "Action": "events:PutEvents", "Resource": BUS_ARN,
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc"}}}]}))
    _send(_sending_rule(client))

    [dropped] = wait_for(lambda: control(emulator, "events")["dropped"], 10, "the refused delivery")

    assert "condition key aws:PrincipalOrgID is not emulated" in dropped["reason"]


def test_a_missing_bus_drops_the_event(client, emulator):
    _send(_sending_rule(client, target=f"arn:aws:events:{REGION}:{BUILD_ACCOUNT}:event-bus/nowhere"))

    [dropped] = wait_for(lambda: control(emulator, "events")["dropped"], 10, "the refused delivery")

    assert dropped["reason"] == "the event bus does not exist"
