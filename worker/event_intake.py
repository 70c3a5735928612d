"""What one queued EventBridge event says: a stack event, a pipeline change, or nothing we follow.

The shapes are AWS's (CloudFormation user guide, "Resource/Stack Status Change event detail";
CodePipeline user guide, "Monitoring CodePipeline events"). A stack event becomes the same
``Event`` polling reads (worker/events.py), under the id ``evb:<EventBridge id>``: its stack's own
events carry no logical id or type (they are the stack's), and ``time`` is whole seconds. A body
that is not an event we know is logged and dropped: a queue of events must not jam on one message.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from worker.event_store import BUS_PREFIX
from worker.events import STACK_TYPE, Event

logger = logging.getLogger(__name__)

STACK_CHANGE = "CloudFormation Stack Status Change"
RESOURCE_CHANGE = "CloudFormation Resource Status Change"
PIPELINE_TYPES = {"CodePipeline Pipeline Execution State Change": "pipeline",
                  "CodePipeline Stage Execution State Change": "stage",
                  "CodePipeline Action Execution State Change": "action"}


class BadEvent(ValueError):
    """A message body that is not an EventBridge event of a kind the worker follows."""


@dataclass(frozen=True)
class StackChange:
    account_id: str
    region: str
    stack_id: str
    event: Event


@dataclass(frozen=True)
class PipelineChange:
    """A pipeline, stage or action execution reached ``state`` (STARTED, SUCCEEDED, FAILED, ...)."""

    event_id: str
    account_id: str
    region: str
    pipeline: str
    level: str  # pipeline | stage | action
    execution_id: str
    state: str
    at: datetime
    detail: dict[str, Any]


def parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def stack_name_of(stack_id: str) -> str:
    """``arn:aws:cloudformation:REGION:ACCOUNT:stack/NAME/UUID`` -> NAME."""
    try:
        return stack_id.split(":", 5)[5].split("/")[1]
    except IndexError:
        raise BadEvent(f"not a stack id: {stack_id!r}") from None


def parse(body: str) -> StackChange | PipelineChange | None:
    """The change one message body carries; None for an event of another kind (ignored)."""
    try:
        data = json.loads(body)
        kind, detail = data["detail-type"], data["detail"]
        common = (str(data["id"]), str(data["account"]), str(data["region"]), parse_time(str(data["time"])))
    except (ValueError, KeyError, TypeError) as err:
        raise BadEvent(f"not an EventBridge event: {err}") from err
    if kind in (STACK_CHANGE, RESOURCE_CHANGE):
        return _stack_change(kind, detail, *common)
    if kind in PIPELINE_TYPES:
        return _pipeline_change(PIPELINE_TYPES[kind], detail, *common)
    return None


def _stack_change(kind: str, detail: dict[str, Any], event_id: str, account: str, region: str,
                  at: datetime) -> StackChange:
    try:
        stack_id = str(detail["stack-id"])
        status = detail["status-details"]
        name = stack_name_of(stack_id)
        own = kind == STACK_CHANGE
        event = Event(event_id=BUS_PREFIX + event_id, stack_id=stack_id, stack_name=name, timestamp=at,
                      logical_id=name if own else str(detail["logical-resource-id"]),
                      physical_id=stack_id if own else str(detail.get("physical-resource-id") or ""),
                      resource_type=STACK_TYPE if own else str(detail["resource-type"]),
                      status=str(status["status"]), reason=str(status.get("status-reason") or ""))
    except (KeyError, TypeError) as err:
        raise BadEvent(f"{kind} without {err}") from err
    return StackChange(account, region, stack_id, event)


def _pipeline_change(level: str, detail: dict[str, Any], event_id: str, account: str, region: str,
                     at: datetime) -> PipelineChange:
    try:
        return PipelineChange(event_id, account, region, str(detail["pipeline"]), level,
                              str(detail["execution-id"]), str(detail["state"]), at, dict(detail))
    except (KeyError, TypeError) as err:
        raise BadEvent(f"pipeline event without {err}") from err
