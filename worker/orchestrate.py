"""Move an operation forward: start the next wave of stacks, or record the outcome.

Called after a stack record settles (and by the resume task). Each stack record's start is a
conditional UPDATE from ``pending``, so concurrent callers start each stack once; a record's
settled state is committed before this runs, so the last of two racing callers sees both.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from core import plans, stacks
from core.models import Operation, OperationKind, OperationStatus, Setup, StackRecord, StackRole
from core.models.operations import StackPhase
from worker import apply, cadence, context, teardown
from worker.context import AwsContext
from worker.lifecycle import claim_lease, finish, set_status
from worker.monitor import STEP_ERRORS, Follow
from worker.root_cause import root_cause

logger = logging.getLogger(__name__)


def waves(operation: Operation) -> list[list[StackRecord]]:
    """The operation's stack records in the waves core/stacks.py orders (apply: deploy accounts first)."""
    return [[r for r in operation.stacks if StackRole(r.role) in roles] for roles in stacks.waves(operation.kind)]


def advance(factory: sessionmaker[Session], operation_id: int) -> list[Follow]:
    """Start what may start now and return the monitor steps to schedule; finish when all settled."""
    with factory() as session:
        operation = session.get(Operation, operation_id, with_for_update=True)
        if operation is None or OperationStatus(operation.status).is_terminal:
            return []
        setup = session.get(Setup, operation.setup_id)
        assert setup is not None
        follows: list[Follow] = []
        while True:
            started = _start_next_wave(session, operation, setup, follows)
            session.flush()
            if not started:
                break
        _conclude(session, operation, setup)
        session.commit()
        return follows


def _start_next_wave(session: Session, operation: Operation, setup: Setup, follows: list[Follow]) -> bool:
    """Start the pending records of the first unfinished wave; True if one settled at once."""
    if operation.kind == OperationKind.PLAN.value:
        return False  # a plan's records are started by the plan task itself
    if any(r.phase == StackPhase.FAILED.value for r in operation.stacks):
        return False  # nothing new starts after a failure
    aws: AwsContext | None = None
    for wave in waves(operation):
        if all(r.phase == StackPhase.DONE.value for r in wave):
            continue
        settled_now = False
        for record in wave:
            if record.phase != StackPhase.PENDING.value:
                continue
            aws = aws or context.for_operation(operation, setup)
            try:
                phase = _first_phase(operation, record, aws)
            except STEP_ERRORS as err:
                phase, record.status_reason = StackPhase.FAILED, str(err)
            won = session.execute(
                update(StackRecord)
                .where(StackRecord.id == record.id, StackRecord.phase == StackPhase.PENDING.value)
                .values(phase=phase.value)
            ).rowcount == 1
            session.refresh(record)
            if not won:
                continue
            if phase.is_terminal:
                settled_now = True
                continue
            token = claim_lease(session, record.id, "", timedelta(seconds=cadence.STEADY_SECONDS))
            if token:
                follows.append(Follow(record.id, token, 0.0))
        return settled_now
    return False


def _succeed(session: Session, operation: Operation, setup: Setup) -> None:
    if operation.kind == OperationKind.PLAN.value:
        unbacked = plans.unreviewable(operation)
        if unbacked:
            # Every record says done, yet one outcome lacks AWS's answer: never call that reviewable.
            error = "; ".join(unbacked)
            if finish(session, operation, OperationStatus.FAILED, error):
                logger.error("plan %s has stacks without evidence: %s", operation.id, error)
            return
    if operation.kind == OperationKind.APPLY.value:
        operation.detail = {**operation.detail, **apply.summarise(operation, setup)}
    if finish(session, operation, OperationStatus.SUCCEEDED):
        logger.info("operation %s (%s of setup %s) succeeded", operation.id, operation.kind, setup.id)


def _first_phase(operation: Operation, record: StackRecord, aws: AwsContext) -> StackPhase:
    if operation.kind == OperationKind.TEARDOWN.value:
        return teardown.start_record(record, aws)
    return apply.start_record(record, aws)


def _conclude(session: Session, operation: Operation, setup: Setup) -> None:
    """Record the outcome once every stack the start step recorded has one; else note what runs.

    Only the recorded outcome of each of the operation's stacks concludes it: until the start step
    has committed its records (``stacks_expected``), nothing here may read "no records" as "done".
    """
    records = operation.stacks
    if operation.stacks_expected is None or len(records) != operation.stacks_expected:
        return
    phases = {StackPhase(r.phase) for r in records}
    active = phases - {StackPhase.PENDING, StackPhase.DONE, StackPhase.FAILED}
    if StackPhase.FAILED in phases and not active:
        failed = [r for r in records if r.phase == StackPhase.FAILED.value]
        operation.root_cause = root_cause(session, records) or {}
        if operation.kind == OperationKind.APPLY.value:
            operation.detail = {**operation.detail, **apply.summarise(operation, setup)}
        error = "; ".join(f"{r.stack_name} in {r.account_id}: {r.status_reason}" for r in failed)
        if finish(session, operation, OperationStatus.FAILED, error):
            logger.warning("operation %s failed: %s", operation.id, error)
        return
    if phases <= {StackPhase.DONE}:
        _succeed(session, operation, setup)
        return
    waiting = StackPhase.WAITING in phases
    set_status(session, operation, OperationStatus.WAITING if waiting else OperationStatus.RUNNING)
    if waiting:
        operation.detail = {**operation.detail, "self_launch": {
            f"{r.account_id}/{r.stack_name}": {k: r.detail.get(k, "") for k in
                                               ("quick_create_url", "template_url", "cli_command")}
            for r in records if r.phase == StackPhase.WAITING.value
        }}
