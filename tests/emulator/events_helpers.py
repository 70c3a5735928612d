"""Queues that receive EventBridge events, as the tests of the events wire them up."""
from __future__ import annotations

import json
from typing import Any, Callable

from tests.waiting import wait_for


def queue_for_rule(client: Callable[..., Any], account: str | None, queue_name: str, rule_arn: str) -> tuple[str, str]:
    """A queue whose policy lets EventBridge deliver for ``rule_arn`` (as AWS documents it); (url, arn)."""
    sqs = client("sqs", account=account)
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = {"Version": "2012-10-17", "Statement": [{
        "Sid": "events", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
        "Action": "sqs:SendMessage", "Resource": arn, "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}}}]}
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    return url, arn


def drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    """Every message now in the queue, received and deleted, oldest first."""
    received: list[dict[str, Any]] = []
    while True:
        # WaitTimeSeconds 0: a queue with long polling by default (the template's) must not stall a drain.
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not messages:
            return received
        received += [json.loads(m["Body"]) for m in messages]
        sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)])


def collect(sqs: Any, url: str, until: Callable[[list[dict[str, Any]]], bool], timeout: float = 20.0,
            what: str = "the events") -> list[dict[str, Any]]:
    """Receive from the queue until ``until(received so far)`` holds."""
    received: list[dict[str, Any]] = []

    def enough() -> bool:
        received.extend(drain(sqs, url))
        return until(received)

    wait_for(enough, timeout, what)
    return received


def statuses(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(logical id or stack, status) of CloudFormation events, in arrival order."""
    return [(e["detail"].get("logical-resource-id", "stack"), e["detail"]["status-details"]["status"])
            for e in events if e["source"] == "aws.cloudformation"]
