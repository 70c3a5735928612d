"""When to look at a running stack next: when its end is due, and sparingly before that.

Two things decide: what the stack's events say about its end, and a budget of CloudFormation
calls over the stack's whole life.

**The end.** The change set lists the resources the stack will touch (or, for a delete, those it
removes). Each emits a few events (an ``*_IN_PROGRESS``, usually a second one when the provider
starts work, then its final one) and the stack's own final event comes right after the last. So
the events seen so far tell how many are still to come: how many a resource emits is learnt from
this stack's resources that settled already (CloudFormation's usual pattern until one did), and
the typical gap between this stack's events turns the count into the moment the final event is
due. Once every expected resource settled (or the stack is in a cleanup phase) only that final
event is left. A rollback has no estimate: it undoes whatever ran. CloudFormation works on
independent resources in parallel, so on real stacks the estimate errs late; the polls before the
end bound that.

**The budget.** At most ``CALLS_PER_MINUTE`` calls per stack-minute, counted over the stack's
whole life: every CloudFormation call the worker makes for it (the apply's check of its change
set, the execute, each poll, the final describe) against the minutes since its execute. A short
stack cannot stay under that (a 5 s stack needs an execute, a first look, a look at its end and a
describe: 48 a minute), so ``FLOOR_CALLS`` are always allowed; and the polls are planned at
``PLANNED_SHARE`` of the limit, so that long stacks leave room for short ones and the total over
many stacks stays under it. With an estimated end, the polls the stack can afford before it are
spread evenly over the time left (never closer than ``STEADY_SECONDS``), then one look comes when
the end is due. Without one, polls come every ``STEADY_SECONDS`` at most, within the planned rate.
When the end is due but has not come, looks come every ``FAST_SECONDS`` within the limit itself
(``LATE_END_LOOKS`` over the floor allowed). Whatever the budget says, a running stack is looked
at at least every ``LONGEST_WAIT_STEADIES`` steady intervals.

**With events.** While a setup's event queue brings its stack events (worker/event_flow.py), the
consumer stores them and hands a stack whose final event came to its monitor at once
(worker/event_consumer.py); polling is then only the safety net: a look every
``EVENTS_SLOW_SECONDS`` (``with_events``). A monitor that wakes in between makes no call; when
the events stop (the queue silent for ``event_flow.FLOW_SECONDS`` or failing), the next wake is
back on the cadence above.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from worker import settings
from worker.events import STACK_TYPE
from worker.stack_status import is_finishing

# A stack-level event with one of these statuses starts a new stack operation.
OPERATION_STARTS = frozenset({"REVIEW_IN_PROGRESS", "CREATE_IN_PROGRESS", "UPDATE_IN_PROGRESS",
                              "DELETE_IN_PROGRESS", "IMPORT_IN_PROGRESS"})
STEADY_SECONDS = 3.0
FAST_SECONDS = 0.5
# The first look after an execute: soon enough to learn the pace of a short stack's events.
FIRST_LOOK_SECONDS = 2.0
# Look this long after the moment the next event is expected, so that it is there.
DUE_MARGIN_SECONDS = 0.1
CALLS_PER_MINUTE = 30
# The polls before the end aim at this share of the limit; the rest pays for the fixed calls.
PLANNED_SHARE = 2 / 3
# Calls any stack may make whatever its length: execute, first look, look at the end, describe.
FLOOR_CALLS = 4
# Whatever the budget says, a running stack is looked at at least every this many steady intervals.
LONGEST_WAIT_STEADIES = 4
# Extra looks allowed over the floor when the end was due and did not come yet.
LATE_END_LOOKS = 2
# Kept for each poll's plan: the look at the end and the final DescribeStacks.
END_CALLS = 2
# Until a resource of this stack settled, assume each emits as many events as CloudFormation's usual
# pattern: CREATE_IN_PROGRESS, CREATE_IN_PROGRESS "Resource creation Initiated", CREATE_COMPLETE
# when created; an in-progress and a final one when updated or deleted.
EVENTS_PER_CREATED_RESOURCE = 3
# While events flow: the safety net's look, and the shortest wait between two wakes without a call.
EVENTS_SLOW_SECONDS = 30.0
EVENTS_MIN_WAIT_SECONDS = 0.05
EVENTS_PER_RESOURCE = 2


@dataclass
class Progress:
    """What the events of the current stack operation say so far."""

    stack_status: str = ""
    stack_reason: str = ""
    in_progress: set[str] = field(default_factory=set)
    settled: set[str] = field(default_factory=set)
    event_counts: dict[str, int] = field(default_factory=dict)  # resource events seen per logical id
    times: list[float] = field(default_factory=list)  # event times (epoch seconds), oldest first

    @classmethod
    def from_events(cls, stack_name: str, events: Iterable[tuple[Any, ...]]) -> "Progress":
        """Fold (logical id, resource type, status, epoch time[, reason]) tuples, oldest first, from
        the last operation's start."""
        progress = cls()
        for logical_id, resource_type, status, at, *reason in events:
            if resource_type == STACK_TYPE and logical_id == stack_name:
                if status in OPERATION_STARTS:
                    progress = cls()
                progress.stack_status, progress.stack_reason = status, (reason[0] if reason else "") or ""
                progress.times.append(at)
                continue
            progress.times.append(at)
            progress.event_counts[logical_id] = progress.event_counts.get(logical_id, 0) + 1
            if status.endswith("_IN_PROGRESS"):
                progress.in_progress.add(logical_id)
                progress.settled.discard(logical_id)
            else:
                progress.in_progress.discard(logical_id)
                progress.settled.add(logical_id)
        return progress

    @property
    def rolling_back(self) -> bool:
        """A rollback undoes what ran so far: the change set's resource list says nothing about what comes."""
        return "ROLLBACK" in self.stack_status

    def end_is_near(self, expected: set[str]) -> bool:
        if self.stack_status and is_finishing(self.stack_status):
            return True
        if self.in_progress or not self.settled:
            return False
        # During a rollback "nothing in progress after some resources settled" is the best sign
        # available.
        return self.rolling_back or expected <= self.settled

    def typical_gap(self) -> float | None:
        """The median time between this operation's recent events."""
        recent = self.times[-11:]
        gaps = [b - a for a, b in zip(recent, recent[1:]) if b > a]
        return statistics.median(gaps) if gaps else None

    def events_per_resource(self) -> float:
        """How many events a resource of this stack emits, from those that settled."""
        counts = [self.event_counts[r] for r in self.settled if r in self.event_counts]
        if counts:
            return statistics.mean(counts)
        return EVENTS_PER_CREATED_RESOURCE if self.stack_status.startswith("CREATE") else EVENTS_PER_RESOURCE

    def events_to_come(self, expected: set[str]) -> float | None:
        """Events still to come, the stack's final one included; None when nothing says."""
        if self.end_is_near(expected):
            return 1
        if not expected or self.rolling_back:
            return None
        per_resource = self.events_per_resource()
        not_started = expected - self.settled - self.in_progress
        started = sum(max(1.0, per_resource - self.event_counts.get(r, 0)) for r in self.in_progress & expected)
        return per_resource * len(not_started) + started + 1

    def expected_end(self, expected: set[str]) -> float | None:
        """When the stack's final event should appear (epoch seconds), or None when unknown."""
        gap = self.typical_gap()
        remaining = self.events_to_come(expected)
        if gap is None or remaining is None or not self.times:
            return None
        return self.times[-1] + remaining * gap


@dataclass(frozen=True)
class Budget:
    """The CloudFormation calls made for one stack operation, and since when (epoch seconds).

    Kept in the stack record's ``detail`` as two numbers, so any worker can go on with it.
    """

    calls: int = 0
    since: float | None = None

    @classmethod
    def from_detail(cls, detail: Mapping[str, Any]) -> "Budget":
        calls = detail.get("calls", 0)
        if isinstance(calls, list):
            # A record followed by an older worker holds the times of its last minute's calls.
            return cls(len(calls), min(calls) if calls else None)
        return cls(int(calls or 0), detail.get("calls_since"))

    def as_detail(self) -> dict[str, Any]:
        return {"calls": self.calls, "calls_since": self.since}

    def spend(self, now: float, calls: int = 1) -> "Budget":
        """Count ``calls`` made at ``now``; the first one that is timed starts the stack's life."""
        return Budget(self.calls + calls, self.since if self.since is not None else now)

    def allowed(self, at: float, per_minute: float, floor: float = FLOOR_CALLS) -> float:
        """How many calls the stack may have made by ``at``."""
        elapsed = max(0.0, at - self.since) if self.since is not None else 0.0
        return max(floor, per_minute * elapsed / 60)

    def earliest(self, calls: int, per_minute: float, now: float, floor: float = FLOOR_CALLS) -> float:
        """The first moment at which ``calls`` more calls fit in the budget."""
        needed = self.calls + calls
        if needed <= floor or self.since is None:
            return now
        return max(now, self.since + 60 * needed / per_minute)


@dataclass(frozen=True)
class Limits:
    steady: float = STEADY_SECONDS
    fast: float = FAST_SECONDS
    calls_per_minute: int = CALLS_PER_MINUTE

    @property
    def planned_per_minute(self) -> float:
        return self.calls_per_minute * PLANNED_SHARE

    @property
    def longest_wait(self) -> float:
        return self.steady * LONGEST_WAIT_STEADIES

    @property
    def first_look(self) -> float:
        return min(self.steady, FIRST_LOOK_SECONDS)

    @classmethod
    def from_settings(cls) -> "Limits":
        """The defaults, or the PORTAL_POLL_* overrides (worker/settings.py)."""
        return cls(**settings.poll_overrides())  # type: ignore[arg-type]


def next_delay(progress: Progress, expected: set[str], budget: Budget, now: float,
               limits: Limits | None = None) -> float:
    """Seconds until the next poll of a running stack, given what its events say and its calls so far."""
    limits = limits or Limits.from_settings()
    return min(_next_delay(progress, expected, budget, now, limits), limits.longest_wait)


def _next_delay(progress: Progress, expected: set[str], budget: Budget, now: float, limits: Limits) -> float:
    planned = limits.planned_per_minute
    end = progress.expected_end(expected)
    if end is not None and end + DUE_MARGIN_SECONDS > now:
        until_end = end + DUE_MARGIN_SECONDS - now
        # The polls this stack can afford before its end, keeping the look at the end and the
        # final describe; spread evenly over the time left.
        start = budget.since if budget.since is not None else now
        spare = int(budget.allowed(end, planned) - budget.calls - END_CALLS) if end > start else 0
        if spare <= 0:
            return until_end
        return min(until_end, max(until_end / (spare + 1), limits.steady))
    if end is not None or progress.end_is_near(expected):
        # The final event is due: look often, within the limit itself.
        at = budget.earliest(END_CALLS, limits.calls_per_minute, now, FLOOR_CALLS + LATE_END_LOOKS)
        return max(limits.fast, at - now)
    # Nothing says when the end comes: steady polls within the planned rate.
    return max(limits.steady, budget.earliest(END_CALLS, planned, now) - now)


def with_events(flowing_until: float | None, looked_at: float, now: float) -> float | None:
    """While events flow (until ``flowing_until``), seconds to wait without a call; None: look now.

    The wait ends at the safety net's next look or when the flow would count as stopped,
    whichever comes first; the wake then decides again.
    """
    if flowing_until is None or flowing_until <= now:
        return None
    due = looked_at + EVENTS_SLOW_SECONDS
    if now >= due:
        return None
    return max(EVENTS_MIN_WAIT_SECONDS, min(due, flowing_until) - now)
