"""EventBridge delivery as AWS does it: whole events, to other buses and to SQS, policies evaluated.

moto's ``Rule.send_to_targets`` forwards to another bus by calling ``put_events`` there, which
makes a *new* event (new id, the receiving account, the current time, no resources) and never
reads the receiving bus's policy; and it writes to any SQS queue, policy or not, leaving out the
envelope's ``account``. Here a bus target gets the same event (AWS keeps id, account, time and
resources across buses) if the receiving bus's policy allows the sending account, and an SQS
target gets the whole event as its message body if the queue's policy allows EventBridge for
that rule. A refused delivery is dropped silently, as on AWS (where only the rule's
FailedInvocations metric tells), and counted and logged here (``GET /_emulator/events``). Other
target types keep moto's handling.
"""
from __future__ import annotations

import copy
import json
import logging
import threading
from collections import Counter, deque
from typing import Any, Callable

from moto.core.utils import iso_8601_datetime_without_milliseconds, utcfromtimestamp
from moto.events.models import Rule, events_backends
from moto.events.utils import EventTemplateParser
from moto.sqs.models import sqs_backends
from moto.utilities.arns import parse_arn

from emulator.eventbridge.policy import Sender, bus_allows, queue_allows
from emulator.patches import Kind, Patch

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_counts: Counter[str] = Counter()
_dropped: deque[dict[str, str]] = deque(maxlen=100)  # the latest refusals, newest last
MAX_HOPS = 5  # AWS forwards bus to bus once per rule; a loop of rules must still end


def count(what: str, n: int = 1) -> None:
    with _lock:
        _counts[what] += n


def drop(event: dict[str, Any], target: str, reason: str) -> None:
    """Record a delivery that AWS would fail without telling the sender."""
    logger.warning("event %s (%s) not delivered to %s: %s", event.get("id"), event.get("detail-type"),
                   target, reason)
    with _lock:
        _counts["dropped"] += 1
        _dropped.append({"id": str(event.get("id")), "detail-type": str(event.get("detail-type")),
                         "target": target, "reason": reason})


def snapshot() -> dict[str, Any]:
    with _lock:
        return {"counts": dict(sorted(_counts.items())), "dropped": list(_dropped)}


def reset() -> None:
    with _lock:
        _counts.clear()
        _dropped.clear()


def deliver_on_bus(bus: Any, event: dict[str, Any], hops: int = 0) -> int:
    """Send ``event`` to every enabled rule of ``bus`` it matches; return how many matched."""
    matched = 0
    for rule in list(bus.rules.values()):
        if rule.state != "ENABLED" or not rule.event_pattern.matches_event(event):
            continue
        matched += 1
        _send(rule, event, hops)
    return matched


def send_to_targets(original: Callable[..., None], self: Rule, event: dict[str, Any],
                    transform_input: bool = True) -> None:
    """moto's entry point for a matched rule (PutEvents, CodeCommit's events): the emulator's delivery."""
    if self.event_pattern.matches_event(event):
        _send(self, event, 0, original, transform_input)


def _send(rule: Rule, event: dict[str, Any], hops: int, original: Callable[..., None] | None = None,
          transform_input: bool = True) -> None:
    others = []
    for target in rule.targets:
        arn = parse_arn(target["Arn"])
        if arn.service == "events" and arn.resource_type == "event-bus":
            _to_bus(rule, target, arn, event, hops)
        elif arn.service == "sqs":
            _to_queue(rule, target, arn, event)
        else:
            others.append(target)
    if others:
        rest = copy.copy(rule)  # the same rule with the targets moto delivers itself
        rest.targets = others
        from emulator.patches import MOTO

        (original or MOTO.original(f"{_RULE}.send_to_targets"))(rest, copy.deepcopy(event), transform_input)


def _sender(rule: Rule, target: dict[str, Any]) -> Sender:
    return Sender(account_id=rule.account_id, rule_arn=rule.arn, role_arn=target.get("RoleArn"))


def _to_bus(rule: Rule, target: dict[str, Any], arn: Any, event: dict[str, Any], hops: int) -> None:
    if hops >= MAX_HOPS:
        drop(event, target["Arn"], f"forwarded {hops} times; stopped")
        return
    bus = events_backends[arn.account][arn.region].event_buses.get(arn.resource_id)
    if bus is None:
        drop(event, target["Arn"], "the event bus does not exist")
        return
    verdict = bus_allows(bus, _sender(rule, target))
    if not verdict.allowed:
        drop(event, target["Arn"], verdict.reason)
        return
    count("delivered:event-bus")
    deliver_on_bus(bus, copy.deepcopy(event), hops + 1)


def _body(target: dict[str, Any], event: dict[str, Any]) -> str:
    """What the queue receives: the whole event (times as AWS writes them), unless the target shapes it."""
    whole = copy.deepcopy(event)
    for key in ("time",):
        if isinstance(whole.get(key), (int, float)):
            whole[key] = iso_8601_datetime_without_milliseconds(utcfromtimestamp(float(whole[key])))
    whole.pop("ingestion-time", None)  # moto's bookkeeping, not part of an AWS event
    if "Input" in target:
        return str(target["Input"])
    transformer = target.get("InputTransformer")
    if transformer:
        shaped = EventTemplateParser.parse(input_template=transformer.get("InputTemplate"),
                                           input_paths_map=transformer.get("InputPathsMap", {}), event=whole)
        return shaped if isinstance(shaped, str) else json.dumps(shaped)
    return json.dumps(whole)


def _to_queue(rule: Rule, target: dict[str, Any], arn: Any, event: dict[str, Any]) -> None:
    backend = sqs_backends[arn.account][arn.region]
    queue = backend.queues.get(arn.resource_id)
    if queue is None:
        drop(event, target["Arn"], "the queue does not exist")
        return
    verdict = queue_allows(queue, _sender(rule, target))
    if not verdict.allowed:
        drop(event, target["Arn"], verdict.reason)
        return
    group_id = (target.get("SqsParameters") or {}).get("MessageGroupId")
    if queue.fifo_queue and queue.attributes.get("ContentBasedDeduplication") != "true":
        drop(event, target["Arn"], "a FIFO queue target needs content-based deduplication")
        return
    backend.send_message(queue_name=arn.resource_id, message_body=_body(target, event), group_id=group_id)
    count("delivered:sqs")


_RULE = "moto.events.models:Rule"

PATCHES = (
    Patch(f"{_RULE}.send_to_targets", send_to_targets, Kind.FUNCTION,
          "deliver whole events to other buses and SQS, with the bus and queue policies evaluated",
          wraps=True),
)
