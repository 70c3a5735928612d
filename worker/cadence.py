"""When to look at a running stack next: soon when its end is near, sparingly otherwise.

The aim is to notice a stack's final status within about a second while spending at most
``CALLS_PER_MINUTE`` CloudFormation calls per stack-minute. One poll is one DescribeStackEvents
call (the stack's own events carry its status). A stack ends with its own event right after its
last resource settles, so once every expected resource has settled and none is in progress (or
the stack entered a cleanup phase), the next event is probably the last: look again when it
is due, i.e. one typical gap between this stack's events after its latest one, and then every
``FAST_SECONDS``. Before that, the events still to come (two per resource not started, one per
resource in progress) times that gap say when the end is due; the worker looks then if that is
sooner than the steady interval. Otherwise it polls at the steady interval. A sliding one-minute window keeps fast
polling within budget.
"""
from __future__ import annotations

import os
import statistics
from dataclasses import dataclass, field
from typing import Iterable

from worker.stack_status import is_finishing

# A stack-level event with one of these statuses starts a new stack operation.
_STARTS = frozenset({"REVIEW_IN_PROGRESS", "CREATE_IN_PROGRESS", "UPDATE_IN_PROGRESS",
                     "DELETE_IN_PROGRESS", "IMPORT_IN_PROGRESS"})
STEADY_SECONDS = 3.0
FAST_SECONDS = 0.5
# Look this long after the moment the next event is expected, so that it is there.
DUE_MARGIN_SECONDS = 0.1
WINDOW_SECONDS = 60.0
CALLS_PER_MINUTE = 30
# Calls kept aside in each window for the final DescribeStacks and a safety check.
RESERVED_CALLS = 2


@dataclass
class Progress:
    """What the events of the current stack operation say so far."""

    stack_status: str = ""
    in_progress: set[str] = field(default_factory=set)
    settled: set[str] = field(default_factory=set)
    times: list[float] = field(default_factory=list)  # event times (epoch seconds), oldest first

    @classmethod
    def from_events(cls, stack_name: str, events: Iterable[tuple[str, str, str, float]]) -> "Progress":
        """Fold (logical id, resource type, status, epoch time) tuples, oldest first, from the last
        operation's start."""
        progress = cls()
        for logical_id, resource_type, status, at in events:
            if resource_type == "AWS::CloudFormation::Stack" and logical_id == stack_name:
                if status in _STARTS:
                    progress = cls()
                progress.stack_status = status
                progress.times.append(at)
                continue
            progress.times.append(at)
            if status.endswith("_IN_PROGRESS"):
                progress.in_progress.add(logical_id)
                progress.settled.discard(logical_id)
            else:
                progress.in_progress.discard(logical_id)
                progress.settled.add(logical_id)
        return progress

    def end_is_near(self, expected: set[str]) -> bool:
        if self.stack_status and is_finishing(self.stack_status):
            return True
        if self.in_progress or not self.settled:
            return False
        # During a rollback or a delete the expected set says nothing; "nothing in progress
        # after some resources settled" is the best sign available then.
        rolling = "ROLLBACK" in self.stack_status or "DELETE" in self.stack_status
        return rolling or expected <= self.settled

    def typical_gap(self) -> float | None:
        """The median time between this operation's recent events."""
        recent = self.times[-11:]
        gaps = [b - a for a, b in zip(recent, recent[1:]) if b > a]
        return statistics.median(gaps) if gaps else None

    def expected_end(self, expected: set[str]) -> float | None:
        """When the stack's final event should appear, counting the events still to come.

        Each expected resource not started yet has two events to come, each one in progress
        has one, and the stack's own final event comes last. CloudFormation works on
        independent resources in parallel, so this errs late, never early.
        """
        gap = self.typical_gap()
        if gap is None or not self.times:
            return None
        if self.end_is_near(expected):
            remaining = 1
        elif expected and not ("ROLLBACK" in self.stack_status or "DELETE" in self.stack_status):
            not_started = expected - self.settled - self.in_progress
            remaining = 2 * len(not_started) + len(self.in_progress & expected) + 1
        else:
            return None
        return self.times[-1] + remaining * gap


@dataclass(frozen=True)
class Limits:
    steady: float = STEADY_SECONDS
    fast: float = FAST_SECONDS
    calls_per_minute: int = CALLS_PER_MINUTE

    @classmethod
    def from_env(cls) -> "Limits":
        """The defaults, or PORTAL_POLL_* overrides (tests run against a fast emulator with them)."""
        return cls(
            steady=float(os.environ.get("PORTAL_POLL_STEADY_SECONDS", STEADY_SECONDS)),
            fast=float(os.environ.get("PORTAL_POLL_FAST_SECONDS", FAST_SECONDS)),
            calls_per_minute=int(os.environ.get("PORTAL_POLL_CALLS_PER_MINUTE", CALLS_PER_MINUTE)),
        )


def next_delay(progress: Progress, expected: set[str], recent_calls: list[float], now: float,
               limits: Limits | None = None) -> float:
    """Seconds until the next poll, given the calls of the last minute (epoch seconds)."""
    limits = limits or Limits.from_env()
    window = [t for t in recent_calls if now - t < WINDOW_SECONDS]
    if len(window) >= limits.calls_per_minute - RESERVED_CALLS:
        # Out of budget: wait until the oldest call of the window leaves it.
        return max(limits.steady, min(window) + WINDOW_SECONDS - now)
    end = progress.expected_end(expected)
    if end is not None and end + DUE_MARGIN_SECONDS > now:
        # Look when the final event is due (but never later than a steady poll).
        return min(limits.steady, max(end + DUE_MARGIN_SECONDS - now, limits.fast / 2))
    return limits.fast if progress.end_is_near(expected) else limits.steady


def remember_call(recent_calls: list[float], now: float) -> list[float]:
    """Append ``now`` and drop calls older than the window (kept in the record's detail)."""
    return [t for t in recent_calls if now - t < WINDOW_SECONDS] + [now]
