"""The execution engine: stages run one after another, actions by run order, at STATE.pace.

Nothing runs in the background. Every timed action knows when it will end (``due``), and
``advance(pipeline, now)`` replays, in time order, everything due by ``now``: completions, the
next run-order group, the next stage, the executions waiting for a stage. Reads therefore see
exactly what a clock-driven service would show, requests never block, and a reset only has to
drop moto's objects, which hold the executions.

Stage locking follows CodePipeline's execution modes: a stage holds one execution at a time
(an execution waiting at a manual approval keeps it); a later execution waits at the stage's
inbound transition. In SUPERSEDED mode a newer waiting execution supersedes an older one; in
QUEUED mode they enter first come, first served; in PARALLEL mode stages never lock.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any

from emulator.codepipeline.actions import complete_run, job_outcome, start_run
from emulator.codepipeline.models import ActionRun, Execution, next_seq
from emulator.eventbridge import pipeline_events as events
from emulator.eventbridge.clock import CLOCK

logger = logging.getLogger(__name__)

# Serialises every read and write of executions (the server answers from several threads).
# Lock order is LOCK, then STATE.lock (taken by STATE.take_action_failure); the reset hook,
# which runs under STATE.lock, therefore never takes LOCK.
LOCK = threading.RLock()


def executions(pipeline: Any) -> list[Execution]:
    """The pipeline's executions, oldest first (moto's dict keeps insertion order)."""
    return [e for e in pipeline.executions.values() if isinstance(e, Execution)]


def region_of(pipeline: Any) -> str:
    return str(pipeline._arn.split(":")[3])


def account_of(pipeline: Any) -> str:
    return str(pipeline._arn.split(":")[4])


def run_order(action: dict[str, Any]) -> int:
    return int(action.get("runOrder") or 1)


def advance(pipeline: Any, now: float) -> None:
    """Apply every action completion due by ``now``, earliest first."""
    while True:
        due = [(at, run) for e in executions(pipeline) if e.active for run in e.current_runs()
               if run.status == "InProgress" and (at := _ends_at(run)) is not None and at <= now]
        if not due:
            return
        at, run = min(due, key=lambda pair: (pair[0], pair[1].seq))
        execution = pipeline.executions[run.execution_id]
        complete_run(run, at)
        events.action(pipeline, execution, run, run.status, at)
        execution.last_update = at
        settle(pipeline, execution, at)


def _ends_at(run: ActionRun) -> float | None:
    """When a run ends: a timed one at ``due``, a job's when its work ended; None while unknown."""
    if run.job is not None:
        outcome = job_outcome(run)
        # A job noticed late still ends no earlier than it started.
        return max(outcome.at, run.start) if outcome is not None else None
    return run.due


def wake(pipeline: Any) -> None:
    """Catch a pipeline up now: a job ended, and its execution must move on though nobody reads it."""
    with LOCK:
        advance(pipeline, time.time())


def start(pipeline: Any, execution: Execution) -> Execution:
    """Register a new execution and send it to the first stage."""
    pipeline.executions[execution.execution_id] = execution
    logger.info("execution %s of %s started (%s)", execution.execution_id, execution.pipeline_name,
                execution.trigger_type)
    events.execution(pipeline, execution, "InProgress", execution.start)
    _arrive(pipeline, execution, 0, execution.start)
    return execution


def settle(pipeline: Any, execution: Execution, at: float) -> None:
    """After an action of the current stage ended: wait for its group, then move on."""
    runs = execution.current_runs()
    if any(run.status == "InProgress" for run in runs):
        return
    if execution.status == "Stopping":
        _end_in_stage(pipeline, execution, at, "Stopped", None)
        return
    failed = next((run for run in runs if run.status == "Failed"), None)
    if failed is not None:
        _end_in_stage(pipeline, execution, at, "Failed", failure_summary(failed))
        return
    _start_next_group(pipeline, execution, at)


def failure_summary(run: ActionRun) -> str:
    if run.updated_by and run.category == "Approval":
        return f"Approval {run.name} in stage {run.stage_name} was rejected by {run.updated_by}: {run.summary}"
    return f"Action {run.name} in stage {run.stage_name} failed: {run.summary or 'no reason given'}"


def stop(pipeline: Any, execution: Execution, abandon: bool, reason: str | None, at: float) -> None:
    """Stop an execution: abandon its running actions now, or let them finish first."""
    execution.stop_reason = reason
    if execution.phase != "running":
        execution.finish("Stopped", at)
        events.execution(pipeline, execution, "Stopped", at)
        return
    for run in execution.current_runs():
        # An approval cannot finish by itself, so even "stop and wait" abandons it.
        waits_for_a_person = run.due is None and run.job is None
        if run.status == "InProgress" and (abandon or waits_for_a_person):
            if run.job is not None:
                run.job.abandon()
            run.finish("Abandoned", at)
            events.action(pipeline, execution, run, "Abandoned", at)
    execution.status = "Stopping"
    execution.stage_status[execution.stage_name] = "Stopping"
    events.execution(pipeline, execution, "Stopping", at)
    events.stage(pipeline, execution, execution.stage_name, "Stopping", at)
    execution.last_update = at
    settle(pipeline, execution, at)


def retry(pipeline: Any, execution: Execution, stage_name: str, all_actions: bool, at: float) -> None:
    """Run a failed or stopped stage again: every action, or those that did not succeed."""
    execution.stage_index = next(i for i, s in enumerate(execution.stages) if s["name"] == stage_name)
    stage = execution.stages[execution.stage_index]
    only: set[str] | None = None
    if not all_actions:
        only = {a["name"] for a in stage["actions"]
                if _latest_status(execution, stage_name, a["name"]) != "Succeeded"}
    execution.stage_attempts[stage_name] = execution.stage_attempts.get(stage_name, 0) + 1
    execution.status = "InProgress"
    execution.status_summary = None
    execution.stop_reason = None
    events.execution(pipeline, execution, "Resumed", at)
    _enter(pipeline, execution, at, only)


def _latest_status(execution: Execution, stage_name: str, action_name: str) -> str | None:
    runs = [r for r in execution.runs if r.stage_name == stage_name and r.name == action_name]
    return runs[-1].status if runs else None


def holder(pipeline: Any, stage_name: str, exclude: Execution | None = None) -> Execution | None:
    """The execution running in (and so locking) a stage."""
    return next((e for e in executions(pipeline) if e is not exclude and e.active
                 and e.phase == "running" and e.stage_name == stage_name), None)


def waiting(pipeline: Any, stage_name: str) -> list[Execution]:
    """Executions waiting at a stage's inbound transition, first come first."""
    found = [e for e in executions(pipeline)
             if e.status == "InProgress" and e.phase == "waiting" and e.stage_name == stage_name]
    return sorted(found, key=lambda e: e.waiting_since)


def latest_in_stage(pipeline: Any, stage_name: str) -> Execution | None:
    """The execution that entered a stage most recently."""
    entered = [e for e in executions(pipeline) if stage_name in e.stage_entered]
    return max(entered, key=lambda e: e.stage_entered[stage_name], default=None)


def _arrive(pipeline: Any, execution: Execution, index: int, at: float) -> None:
    if index >= len(execution.stages):
        execution.finish("Succeeded", at)
        events.execution(pipeline, execution, "Succeeded", at)
        logger.info("execution %s of %s succeeded", execution.execution_id, execution.pipeline_name)
        return
    execution.stage_index = index
    stage_name = execution.stage_name
    if execution.mode != "PARALLEL" and holder(pipeline, stage_name, execution) is not None:
        execution.phase = "waiting"
        execution.waiting_since = (at, next_seq())
        if execution.mode == "SUPERSEDED":
            for older in waiting(pipeline, stage_name):
                if older is not execution:
                    older.finish("Superseded", at)
                    events.execution(pipeline, older, "Superseded", at)
                    logger.info("execution %s superseded by %s at %s", older.execution_id,
                                execution.execution_id, stage_name)
        return
    _enter(pipeline, execution, at, None)


def _enter(pipeline: Any, execution: Execution, at: float, only: set[str] | None) -> None:
    stage = execution.stages[execution.stage_index]
    execution.phase = "running"
    execution.stage_status[stage["name"]] = "InProgress"
    execution.stage_entered[stage["name"]] = (at, next_seq())
    events.stage(pipeline, execution, stage["name"], "Resumed" if execution.stage_attempts.get(stage["name"]) else
                 "InProgress", at)
    execution.last_update = at
    execution.pending = set(only) if only is not None else {a["name"] for a in stage["actions"]}
    _start_next_group(pipeline, execution, at)


def _start_next_group(pipeline: Any, execution: Execution, at: float) -> None:
    stage = execution.stages[execution.stage_index]
    remaining = [a for a in stage["actions"] if a["name"] in execution.pending]
    if not remaining:
        _leave(pipeline, execution, at)
        return
    order = min(run_order(a) for a in remaining)
    for action in remaining:
        if run_order(action) == order:
            execution.pending.discard(action["name"])
            run = start_run(execution, action, at, region_of(pipeline), account_of(pipeline), str(pipeline._arn),
                            lambda: wake(pipeline))
            events.action(pipeline, execution, run, "InProgress", at)
            if run.due is not None:  # a timed action ends at its moment even if nobody reads the pipeline
                CLOCK.at(run.due, lambda: wake(pipeline))


def _leave(pipeline: Any, execution: Execution, at: float) -> None:
    stage_name = execution.stage_name
    execution.stage_status[stage_name] = "Succeeded"
    events.stage(pipeline, execution, stage_name, "Succeeded", at)
    execution.phase = "arriving"
    _release(pipeline, stage_name, at)
    _arrive(pipeline, execution, execution.stage_index + 1, at)


def _end_in_stage(pipeline: Any, execution: Execution, at: float, status: str, summary: str | None) -> None:
    stage_name = execution.stage_name
    execution.stage_status[stage_name] = status
    execution.pending.clear()
    execution.finish(status, at, summary)
    events.stage(pipeline, execution, stage_name, status, at)
    events.execution(pipeline, execution, status, at)
    logger.info("execution %s of %s %s in %s", execution.execution_id, execution.pipeline_name,
                status.lower(), stage_name)
    _release(pipeline, stage_name, at)


def _release(pipeline: Any, stage_name: str, at: float) -> None:
    """A stage became free: let the first waiting execution in."""
    queue = waiting(pipeline, stage_name)
    if queue:
        _enter(pipeline, queue[0], at, None)


def decide(pipeline: Any, execution: Execution, run: ActionRun, approved: bool, summary: str,
           caller: str, at: float) -> None:
    """Record an approver's decision: the approval succeeds, or fails its stage and execution."""
    run.updated_by = caller
    run.summary = summary or None
    run.finish("Succeeded" if approved else "Failed", at)
    events.action(pipeline, execution, run, run.status, at)
    execution.last_update = at
    logger.info("approval %s/%s of execution %s %s by %s", run.stage_name, run.name,
                execution.execution_id, "approved" if approved else "rejected", caller)
    settle(pipeline, execution, at)
