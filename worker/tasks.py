"""Celery tasks: each takes an id, does one short step and schedules the next; none sleeps on AWS.

``worker.plan_setup``, ``worker.apply_setup`` and ``worker.teardown_setup`` are what the portal
sends (docs/contracts.md). ``worker.follow_stack`` is the monitor: it looks at one stack once and
re-queues itself with a countdown, so one worker process follows many stacks at once.
``worker.resume_operations`` (queued by every worker at start and every sweep) picks up the stacks
a dead worker was following, and re-sends the task of an operation left pending (worker/outbox.py).
A task that fails marks its operation failed with the reason, then re-raises.
"""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Callable, Iterable

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from core.models import Operation, OperationKind, Setup, StackRecord, utcnow
from core.models.operations import StackPhase
from worker import apply, context, db, lifecycle, monitor, orchestrate, outbox, plan, settings, teardown
from worker.celery_app import app
from worker.lifecycle import ACTIVE
from worker.monitor import Follow

logger = logging.getLogger(__name__)

FOLLOWED_PHASES = (StackPhase.CHANGE_SET.value, StackPhase.EXECUTING.value, StackPhase.DELETING.value,
                   StackPhase.WAITING.value)


def _send_follow(follow: Follow) -> None:
    follow_stack.apply_async((follow.record_id, follow.token), countdown=follow.delay)


# Tests replace this to run the monitor without a broker.
scheduler: Callable[[Follow], None] = _send_follow


def dispatch(follows: Iterable[Follow]) -> None:
    """Queue the follow-ups. The database already holds everything they need, so a broker that
    cannot take them (Redis restarting) loses nothing: the lease runs out and the periodic
    resume sweep (worker.celery_app) queues them again."""
    for follow in follows:
        try:
            scheduler(follow)
        except Exception:  # noqa: BLE001 - kombu raises several connection error types
            logger.exception("cannot queue follow-up of stack record %s; the resume sweep will", follow.record_id)


def _run_or_mark_failed(operation_id: int, body: Callable[[sessionmaker[Session], int], None]) -> None:
    """Run ``body``; if it raises, mark the operation failed with the reason, then re-raise.

    Re-raising keeps Celery from recording success for a failure (STYLE.md, habit 6).
    """
    factory = db.session_factory()
    try:
        body(factory, operation_id)
    except Exception as err:
        lifecycle.fail(factory, operation_id, str(err) or type(err).__name__)
        raise


def _begin(factory: sessionmaker[Session], operation_id: int, kind: OperationKind,
           start: Callable[..., object]) -> bool:
    """Mark the operation running and run its kind's start step; False when already finished."""
    if lifecycle.start_operation(factory, operation_id) is None:
        return False
    with factory() as session:
        operation = session.get(Operation, operation_id)
        assert operation is not None
        if operation.kind != kind.value:
            raise lifecycle.OperationRefused(f"operation {operation_id} is a {operation.kind}, not a {kind.value}")
        setup = session.get(Setup, operation.setup_id)
        assert setup is not None
        start(session, operation, setup, context.for_operation(operation, setup))
        # Committed with the records themselves: from here on the operation may conclude.
        session.flush()
        operation.stacks_expected = session.scalar(
            select(func.count()).select_from(StackRecord).where(StackRecord.operation_id == operation.id))
        session.commit()
    return True


def _plan(factory: sessionmaker[Session], operation_id: int) -> None:
    followed: list[int] = []

    def start(session: Session, operation: Operation, setup: Setup, aws: context.AwsContext) -> None:
        followed.extend(plan.start_plan(session, operation, setup, aws))

    if not _begin(factory, operation_id, OperationKind.PLAN, start):
        return
    follows = []
    with factory() as session:
        for record_id in followed:
            token = lifecycle.claim_lease(session, record_id, "", timedelta(seconds=monitor.CHANGE_SET_POLL_SECONDS))
            if token:
                follows.append(Follow(record_id, token, monitor.FIRST_CHANGE_SET_POLL_SECONDS))
        session.commit()
    dispatch(follows)
    dispatch(orchestrate.advance(factory, operation_id))


def _apply(factory: sessionmaker[Session], operation_id: int) -> None:
    if _begin(factory, operation_id, OperationKind.APPLY, apply.start_apply):
        dispatch(orchestrate.advance(factory, operation_id))


def _teardown(factory: sessionmaker[Session], operation_id: int) -> None:
    if _begin(factory, operation_id, OperationKind.TEARDOWN, teardown.start_teardown):
        dispatch(orchestrate.advance(factory, operation_id))


@app.task(name="worker.plan_setup")
def plan_setup(operation_id: int) -> None:
    """Create the change sets of a setup and store their changes (nothing is executed)."""
    _run_or_mark_failed(operation_id, _plan)


@app.task(name="worker.apply_setup")
def apply_setup(operation_id: int) -> None:
    """Execute the reviewed plan: deploy accounts in parallel, then the build account."""
    _run_or_mark_failed(operation_id, _apply)


@app.task(name="worker.teardown_setup")
def teardown_setup(operation_id: int) -> None:
    """Delete the build stack (bucket emptied first), then the deploy stacks."""
    _run_or_mark_failed(operation_id, _teardown)


@app.task(name="worker.follow_stack")
def follow_stack(record_id: int, token: str = "") -> None:
    """Look at one stack once, store its new events, and re-queue itself or move the operation on.

    This is the polling loop; worker/README.md ("The polling loop, step by step") follows it
    through monitor, polling, cadence and orchestrate.
    """
    factory = db.session_factory()
    try:
        follow, settled_operation = monitor.follow(factory, record_id, token)
        follows = [follow] if follow else []
        if settled_operation is not None:
            follows += orchestrate.advance(factory, settled_operation)
    except Exception as err:
        with factory() as session:
            record = session.get(StackRecord, record_id)
            operation_id = record.operation_id if record else None
        if operation_id is not None:
            lifecycle.fail(factory, operation_id, f"following stack record {record_id}: {err}")
        raise
    dispatch(follows)


@app.task(name="worker.resume_operations")
def resume_operations() -> int:
    """Re-follow the stacks of running operations whose monitor lease ran out; return how many.

    A live monitor chain renews its lease at every step, so an expired lease means its worker
    died or its next message was lost; any worker may then take the stack over.
    """
    factory = db.session_factory()
    now = utcnow()
    with factory() as session:
        operation_ids = session.scalars(select(Operation.id).where(Operation.status.in_(ACTIVE))).all()
        orphans = session.scalars(select(StackRecord.id).join(Operation).where(
            Operation.status.in_(ACTIVE), StackRecord.phase.in_(FOLLOWED_PHASES),
            or_(StackRecord.lease_until.is_(None), StackRecord.lease_until < now),
        )).all()
    follows = [Follow(record_id, "", 0.0) for record_id in orphans]
    for operation_id in operation_ids:
        try:
            follows += orchestrate.advance(factory, operation_id)
        except Exception:  # one broken operation must not keep the others from resuming
            logger.exception("cannot resume operation %s", operation_id)
    if follows:
        logger.info("resuming %d stack(s) of %d running operation(s)", len(follows), len(operation_ids))
    dispatch(follows)
    outbox.resend_stale(factory, send_task, now, timedelta(seconds=settings.pending_resend_seconds()))
    return len(follows)


def send_task(name: str, operation_id: int) -> None:
    app.send_task(name, args=[operation_id])
