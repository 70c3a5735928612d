"""The benchmark's own AWS reads: credentials in the demo accounts and a stack's event history.

These calls are made only outside the measured phases (after their call counts were taken),
so they never count against the worker or the peer.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import boto3

from bench.services import DEFAULT_CREDENTIALS, REGION

STACK_TYPE = "AWS::CloudFormation::Stack"
STARTS = frozenset({"CREATE_IN_PROGRESS", "UPDATE_IN_PROGRESS", "DELETE_IN_PROGRESS", "IMPORT_IN_PROGRESS"})
BOOTSTRAP_ROLE = "OrganizationAccountAccessRole"


def assumed_credentials(endpoint: str, account_id: str, session_name: str = "bench") -> dict[str, str]:
    """Credentials for ``account_id`` through its bootstrap role, as the account's admin would get."""
    sts = boto3.client("sts", region_name=REGION, endpoint_url=endpoint,
                       aws_access_key_id=DEFAULT_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                       aws_secret_access_key=DEFAULT_CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/{BOOTSTRAP_ROLE}",
                            RoleSessionName=session_name)["Credentials"]
    return {"AWS_ACCESS_KEY_ID": creds["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
            "AWS_SESSION_TOKEN": creds["SessionToken"]}


def cloudformation(endpoint: str, account_id: str) -> Any:
    creds = assumed_credentials(endpoint, account_id)
    return boto3.client("cloudformation", region_name=REGION, endpoint_url=endpoint,
                        aws_access_key_id=creds["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=creds["AWS_SECRET_ACCESS_KEY"],
                        aws_session_token=creds["AWS_SESSION_TOKEN"])


def epoch(moment: datetime) -> float:
    # SQLite hands back naive datetimes; everything stored and sent is UTC.
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


@dataclass(frozen=True)
class EmittedEvent:
    event_id: str
    timestamp: float
    logical_id: str
    resource_type: str
    status: str


@dataclass(frozen=True)
class StackHistory:
    """The events of a stack's latest operation, oldest first, as CloudFormation holds them."""

    stack_name: str
    events: tuple[EmittedEvent, ...]

    @property
    def started(self) -> float:
        return self.events[0].timestamp

    @property
    def terminal(self) -> EmittedEvent:
        return self.events[-1]


class HistoryError(RuntimeError):
    """A stack's events do not show one finished operation."""


def latest_operation(cfn: Any, stack: str, stack_name: str) -> StackHistory:
    """Read every event of ``stack`` and keep its latest operation (from its start event on).

    :raise HistoryError: the operation has no start event or has not ended
    """
    events: list[EmittedEvent] = []
    for page in cfn.get_paginator("describe_stack_events").paginate(StackName=stack):
        for data in page["StackEvents"]:
            events.append(EmittedEvent(data["EventId"], epoch(data["Timestamp"]), data["LogicalResourceId"],
                                       data["ResourceType"], data["ResourceStatus"]))
    events.reverse()  # CloudFormation sends newest first
    own = [i for i, e in enumerate(events) if e.resource_type == STACK_TYPE and e.logical_id == stack_name]
    starts = [i for i in own if events[i].status in STARTS]
    if not starts:
        raise HistoryError(f"stack {stack_name} has no start event")
    current = tuple(events[starts[-1]:])
    last = current[-1]
    if last.resource_type != STACK_TYPE or last.status.endswith("_IN_PROGRESS"):
        raise HistoryError(f"stack {stack_name} has not finished: its last event is {last.logical_id} {last.status}")
    return StackHistory(stack_name, current)
