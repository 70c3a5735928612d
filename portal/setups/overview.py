"""A setup at a glance: what is deployed, what runs, and what waits for whom, from recorded evidence.

Every line names what it rests on: the stacks the newest apply or teardown recorded (with the
status CloudFormation last gave them), the operation in progress, and the pipeline snapshot the
worker stored (with its age). Nothing is inferred from silence: a pipeline never read is said to be
unknown, and "nothing waits" is said only when the evidence shows nobody has anything to do.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core import pipelines
from core.lifecycle import Lifecycle, SetupState
from core.models import Operation, OperationKind, OperationStatus, PipelineSnapshot, Setup
from core.models.operations import StackPhase
from portal.deployments.presenters import clock, tone
from portal.pipelines import presenters as pipeline_presenters

# The application stacks the pipeline deploys, by the stage that deploys them (docs/contracts.md).
APPLICATION_STAGES = ((pipelines.DEPLOY_STAGING, "staging"), (pipelines.DEPLOY_PRODUCTION, "production"))


@dataclass(frozen=True)
class Line:
    """One claim of the overview, with the page that shows its evidence (``link``) if there is one."""

    text: str
    tone: str = ""  # ok, busy, bad or "" (plain), as the status pills colour them
    link: str = ""
    link_text: str = ""


@dataclass
class Glance:
    deployed: list[Line] = field(default_factory=list)
    runs: list[Line] = field(default_factory=list)
    waits: list[Line] = field(default_factory=list)


def glance(setup: Setup, state: SetupState, panel: dict[str, Any], snapshot: PipelineSnapshot | None,
           has_pipeline: bool, now: datetime, links: dict[str, Any]) -> Glance:
    """Build the three lists; ``links`` maps "operation" to a function of an operation id, "pipeline" to a URL."""
    found = Glance()
    change: Operation | None = panel["change"]
    plan: Operation | None = panel["plan"]
    found.deployed = _portal_stacks(change, links)
    if has_pipeline:
        found.deployed += _application_stages(snapshot, now, links["pipeline"])
    watch: Operation | None = panel["watch"]
    if watch is not None:
        found.runs.append(Line(f"{watch.kind.capitalize()} #{watch.id} is {watch.status}.", "busy",
                               links["operation"](watch.id), "Follow it"))
    if has_pipeline:
        found.runs += _pipeline_runs(snapshot, now, links["pipeline"])
    found.waits = _waits(setup, state, panel, change, plan, links)
    if has_pipeline:
        found.waits += _pipeline_waits(snapshot, now, links["pipeline"])
    if not found.runs:
        found.runs.append(Line("Nothing runs now."))
    if not found.waits:
        found.waits.append(Line("Nobody: nothing waits for a decision or an action."))
    return found


def _portal_stacks(change: Operation | None, links: dict[str, Any]) -> list[Line]:
    if change is None:
        return [Line("Nothing yet: no apply has run.")]
    link = links["operation"](change.id)
    if change.kind == OperationKind.TEARDOWN.value and change.status == OperationStatus.SUCCEEDED.value:
        return [Line(f"Nothing of the portal's: teardown #{change.id} deleted its stacks at "
                     f"{clock(change.finished_at) or 'a moment not recorded'}.", "", link, f"Teardown #{change.id}")]
    lines = []
    for record in change.stacks:
        status = record.stack_status or "no status recorded yet"
        lines.append(Line(f"{record.stack_name} in account {record.account_id} ({record.region}): {status}",
                          tone(record.stack_status)))
    if not lines:
        lines.append(Line(f"{change.kind.capitalize()} #{change.id} has recorded no stack yet."))
    lines[-1] = Line(lines[-1].text, lines[-1].tone, link, f"as {change.kind} #{change.id} recorded it")
    return lines


def _read(snapshot: PipelineSnapshot | None) -> bool:
    return snapshot is not None and snapshot.read_at is not None


def _application_stages(snapshot: PipelineSnapshot | None, now: datetime, pipeline_url: str) -> list[Line]:
    if not _read(snapshot):
        return [Line("The application's stages: unknown, the pipeline has not been read yet.", "", pipeline_url,
                     "Pipeline")]
    assert snapshot is not None
    executions = {e["id"]: e for e in snapshot.executions}
    stages = {s["name"]: s for s in snapshot.stages}
    lines = []
    for stage_name, label in APPLICATION_STAGES:
        stage = stages.get(stage_name) or {}
        status = stage.get("status") or ""
        if not status:
            lines.append(Line(f"The {label} stack: not deployed by the pipeline yet ({stage_name} has not run)."))
            continue
        execution = executions.get(stage.get("execution_id") or "") or {}
        commit = _commit(execution)
        text = f"The {label} stack: {stage_name} {status}" + (f" with {commit}" if commit else "")
        lines.append(Line(text + ".", _pipeline_tone(status)))
    age = pipeline_presenters.freshness(snapshot, now)
    lines[-1] = Line(lines[-1].text, lines[-1].tone, pipeline_url, f"Pipeline ({age.removesuffix('.').lower()})")
    return lines


def _commit(execution: dict[str, Any]) -> str:
    revisions = execution.get("revisions") or []
    if not revisions:
        return ""
    first = revisions[0]
    commit_id, message = str(first.get("commit_id") or "")[:7], str(first.get("message") or "").strip()
    if not commit_id:
        return ""
    return f"commit {commit_id}" + (f" “{message.splitlines()[0][:80]}”" if message else "")


def _pipeline_tone(status: str) -> str:
    return {"Succeeded": "ok", "Failed": "bad", "InProgress": "busy", "Stopping": "busy"}.get(status, "")


def _pipeline_runs(snapshot: PipelineSnapshot | None, now: datetime, pipeline_url: str) -> list[Line]:
    if not _read(snapshot) or not snapshot.executions:  # type: ignore[union-attr]
        return []
    assert snapshot is not None
    newest = snapshot.executions[0]
    if newest.get("status") not in pipelines.ACTIVE_EXECUTION_STATUSES:
        return []
    commit = _commit(newest)
    doing = pipeline_presenters.waiting_for(snapshot, now)
    text = (f"Pipeline execution {str(newest['id'])[:8]}" + (f" ({commit})" if commit else "")
            + f" is {newest['status']}" + (f": {doing.removesuffix('.')}" if doing.startswith("Running") else "")
            + ".")
    return [Line(text, "busy", pipeline_url, "Watch it live")]


def _waits(setup: Setup, state: SetupState, panel: dict[str, Any], change: Operation | None,
           plan: Operation | None, links: dict[str, Any]) -> list[Line]:
    if state.lifecycle == Lifecycle.DRAFT:
        return [Line(f"An operator finishes the wizard's {setup.wizard_step} step.", "busy",
                     links["step"], "Continue there")]
    lines = []
    if state.lifecycle == Lifecycle.NOT_PLANNED:
        lines.append(Line("An operator requests the plan: nothing has been planned yet.", "busy"))
    if change is not None and change.status == OperationStatus.WAITING.value:
        for record in change.stacks:
            if record.phase == StackPhase.WAITING.value:
                lines.append(Line(f"The admin of account {record.account_id} launches stack {record.stack_name}.",
                                  "busy", links["operation"](change.id), "Instructions"))
    newer_plan = plan is not None and (change is None or plan.id > change.id)
    if newer_plan and plan.status == OperationStatus.SUCCEEDED.value and panel["applied_by"] is None:  # type: ignore[union-attr]
        assert plan is not None
        changed = [r for r in plan.stacks if r.action != "unchanged"]
        if changed and not panel["plan_refusal"]:
            lines.append(Line(f"Plan #{plan.id} ({len(changed)} of {len(plan.stacks)} stacks change) waits for an "
                              "operator or an admin to review and apply it.", "busy", links["deployments"],
                              "Review it"))
    if (change is not None and change.kind == OperationKind.APPLY.value
            and change.status == OperationStatus.SUCCEEDED.value and not newer_plan):
        applied_version = (change.detail or {}).get("setup_version")
        if applied_version is not None and applied_version != setup.version:
            lines.append(Line(f"The setup changed since apply #{change.id}: an operator plans again to see what "
                              "would change.", "busy", links["deployments"], "Deployments"))
    return lines


def _pipeline_waits(snapshot: PipelineSnapshot | None, now: datetime, pipeline_url: str) -> list[Line]:
    if not _read(snapshot):
        return []
    waiting = pipeline_presenters.waiting_for(snapshot, now)
    lines = []
    if waiting and not waiting.startswith("Running"):
        lines.append(Line(waiting, "bad" if "failed" in waiting else "busy", pipeline_url, "Pipeline"))
    if snapshot.read_error:  # type: ignore[union-attr]
        lines.append(Line(f"The last read of the pipeline failed: {snapshot.read_error}", "bad"))  # type: ignore[union-attr]
    return lines
