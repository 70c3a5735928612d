"""A service puts an event on an account's default bus: the one way CloudFormation and CodePipeline emit.

Every event goes through the clock (``emulator.eventbridge.clock``), at the moment its state was
reached, so all deliveries happen one at a time in time order on one thread. Injected faults
(``POST /_emulator/failures`` with ``"type": "event"``) apply here, to the event as a whole, the
way EventBridge's at-least-once, best-effort delivery shows them: a duplicate reaches every
matching target twice, a dropped event none, a reordered one arrives after the next event (or
after ``HOLD_SECONDS`` if none comes).
"""
from __future__ import annotations

import copy
import logging
import time
from typing import Any

from moto.core.utils import unix_time
from moto.events.models import events_backends
from moto.moto_api._internal import mock_random

from emulator.eventbridge import delivery
from emulator.eventbridge.clock import CLOCK
from emulator.state import STATE

logger = logging.getLogger(__name__)

HOLD_SECONDS = 1.0
_held: list[dict[str, Any]] = []  # reordered events waiting for the next one (touched on the clock thread only)


def message(source: str, detail_type: str, account_id: str, region: str, at: float,
            resources: list[str], detail: dict[str, Any]) -> dict[str, Any]:
    """An event in moto's internal form: ``time`` in epoch seconds (delivery writes it as AWS does)."""
    return {"version": "0", "id": str(mock_random.uuid4()), "detail-type": detail_type, "source": source,
            "account": account_id, "time": at, "region": region, "resources": resources, "detail": detail}


def emit(event: dict[str, Any]) -> None:
    """Put a service's event on its account's default bus once its moment has come."""
    CLOCK.at(float(event["time"]), lambda: put(event))


def put(event: dict[str, Any]) -> None:
    """Deliver now to the default bus's matching rules, faults applied."""
    event = dict(event, **{"ingestion-time": unix_time()})
    fault = STATE.take_event_fault(event["source"], event["detail-type"])
    delivery.count("emitted")
    if fault is not None:
        delivery.count(f"fault:{fault.fault}")
        logger.info("injected event fault %s on %s %s", fault.fault, event["detail-type"], event["id"])
    if fault is not None and fault.fault == "drop":
        delivery.drop(event, "default bus", "injected fault: drop")
        return
    if fault is not None and fault.fault == "reorder":
        _held.append(event)
        CLOCK.at(time.time() + HOLD_SECONDS, release_held)
        return
    _deliver(event)
    if fault is not None and fault.fault == "duplicate":
        _deliver(copy.deepcopy(event))
    release_held()


def release_held() -> None:
    while _held:
        _deliver(_held.pop(0))


def _deliver(event: dict[str, Any]) -> None:
    backend = events_backends[event["account"]][event["region"]]
    matched = delivery.deliver_on_bus(backend.describe_event_bus("default"), event)
    logger.debug("%s %s in %s: %d rule(s) matched", event["detail-type"], event["id"], event["account"], matched)


def clear() -> None:
    _held.clear()
