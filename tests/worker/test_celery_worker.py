"""Real ``celery -A worker.celery_app worker`` processes over the local Redis.

The worker runs as a subprocess against the in-process emulator (over HTTP) and a SQLite file
shared with the test; tasks are sent by name, as the portal sends them.
"""
from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from core.models import Operation, OperationKind, OperationStatus, StackEvent, StackRecord
from tests.waiting import wait_for
from tests.worker.celery_helpers import SHARED_REDIS, RedisServer, WorkerProcess, sender
from tests.worker.conftest import BUILD, PRODUCTION, STAGING, account_client, control

pytestmark = pytest.mark.slow
APP = "orders-api"


def status_of(factory: Any, operation_id: int) -> str:
    with factory() as session:
        return session.scalar(select(Operation.status).where(Operation.id == operation_id))


def wait_finished(factory: Any, operation_id: int, timeout: float = 60) -> Operation:
    wait_for(lambda: OperationStatus(status_of(factory, operation_id)).is_terminal, timeout,
             f"operation {operation_id} to finish")
    with factory() as session:
        operation = session.get(Operation, operation_id)
        operation.stacks  # noqa: B018 - load before the session closes
        return operation


def send(broker: str, task: str, operation_id: int) -> None:
    sender(broker).send_task(task, args=[operation_id])


def plan_through(broker: str, factory: Any, make_operation: Any, setup_id: int) -> int:
    plan_id = make_operation(setup_id, OperationKind.PLAN)
    send(broker, "worker.plan_setup", plan_id)
    plan = wait_finished(factory, plan_id)
    assert plan.status == OperationStatus.SUCCEEDED.value, plan.error
    return plan_id


def assert_each_stack_once_with_every_event(factory: Any, operation_id: int) -> None:
    """No stack was created twice, and the stored events are exactly CloudFormation's, each once."""
    with factory() as session:
        records = session.scalars(select(StackRecord).where(StackRecord.operation_id == operation_id)).all()
        assert len(records) == 3
        for record in records:
            cfn = account_client("cloudformation", record.account_id)
            summaries = [s for s in cfn.list_stacks()["StackSummaries"] if s["StackName"] == record.stack_name]
            assert len(summaries) == 1, summaries
            events = cfn.describe_stack_events(StackName=record.stack_id)["StackEvents"]
            starts = [e for e in events if e["LogicalResourceId"] == record.stack_name
                      and e["ResourceStatus"] == "CREATE_IN_PROGRESS"]
            assert len(starts) == 1
            stored = session.scalars(select(StackEvent.event_id).where(StackEvent.stack_record_id == record.id)).all()
            assert sorted(stored) == sorted(e["EventId"] for e in events)
            assert session.scalar(select(func.count(func.distinct(StackEvent.event_id)))
                                  .where(StackEvent.stack_record_id == record.id)) == len(stored)


def test_worker_plans_and_applies_tasks_sent_by_name(worker_env, tmp_path, worker_db, make_setup, make_operation):
    worker = WorkerProcess(tmp_path / "worker.log", worker_env)
    try:
        setup_id = make_setup(name=APP)
        plan_id = plan_through(SHARED_REDIS, worker_db, make_operation, setup_id)
        apply_id = make_operation(setup_id, OperationKind.APPLY, plan_id=plan_id)
        send(SHARED_REDIS, "worker.apply_setup", apply_id)

        applied = wait_finished(worker_db, apply_id)
    finally:
        worker.stop()

    assert applied.status == OperationStatus.SUCCEEDED.value, applied.error + worker.output()[-3000:]
    assert applied.detail["outputs"]["PipelineName"] == f"{APP}-pipeline"
    assert_each_stack_once_with_every_event(worker_db, apply_id)


def test_killed_worker_is_replaced_and_the_apply_completes_once(worker_env, tmp_path, worker_db, make_setup,
                                                                 make_operation, aws_env):
    setup_id = make_setup(name=APP)
    first = WorkerProcess(tmp_path / "first.log", worker_env)
    try:
        plan_id = plan_through(SHARED_REDIS, worker_db, make_operation, setup_id)
        control(aws_env, "pace", {"seconds": 0.15})
        apply_id = make_operation(setup_id, OperationKind.APPLY, plan_id=plan_id)
        send(SHARED_REDIS, "worker.apply_setup", apply_id)

        def build_stack_running() -> bool:
            with worker_db() as session:
                return session.scalar(select(func.count()).select_from(StackEvent).join(StackRecord).where(
                    StackRecord.operation_id == apply_id, StackRecord.account_id == BUILD)) >= 4

        wait_for(build_stack_running, 90, "the build stack to be half way")  # the deploy stacks come first
    finally:
        first.kill()
    assert status_of(worker_db, apply_id) == OperationStatus.RUNNING.value

    second = WorkerProcess(tmp_path / "second.log", worker_env)
    try:
        applied = wait_finished(worker_db, apply_id)
    finally:
        second.stop()

    assert applied.status == OperationStatus.SUCCEEDED.value, applied.error + second.output()[-3000:]
    assert "resuming" in second.output()
    assert_each_stack_once_with_every_event(worker_db, apply_id)


def test_apply_survives_a_redis_restart(worker_env, tmp_path, worker_db, make_setup, make_operation, aws_env):
    """A private Redis is stopped mid-apply and comes back empty (no persistence).

    celery 5.7 / kombu exit the worker on that ("Unrecoverable error: AttributeError: 'NoneType'
    object has no attribute 'hostname'" while restoring unacknowledged messages to a Redis that is
    gone), so, as a process supervisor would (docker restart policy, systemd Restart=), the test
    starts a worker again whenever none is running. The apply must complete either way.
    """
    import time

    redis_server = RedisServer(tmp_path)
    redis_server.start()
    env = {**worker_env, "CELERY_BROKER_URL": redis_server.url}
    workers = [WorkerProcess(tmp_path / "worker-0.log", env)]
    try:
        setup_id = make_setup(name=APP)
        plan_id = plan_through(redis_server.url, worker_db, make_operation, setup_id)
        control(aws_env, "pace", {"seconds": 0.15})
        apply_id = make_operation(setup_id, OperationKind.APPLY, plan_id=plan_id)
        send(redis_server.url, "worker.apply_setup", apply_id)

        def deploy_stacks_running() -> bool:
            with worker_db() as session:
                return session.scalar(select(func.count()).select_from(StackEvent).join(StackRecord).where(
                    StackRecord.operation_id == apply_id, StackRecord.account_id.in_([STAGING, PRODUCTION]))) >= 3

        wait_for(deploy_stacks_running, 30, "the deploy stacks to run")
        redis_server.stop()  # every queued and unacknowledged message is lost with it
        time.sleep(2)  # not a wait for anything: the outage lasts a while, as a real one does
        redis_server.start()

        def finished_with_a_supervisor() -> bool:
            if workers[-1].proc.poll() is not None:
                workers.append(WorkerProcess(tmp_path / f"worker-{len(workers)}.log", env))
            return OperationStatus(status_of(worker_db, apply_id)).is_terminal

        wait_for(finished_with_a_supervisor, 90, f"operation {apply_id} to finish", interval=0.5)
        applied = wait_finished(worker_db, apply_id)
    finally:
        for worker in workers:
            worker.stop()
        redis_server.stop()

    assert applied.status == OperationStatus.SUCCEEDED.value, applied.error + workers[-1].output()[-3000:]
    assert_each_stack_once_with_every_event(worker_db, apply_id)
