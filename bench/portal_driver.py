"""Drive the worker the way the portal does: rows first, then the task by name, then wait.

Mirrors portal/setups/service.py and portal/deployments/service.py without importing the portal
(it needs a Flask app): a READY setup reaching the demo accounts through
OrganizationAccountAccessRole, a pending Operation committed with its task id, then
``send_task(name, args=[operation id], task_id=...)`` on the default queue.
"""
from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass

from celery import Celery
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.models import Operation, OperationKind, OperationStatus, Setup, SetupStatus

logger = logging.getLogger(__name__)

DEMO_ACCOUNTS = ("111111111111", "222222222222", "333333333333")
BOOTSTRAP_ROLE = "OrganizationAccountAccessRole"
REQUESTED_BY = "bench"
PLAN_SETUP = "worker.plan_setup"
APPLY_SETUP = "worker.apply_setup"


class DriveError(RuntimeError):
    """An operation did not finish, or finished otherwise than succeeded."""


@dataclass(frozen=True)
class Batch:
    """Operations sent together, and when the first was sent (epoch seconds)."""

    operation_ids: tuple[int, ...]
    sent_at: float
    finished_at: float


def sender(broker_url: str) -> Celery:
    app = Celery("bench-portal", broker=broker_url, set_as_current=False)
    app.conf.update(task_default_queue="celery", task_serializer="json", accept_content=["json"])
    return app


def create_single_account_setups(factory: sessionmaker[Session], prefix: str, count: int, region: str) -> list[int]:
    """``count`` READY setups, each with build = staging = production in one demo account.

    A single-account setup deploys one deploy-dependencies stack, then one build-pipeline
    stack, so ``count`` applies sent together put ``count`` stacks in flight in each wave. The
    setups take the three demo accounts in turn.
    """
    ids = []
    with factory() as session:
        for index in range(count):
            account = DEMO_ACCOUNTS[index % len(DEMO_ACCOUNTS)]
            setup = Setup(
                name=f"{prefix}-{index:02d}", build_account_id=account, staging_account_id=account,
                production_account_id=account, region=region, branch="main", approval_email="approver@example.com",
                tags={"purpose": "benchmark"}, access={account: {"method": "assume_role", "role_name": BOOTSTRAP_ROLE}},
                wizard_step="review", status=SetupStatus.READY.value,
            )
            session.add(setup)
            session.flush()
            ids.append(setup.id)
        session.commit()
    return ids


def _request(session: Session, client: Celery, setup_id: int, kind: OperationKind, task: str,
             plan_id: int | None = None) -> int:
    """Commit a pending operation, then send its task (as portal/deployments/service.py does)."""
    setup = session.get(Setup, setup_id)
    assert setup is not None
    task_id = str(uuid.uuid4())
    operation = Operation(setup_id=setup_id, kind=kind.value, status=OperationStatus.PENDING.value,
                          requested_by=REQUESTED_BY, plan_id=plan_id,
                          detail={"task_id": task_id, "setup_version": setup.version})
    session.add(operation)
    session.commit()
    client.send_task(task, args=[operation.id], task_id=task_id)
    return operation.id


def plan(factory: sessionmaker[Session], client: Celery, setup_ids: list[int], timeout: float) -> Batch:
    sent_at = time.time()
    with factory() as session:
        ids = [_request(session, client, s, OperationKind.PLAN, PLAN_SETUP) for s in setup_ids]
    return Batch(tuple(ids), sent_at, wait_all_succeeded(factory, ids, timeout))


def apply(factory: sessionmaker[Session], client: Celery, plans: dict[int, int], timeout: float) -> Batch:
    """Send an apply of each setup's plan (``{setup id: plan id}``), all at once; wait for them."""
    sent_at = time.time()
    with factory() as session:
        ids = [_request(session, client, s, OperationKind.APPLY, APPLY_SETUP, plan_id=p) for s, p in plans.items()]
    return Batch(tuple(ids), sent_at, wait_all_succeeded(factory, ids, timeout))


def wait_all_succeeded(factory: sessionmaker[Session], operation_ids: list[int], timeout: float) -> float:
    """Poll the statuses twice a second until every operation is terminal; return when.

    :raise DriveError: one failed or was cancelled, or they did not all finish in time
    """
    deadline = time.monotonic() + timeout
    while True:
        with factory() as session:
            rows = session.execute(select(Operation.id, Operation.status, Operation.error)
                                   .where(Operation.id.in_(operation_ids))).all()
        pending = [r for r in rows if not OperationStatus(r.status).is_terminal]
        if not pending:
            break
        if time.monotonic() > deadline:
            raise DriveError(f"{len(pending)} of {len(operation_ids)} operations still running after {timeout:.0f}s")
        time.sleep(0.5)
    finished = time.time()
    failed = [r for r in rows if r.status != OperationStatus.SUCCEEDED.value]
    if failed:
        raise DriveError("; ".join(f"operation {r.id} {r.status}: {r.error}" for r in failed[:5]))
    return finished


def plans_by_setup(factory: sessionmaker[Session], plan_ids: tuple[int, ...]) -> dict[int, int]:
    with factory() as session:
        return dict(session.execute(select(Operation.setup_id, Operation.id)
                                    .where(Operation.id.in_(plan_ids))).tuples().all())


def change_branch(factory: sessionmaker[Session], setup_ids: list[int], branch: str) -> None:
    """Edit the setups as the portal's settings page would: a new branch and a new tag (on every
    stack, so both stacks update), a new version."""
    with factory() as session:
        for setup_id in setup_ids:
            setup = session.get(Setup, setup_id)
            assert setup is not None
            setup.branch, setup.version = branch, setup.version + 1
            setup.tags = {**(setup.tags or {}), "release": branch}
        session.commit()


def wait_for_event_readers(factory: sessionmaker[Session], apply_ids: tuple[int, ...], timeout: float) -> None:
    """Wait until the worker has read each applied setup's event queue once (worker/event_flow.py)."""
    deadline = time.monotonic() + timeout
    while True:
        with factory() as session:
            details = session.scalars(select(Operation.detail).where(Operation.id.in_(apply_ids))).all()
        if all((d or {}).get("events", {}).get("answered_at") for d in details):
            return
        if time.monotonic() > deadline:
            raise DriveError("the worker did not read every setup's event queue in time")
        time.sleep(0.5)
