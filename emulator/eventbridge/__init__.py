"""EventBridge as the services use it: CloudFormation and CodePipeline push their state changes.

- ``bus``: a service's event goes on its account's default bus at the moment of the change
  (``clock``), with injected faults (duplicate, drop, reorder) applied.
- ``cfn_events`` / ``pipeline_events``: the events' shapes, called from the CloudFormation
  timeline and the pipeline engine.
- ``delivery``: rules deliver whole events to other buses (the receiving bus's policy evaluated
  across accounts) and to SQS (the queue's policy evaluated for ``events.amazonaws.com``), the
  ``Patch`` of moto's ``Rule.send_to_targets``; refusals are dropped silently, counted and logged
  (``GET /_emulator/events``).
- ``resources``: ``AWS::Events::EventBusPolicy`` and ``AWS::SQS::QueuePolicy`` for the templates.
"""
from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from emulator.patches import Patch

logger = logging.getLogger(__name__)


def patches() -> tuple[Patch, ...]:
    from emulator.eventbridge import delivery

    # Importing the module defines its models, which registers the resource types with moto.
    resources = importlib.import_module("emulator.eventbridge.resources")
    return delivery.PATCHES + resources.PATCHES


def stats() -> dict[str, object]:
    """What was emitted, delivered and dropped since the last reset (``GET /_emulator/events``)."""
    from emulator.eventbridge import delivery

    return delivery.snapshot()


def reset_stats() -> None:
    from emulator.eventbridge import delivery

    delivery.reset()


def _reset() -> None:
    from emulator.eventbridge import bus, delivery
    from emulator.eventbridge.clock import CLOCK

    CLOCK.clear()
    bus.clear()
    delivery.reset()


def install() -> None:
    """Apply the patches (once) and forget scheduled events and counts on reset."""
    from emulator.patches import MOTO
    from emulator.state import STATE

    applied = MOTO.install(patches())
    STATE.on_reset(_reset)
    if applied:
        logger.info("EventBridge extension installed")
