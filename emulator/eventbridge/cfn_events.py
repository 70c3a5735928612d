"""CloudFormation's events on EventBridge: "CloudFormation Stack Status Change" and "... Resource Status Change".

Each stack event of the timeline becomes one EventBridge event, put on the stack account's default
bus at the event's timestamp (when a client polling DescribeStackEvents would first see it), with
the detail fields of the CloudFormation user guide ("Resource Status Change event detail",
"Stack Status Change event detail"): ``stack-id``, ``logical-resource-id``,
``physical-resource-id``, ``status-details`` {``status``, ``status-reason``}, ``resource-type``,
``client-request-token``; the stack's own events carry ``stack-id``, ``status-details`` and
``client-request-token`` only. ``resources`` names the stack id.
"""
from __future__ import annotations

import datetime
from typing import Any

from emulator.eventbridge import bus

SOURCE = "aws.cloudformation"
STACK_CHANGE = "CloudFormation Stack Status Change"
RESOURCE_CHANGE = "CloudFormation Resource Status Change"
STACK_TYPE = "AWS::CloudFormation::Stack"


def detail(stack_event: Any, token: str = "") -> tuple[str, dict[str, Any]]:
    """(detail-type, detail) of one stack event (moto's Event)."""
    status = {"status": stack_event.resource_status, "status-reason": stack_event.resource_status_reason or ""}
    # The emulator does not keep ClientRequestToken; AWS sends "" for an operation started without one.
    if stack_event.resource_type == STACK_TYPE:
        return STACK_CHANGE, {"stack-id": stack_event.stack_id, "status-details": status,
                              "client-request-token": token}
    return RESOURCE_CHANGE, {
        "stack-id": stack_event.stack_id, "logical-resource-id": stack_event.logical_resource_id,
        "physical-resource-id": stack_event.physical_resource_id or "", "status-details": status,
        "resource-type": stack_event.resource_type, "client-request-token": token,
    }


def scheduled(stack: Any, stack_events: list[Any]) -> None:
    """A stack operation was put on the timeline: each of its events goes out when it is due."""
    for stack_event in stack_events:
        detail_type, body = detail(stack_event)
        bus.emit(bus.message(SOURCE, detail_type, stack.account_id, stack.region_name,
                             _epoch(stack_event.timestamp), [stack.stack_id], body))


def _epoch(moment: datetime.datetime) -> float:
    # moto's stack event times are naive UTC.
    return moment.replace(tzinfo=datetime.timezone.utc).timestamp()
