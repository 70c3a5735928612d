"""Process-wide control state of the emulator: pace, injected failures, throttling.

Every extension reads its knobs from ``STATE`` and registers a reset hook so that one
``POST /_emulator/reset`` returns the whole emulator (moto's backends and ours) to empty.
"""
from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Callable


@dataclass
class ResourceFailure:
    """Make a stack resource fail. Empty account/stack match any."""

    logical_id: str
    reason: str = "Injected failure"
    stack_name: str = ""
    account_id: str = ""
    operation: str = ""  # "", "CREATE", "UPDATE" or "DELETE"; empty matches any
    remaining: int = -1  # how many more times it fires; -1 means always


@dataclass
class ActionFailure:
    """Make a pipeline action fail. Empty pipeline matches any."""

    stage_name: str
    action_name: str
    pipeline_name: str = ""
    reason: str = "Injected failure"
    remaining: int = -1


@dataclass
class EventFault:
    """Misdeliver events a service puts on a default bus, as EventBridge's best effort may.

    ``fault``: "duplicate" (delivered twice), "drop" (never delivered) or "reorder" (held back and
    delivered after the next event). Empty source/detail type match any.
    """

    fault: str
    source: str = ""
    detail_type: str = ""
    remaining: int = -1


@dataclass
class ControlState:
    # Seconds one step takes: one resource event for stacks, one action for pipelines.
    pace: float = 0.0
    throttle_fraction: float = 0.0
    # Pipeline actions do their real work (builds, deployments) as on AWS; tests of what a portal
    # shows, which need executions but not their work, may make them timed stand-ins instead.
    simulate_actions: bool = False
    resource_failures: list[ResourceFailure] = field(default_factory=list)
    action_failures: list[ActionFailure] = field(default_factory=list)
    event_faults: list[EventFault] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _reset_hooks: list[Callable[[], None]] = field(default_factory=list, repr=False)
    _random: random.Random = field(default_factory=random.Random, repr=False)

    def on_reset(self, hook: Callable[[], None]) -> None:
        """Register a callable that clears an extension's own state on reset."""
        if hook not in self._reset_hooks:
            self._reset_hooks.append(hook)

    def reset(self) -> None:
        """Clear the knobs, then every registered extension's state."""
        with self.lock:
            self.pace = 0.0
            self.throttle_fraction = 0.0
            self.simulate_actions = False
            self.resource_failures.clear()
            self.action_failures.clear()
            self.event_faults.clear()
            for hook in list(self._reset_hooks):
                hook()

    def should_throttle(self) -> bool:
        with self.lock:
            return self.throttle_fraction > 0 and self._random.random() < self.throttle_fraction

    def take_resource_failure(
        self, account_id: str, stack_name: str, logical_id: str, operation: str
    ) -> ResourceFailure | None:
        """Return (and count down) the first injected failure matching this resource."""
        with self.lock:
            for failure in self.resource_failures:
                if failure.logical_id != logical_id or failure.remaining == 0:
                    continue
                if failure.stack_name and failure.stack_name != stack_name:
                    continue
                if failure.account_id and failure.account_id != account_id:
                    continue
                if failure.operation and failure.operation != operation:
                    continue
                if failure.remaining > 0:
                    failure.remaining -= 1
                return failure
            return None

    def take_action_failure(
        self, pipeline_name: str, stage_name: str, action_name: str
    ) -> ActionFailure | None:
        with self.lock:
            for failure in self.action_failures:
                if (failure.stage_name, failure.action_name) != (stage_name, action_name):
                    continue
                if failure.remaining == 0:
                    continue
                if failure.pipeline_name and failure.pipeline_name != pipeline_name:
                    continue
                if failure.remaining > 0:
                    failure.remaining -= 1
                return failure
            return None

    def take_event_fault(self, source: str, detail_type: str) -> EventFault | None:
        """Return (and count down) the first injected event fault matching this event."""
        with self.lock:
            for fault in self.event_faults:
                if fault.remaining == 0:
                    continue
                if (fault.source and fault.source != source) or (fault.detail_type and fault.detail_type != detail_type):
                    continue
                if fault.remaining > 0:
                    fault.remaining -= 1
                return fault
            return None


STATE = ControlState()
