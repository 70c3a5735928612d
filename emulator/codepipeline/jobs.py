"""Actions that do real work beside the engine: a build, a stack deployment.

The engine is lazy (see ``engine``): it replays what is due whenever a request reads a pipeline.
Work that takes real time cannot be replayed, so an action whose provider registered a starter
here runs as a *job*: the starter begins the work (in a thread, or by starting a stack operation
the emulator's CloudFormation paces by itself) and returns at once; the engine asks the job for
its ``outcome()`` each time it catches up, and the job calls ``context.wake()`` when it ends so an
execution moves on although nobody is reading it. A job reports the moment it ended, so the
records show the real duration however late the engine notices.

Providers register with ``register(category, provider, starter)``; the modules doing the work
(``emulator.codebuild``, the CloudFormation deploy action) stay out of the engine.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from emulator.codepipeline.models import ActionRun, Execution
from emulator.state import STATE

logger = logging.getLogger(__name__)

FAILED_CODE = "JobFailed"


@dataclass(frozen=True)
class Outcome:
    """How a job ended: its action's status, summary and output variables."""

    succeeded: bool
    at: float  # epoch seconds, when the work ended
    summary: str | None = None
    error_code: str = FAILED_CODE
    output_variables: dict[str, str] = field(default_factory=dict)
    external_id: str | None = None
    external_url: str | None = None


class Job(Protocol):
    """The work of one action run. It never holds its own lock while calling ``wake`` (the engine's
    lock is taken there, and the engine calls ``outcome`` under it)."""

    def outcome(self) -> Outcome | None:
        """How the work ended, or None while it goes on. Cheap: the engine calls it on every read."""

    def abandon(self) -> None:
        """Stop the work (StopPipelineExecution with abandon); the action ends Abandoned regardless."""


@dataclass(frozen=True)
class Artifact:
    """An input or output artifact of an action: where it lies in the artifact store."""

    name: str
    bucket: str
    key: str
    kms_key_id: str | None  # the store's encryptionKey id (ARN, id or alias), None for aws/s3


@dataclass(frozen=True)
class JobContext:
    """What a starter needs to do an action's work, resolved by the engine."""

    pipeline_name: str
    pipeline_arn: str
    execution_id: str
    account_id: str  # the pipeline's
    region: str  # the action's
    run: ActionRun
    configuration: dict[str, str]  # with #{namespace.Variable} references resolved
    role_arn: str  # the action's roleArn, else the pipeline's service role
    inputs: list[Artifact]
    outputs: list[Artifact]
    wake: Callable[[], None]


Starter = Callable[[JobContext], Job]
_STARTERS: dict[tuple[str, str], Starter] = {}


def register(category: str, provider: str, starter: Starter) -> None:
    """Let ``starter`` do the work of every action of this type (idempotent: the last one wins)."""
    _STARTERS[(category, provider)] = starter


def starter_for(run: ActionRun) -> Starter | None:
    """The starter doing ``run``'s work; None for a timed action (also every action while simulated)."""
    if STATE.simulate_actions:
        return None
    return _STARTERS.get((run.category, run.provider))


def artifacts(execution: Execution, names: list[str], region: str) -> list[Artifact]:
    """The artifacts ``names`` of ``execution`` as stored in the artifact store of ``region``."""
    declaration = execution.declaration
    store = (declaration.get("artifactStores") or {}).get(region) or declaration.get("artifactStore") or {}
    key = (store.get("encryptionKey") or {}).get("id")
    return [Artifact(name, str(store.get("location", "")), execution.artifact_key(name), key) for name in names]


_REFERENCE = re.compile(r"#\{([A-Za-z0-9@\-_]+)\.([A-Za-z0-9@\-_]+)\}")


class UnresolvedVariable(Exception):
    """A configuration names a variable no earlier action or the pipeline produced (the action fails)."""


def resolve(value: str, execution: Execution) -> str:
    """Replace ``#{namespace.Name}`` as CodePipeline does: codepipeline.*, variables.*, action namespaces."""
    scopes = namespaces(execution)

    def substitute(match: re.Match[str]) -> str:
        namespace, name = match.group(1), match.group(2)
        found = scopes.get(namespace, {}).get(name)
        if found is None:
            raise UnresolvedVariable(f"The variable #{{{namespace}.{name}}} could not be resolved.")
        return found

    return _REFERENCE.sub(substitute, value)


def namespaces(execution: Execution) -> dict[str, dict[str, str]]:
    scopes: dict[str, dict[str, str]] = {
        "codepipeline": {"PipelineExecutionId": execution.execution_id},
        "variables": {v["name"]: v["value"] for v in execution.variables},
    }
    for run in execution.runs:  # later attempts overwrite earlier ones
        namespace = run.declaration.get("namespace")
        if namespace and run.status == "Succeeded":
            scopes[str(namespace)] = dict(run.output_variables)
    return scopes


def context_for(execution: Execution, run: ActionRun, account_id: str, region: str, pipeline_arn: str,
                wake: Callable[[], None]) -> JobContext:
    """:raise UnresolvedVariable: the action's configuration names a variable that does not exist."""
    declaration: dict[str, Any] = run.declaration
    configuration = {k: resolve(str(v), execution) for k, v in run.configuration.items()}
    return JobContext(
        pipeline_name=execution.pipeline_name, pipeline_arn=pipeline_arn, execution_id=execution.execution_id,
        account_id=account_id, region=region, run=run, configuration=configuration,
        role_arn=str(declaration.get("roleArn") or execution.declaration.get("roleArn") or ""),
        inputs=artifacts(execution, [a["name"] for a in declaration.get("inputArtifacts") or []], region),
        outputs=artifacts(execution, [a["name"] for a in declaration.get("outputArtifacts") or []], region),
        wake=wake,
    )
