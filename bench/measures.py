"""The benchmark's arithmetic: percentiles, lags and call rates, as pure functions.

Everything here takes plain numbers (epoch seconds) so the smoke test can check it on synthetic
data with exact expected values; nothing reads the database, the emulator or the clock.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Sequence


@dataclass(frozen=True)
class Summary:
    """Distribution of a set of lags (seconds)."""

    count: int
    mean: float
    p50: float
    p95: float
    max: float

    def as_dict(self) -> dict[str, float | int]:
        return {"count": self.count, "mean": self.mean, "p50": self.p50, "p95": self.p95, "max": self.max}


@dataclass(frozen=True)
class StackRun:
    """One stack operation as the benchmark saw it (all times epoch seconds).

    ``started`` and ``terminal`` are the CloudFormation timestamps of the stack's first and final
    stack-level events; ``seen`` is when the client noticed the final status (the worker's row
    for that event, or an awscli process's exit), None when it never did.
    """

    key: str
    started: float
    terminal: float
    terminal_status: str
    seen: float | None
    role: str = ""


@dataclass(frozen=True)
class OperationRun:
    """One apply: its stacks and when the worker marked it finished (None: never)."""

    operation_id: int
    finished: float | None
    stacks: Sequence[StackRun] = field(default_factory=tuple)


def percentile(values: Iterable[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation between closest ranks.

    Same definition as numpy's default ("linear"), so numbers compare with other tools; an
    empty input has no percentile (NaN) rather than a misleading zero.
    """
    ordered = sorted(values)
    if not ordered:
        return math.nan
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within 0..100, not {q}")
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summarise(values: Iterable[float]) -> Summary:
    data = list(values)
    if not data:
        return Summary(0, math.nan, math.nan, math.nan, math.nan)
    return Summary(len(data), sum(data) / len(data), percentile(data, 50), percentile(data, 95), max(data))


def event_lags(events: Iterable[tuple[float, float]], since: float = -math.inf) -> list[float]:
    """recorded_at - timestamp for each (timestamp, recorded_at) event at or after ``since``.

    Events older than the measured operation (a change set's REVIEW_IN_PROGRESS from the plan)
    could not have been recorded sooner by that operation, so the caller excludes them.
    """
    return [recorded - stamp for stamp, recorded in events if stamp >= since]


def completion_lags(operation: OperationRun) -> dict[str, float]:
    """Per stack key: when the status change was seen minus the terminal event's timestamp.

    The stack that ends last is seen when the operation is marked finished (that is when the
    setup's state changes for the user); the others when the worker stored their final event.
    Stacks never seen are left out (the caller counts them).
    """
    if not operation.stacks:
        return {}
    last = max(operation.stacks, key=lambda s: s.terminal)
    lags: dict[str, float] = {}
    for stack in operation.stacks:
        seen = operation.finished if stack is last and operation.finished is not None else stack.seen
        if seen is not None:
            lags[stack.key] = seen - stack.terminal
    return lags


def peer_completion_lags(stacks: Iterable[StackRun]) -> dict[str, float]:
    """Per stack key: process exit (``seen``) minus the terminal event's timestamp."""
    return {s.key: s.seen - s.terminal for s in stacks if s.seen is not None}


def stack_minutes(stacks: Iterable[StackRun]) -> float:
    """Σ of each stack's active time (first to final stack-level event), in minutes."""
    return sum(max(0.0, s.terminal - s.started) for s in stacks) / 60


def calls_per_stack_minute(calls: int, minutes: float) -> float:
    if minutes <= 0:
        return math.nan
    return calls / minutes


def service_calls(stats: dict[str, dict[str, int]], service: str, exclude: Iterable[str] = ()) -> int:
    """Sum one service's calls in an /_emulator/stats snapshot, leaving out some actions."""
    skipped = set(exclude)
    return sum(n for action, n in stats.get(service, {}).items() if action not in skipped)


def peak_concurrency(intervals: Iterable[tuple[float, float]]) -> int:
    """Most intervals [start, end] open at one moment (an end at t closes before a start at t)."""
    edges: list[tuple[float, int]] = []
    for start, end in intervals:
        edges.append((start, 1))
        edges.append((end, -1))
    edges.sort(key=lambda edge: (edge[0], edge[1]))
    open_now = peak = 0
    for _, step in edges:
        open_now += step
        peak = max(peak, open_now)
    return peak


@dataclass(frozen=True)
class Target:
    name: str
    limit: float
    value: float

    @property
    def passed(self) -> bool:
        return not math.isnan(self.value) and self.value <= self.limit

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "limit": self.limit, "value": self.value, "passed": self.passed}


COMPLETION_MEAN_LIMIT = 1.0
COMPLETION_P95_LIMIT = 2.0
CALLS_PER_STACK_MINUTE_LIMIT = 30.0


def targets(completion: Summary, calls_rate: float) -> list[Target]:
    """The issue's targets, each checked against the measured value."""
    return [
        Target("completion lag mean (s)", COMPLETION_MEAN_LIMIT, completion.mean),
        Target("completion lag p95 (s)", COMPLETION_P95_LIMIT, completion.p95),
        Target("CloudFormation calls per stack-minute", CALLS_PER_STACK_MINUTE_LIMIT, calls_rate),
    ]
