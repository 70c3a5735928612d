"""An operation concludes only from its stacks' recorded outcomes; a pending one whose task was lost is re-sent."""
from __future__ import annotations

from datetime import timedelta

from core.models import Operation, OperationKind, OperationStatus, utcnow
from worker import outbox, plan, tasks
from worker.lifecycle import set_status


def test_a_sweep_during_the_plans_start_step_does_not_conclude_it(aws_env, make_setup, make_operation, driver,
                                                                  monkeypatch):
    # The reported race: the periodic sweep ran while the plan task was creating its change sets,
    # saw an operation with no stack records, and called it succeeded. Run the sweep at exactly
    # that moment: after the plan is running, before its records are committed.
    setup_id = make_setup(name="orders-api")
    plan_id = make_operation(setup_id, OperationKind.PLAN)
    real_start = plan.start_plan
    seen: list[str] = []

    def start_with_a_sweep(session, operation, setup, aws):
        tasks.resume_operations()
        seen.append(driver.operation(plan_id).status)
        return real_start(session, operation, setup, aws)

    monkeypatch.setattr(plan, "start_plan", start_with_a_sweep)
    tasks.plan_setup(plan_id)
    done = driver.run(plan_id)

    assert seen == [OperationStatus.RUNNING.value]
    assert done.status == OperationStatus.SUCCEEDED.value, done.error
    assert done.stacks_expected == len(done.stacks) == 3
    assert all(r.change_set_status == "CREATE_COMPLETE" and r.changes for r in done.stacks)


def test_a_pending_operation_is_re_sent_once_per_wait_and_a_started_one_never(worker_db, make_setup, make_operation):
    setup_id = make_setup(name="orders-api")
    lost = make_operation(setup_id, OperationKind.PLAN)
    started = make_operation(setup_id, OperationKind.APPLY)
    with worker_db() as session:
        session.get(Operation, started).status = OperationStatus.RUNNING.value
        session.commit()
    sent: list[tuple[str, int]] = []
    wait = timedelta(seconds=60)
    now = utcnow()

    assert outbox.resend_stale(worker_db, lambda *a: sent.append(a), now, wait) == []  # not stale yet
    later = now + timedelta(seconds=61)
    assert outbox.resend_stale(worker_db, lambda *a: sent.append(a), later, wait) == [lost]
    assert outbox.resend_stale(worker_db, lambda *a: sent.append(a), later + timedelta(seconds=5), wait) == []
    assert outbox.resend_stale(worker_db, lambda *a: sent.append(a), later + timedelta(seconds=62), wait) == [lost]
    assert sent == [("worker.plan_setup", lost), ("worker.plan_setup", lost)]


def test_a_re_sent_plan_runs_to_a_reviewable_plan(aws_env, make_setup, make_operation, driver, monkeypatch):
    # The portal committed the plan and died before sending its task: only the sweep can start it.
    setup_id = make_setup(name="orders-api")
    plan_id = make_operation(setup_id, OperationKind.PLAN)
    monkeypatch.setenv("PORTAL_PENDING_RESEND_SECONDS", "0")
    ran: list[int] = []

    def run_inline(name: str, operation_id: int) -> None:
        assert name == "worker.plan_setup"
        ran.append(operation_id)
        tasks.plan_setup(operation_id)

    monkeypatch.setattr(tasks, "send_task", run_inline)
    tasks.resume_operations()

    assert ran == [plan_id]
    assert driver.run(plan_id).status == OperationStatus.SUCCEEDED.value


def test_a_step_that_loaded_the_operation_before_an_operator_cancelled_it_leaves_it_cancelled(
        make_setup, make_operation, worker_db):
    # The worker's step read the operation as waiting; the operator's cancel committed meanwhile.
    # The step's status change must not bring the operation back to life.
    operation_id = make_operation(make_setup(), OperationKind.APPLY)
    with worker_db() as step, worker_db() as operator:
        loaded = step.get(Operation, operation_id)
        loaded.status = OperationStatus.WAITING.value
        step.commit()
        operator.get(Operation, operation_id).status = OperationStatus.CANCELLED.value
        operator.commit()

        set_status(step, loaded, OperationStatus.RUNNING)
        step.commit()

        assert loaded.status == OperationStatus.CANCELLED.value
    with worker_db() as session:
        assert session.get(Operation, operation_id).status == OperationStatus.CANCELLED.value


def test_a_live_operation_moves_between_waiting_and_running(make_setup, make_operation, worker_db):
    operation_id = make_operation(make_setup(), OperationKind.APPLY)
    with worker_db() as session:
        operation = session.get(Operation, operation_id)
        set_status(session, operation, OperationStatus.WAITING)
        session.commit()
        assert operation.status == OperationStatus.WAITING.value
        set_status(session, operation, OperationStatus.RUNNING)
        session.commit()
    with worker_db() as session:
        assert session.get(Operation, operation_id).status == OperationStatus.RUNNING.value
