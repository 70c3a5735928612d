"""The records an execution leaves behind: executions, action runs, source revisions, commits.

Times are epoch seconds (floats). They are the simulated moments things happened, which may
lie before the request that reveals them: state is computed lazily (see ``engine``).
"""
from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, field
from typing import Any

from moto.moto_api._internal import mock_random

# Total order of everything that happens, to break ties between events at the same instant.
_sequence = itertools.count()


def next_seq() -> int:
    return next(_sequence)


def new_id() -> str:
    return str(mock_random.uuid4())


@dataclass(frozen=True)
class Commit:
    commit_id: str
    message: str
    branch: str
    created: float


@dataclass(frozen=True)
class SourceRevision:
    """What one source action fetched for an execution (or why it cannot)."""

    action_name: str
    revision_id: str | None
    summary: str | None
    created: float | None
    url: str | None
    output_variables: dict[str, str] = field(default_factory=dict)
    missing_reason: str | None = None  # set when the branch has no commit: the action fails


@dataclass
class ActionRun:
    """One attempt of one action in one execution (ListActionExecutions lists every attempt)."""

    execution_id: str
    pipeline_version: int
    stage_name: str
    declaration: dict[str, Any]
    start: float
    due: float | None  # when a timed action completes; None while an approval waits
    attempt: int
    action_execution_id: str = field(default_factory=new_id)
    seq: int = field(default_factory=next_seq)
    status: str = "InProgress"
    last_update: float = 0.0
    summary: str | None = None
    token: str | None = None
    updated_by: str | None = None
    external_id: str | None = None
    external_url: str | None = None
    error_details: dict[str, str] | None = None
    planned_error: tuple[str, str] | None = None  # (code, message) it will fail with at ``due``
    output_variables: dict[str, str] = field(default_factory=dict)
    job: Any = field(default=None, compare=False, repr=False)  # emulator.codepipeline.jobs.Job doing its work

    def __post_init__(self) -> None:
        self.last_update = self.last_update or self.start

    @property
    def name(self) -> str:
        return str(self.declaration["name"])

    @property
    def category(self) -> str:
        return str(self.declaration["actionTypeId"]["category"])

    @property
    def provider(self) -> str:
        return str(self.declaration["actionTypeId"]["provider"])

    @property
    def configuration(self) -> dict[str, str]:
        return self.declaration.get("configuration") or {}

    def finish(self, status: str, at: float) -> None:
        # The token stays: a late PutApprovalResult with it is "already completed", not "invalid".
        self.status = status
        self.last_update = at


@dataclass
class Execution:
    """A pipeline execution and where it is: waiting at or running in ``stage_index``, or done."""

    pipeline_name: str
    declaration: dict[str, Any]  # the pipeline as it was when the execution started
    trigger_type: str
    trigger_detail: str
    start: float
    revisions: dict[str, SourceRevision]
    variables: list[dict[str, str]]
    client_request_token: str | None = None
    execution_id: str = field(default_factory=new_id)
    status: str = "InProgress"
    status_summary: str | None = None
    last_update: float = 0.0
    stage_index: int = 0
    phase: str = "arriving"  # "waiting" at the stage's inbound transition, "running" in it, "done"
    waiting_since: tuple[float, int] = (0.0, 0)
    stage_status: dict[str, str] = field(default_factory=dict)
    stage_entered: dict[str, tuple[float, int]] = field(default_factory=dict)
    stage_attempts: dict[str, int] = field(default_factory=dict)
    pending: set[str] = field(default_factory=set)
    runs: list[ActionRun] = field(default_factory=list)
    stop_reason: str | None = None

    def __post_init__(self) -> None:
        self.declaration = copy.deepcopy(self.declaration)
        self.last_update = self.last_update or self.start

    @property
    def version(self) -> int:
        return int(self.declaration["version"])

    @property
    def mode(self) -> str:
        return str(self.declaration.get("executionMode") or "SUPERSEDED")

    @property
    def stages(self) -> list[dict[str, Any]]:
        return list(self.declaration["stages"])

    @property
    def stage_name(self) -> str:
        return str(self.stages[self.stage_index]["name"])

    @property
    def active(self) -> bool:
        return self.status in ("InProgress", "Stopping")

    def artifact_key(self, artifact: str) -> str:
        """Where an output artifact of this execution lies in the artifact bucket (one home for the key)."""
        # AWS keys artifacts as <pipeline name, cut>/<artifact name, cut>/<random>; ours is stable per execution.
        return f"{self.pipeline_name[:20]}/{artifact[:20]}/{self.execution_id[:7]}"

    def current_runs(self) -> list[ActionRun]:
        """The action runs of the current attempt of the current stage."""
        attempt = self.stage_attempts.get(self.stage_name, 0)
        return [r for r in self.runs if r.stage_name == self.stage_name and r.attempt == attempt]

    def finish(self, status: str, at: float, summary: str | None = None) -> None:
        self.status = status
        self.status_summary = summary
        self.phase = "done"
        self.last_update = at
