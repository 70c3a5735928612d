"""Recovery without a broker: leases, lost follow-ups, and the resume task."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from core.models import OperationKind, OperationStatus, StackRecord, utcnow
from tests.waiting import wait_for
from tests.worker.conftest import account_client, control
from worker import lifecycle, tasks


@pytest.fixture
def short_lease(monkeypatch):
    # worker/settings.py reads it at every lease, in lifecycle and monitor alike.
    monkeypatch.setenv("PORTAL_LEASE_GRACE_SECONDS", "0.2")


@pytest.mark.both_databases
def test_only_one_holder_of_a_stack_lease(worker_db, make_setup, make_operation):
    operation_id = make_operation(make_setup(), OperationKind.APPLY)
    with worker_db() as session:
        record = StackRecord(operation_id=operation_id, role="deploy", account_id="1" * 12, region="us-east-1",
                             stack_name="s")
        session.add(record)
        session.commit()
        first = lifecycle.claim_lease(session, record.id, "", timedelta(seconds=5))
        session.commit()
        assert first is not None
        assert lifecycle.claim_lease(session, record.id, "", timedelta(seconds=5)) is None  # another chain
        assert lifecycle.claim_lease(session, record.id, "stale-token", timedelta(seconds=5)) is None
        second = lifecycle.claim_lease(session, record.id, first, timedelta(seconds=5))  # the holder renews
        assert second not in (None, first)
        session.execute(update(StackRecord).where(StackRecord.id == record.id)
                        .values(lease_until=utcnow() - timedelta(seconds=1)))
        assert lifecycle.claim_lease(session, record.id, "", timedelta(seconds=5)) is not None  # expired: taken over


def test_apply_whose_follow_ups_were_lost_is_resumed(aws_env, make_setup, run_plan, make_operation, driver,
                                                      worker_db, short_lease):
    setup_id = make_setup(name="orders-api")
    plan = run_plan(setup_id)
    control(aws_env, "pace", {"seconds": 0.05})
    apply_id = make_operation(setup_id, OperationKind.APPLY, plan_id=plan.id)
    tasks.apply_setup(apply_id)
    driver.run(apply_id, until=lambda op: any(r.events for r in op.stacks))

    driver.queue.clear()  # the worker died with every scheduled follow-up

    def leases_ran_out() -> bool:
        with worker_db() as session:
            return not session.scalar(select(func.count()).select_from(StackRecord).where(
                StackRecord.operation_id == apply_id, StackRecord.lease_until >= utcnow()))

    wait_for(leases_ran_out, 10, "the dead chains' leases to run out")
    assert tasks.resume_operations() >= 1
    applied = driver.run(apply_id)

    assert applied.status == OperationStatus.SUCCEEDED.value, applied.error
    for record in applied.stacks:
        events = account_client("cloudformation", record.account_id).describe_stack_events(
            StackName=record.stack_id)["StackEvents"]
        assert sorted(e.event_id for e in record.events) == sorted(e["EventId"] for e in events)


def test_resume_leaves_stacks_with_a_live_lease_alone(aws_env, make_setup, run_plan, make_operation, driver, worker_db):
    setup_id = make_setup(name="orders-api")
    plan = run_plan(setup_id)
    apply_id = make_operation(setup_id, OperationKind.APPLY, plan_id=plan.id)
    tasks.apply_setup(apply_id)

    assert tasks.resume_operations() == 0  # the apply's own chains hold fresh leases
    assert driver.run(apply_id).status == OperationStatus.SUCCEEDED.value


def test_stale_follow_up_does_nothing(aws_env, make_setup, run_plan, make_operation, driver, worker_db, cfn_calls):
    setup_id = make_setup(name="orders-api")
    plan = run_plan(setup_id)
    apply_id = make_operation(setup_id, OperationKind.APPLY, plan_id=plan.id)
    tasks.apply_setup(apply_id)
    record_id = driver.queue[0][2].record_id
    cfn_calls.reset()

    tasks.follow_stack(record_id, "token-of-a-dead-chain")

    assert cfn_calls.calls == []
    assert driver.run(apply_id).status == OperationStatus.SUCCEEDED.value


def test_failing_follow_up_marks_the_operation_failed_and_reraises(aws_env, make_setup, run_plan, make_operation,
                                                                    driver, worker_db, monkeypatch):
    setup_id = make_setup(name="orders-api")
    plan = run_plan(setup_id)
    apply_id = make_operation(setup_id, OperationKind.APPLY, plan_id=plan.id)
    tasks.apply_setup(apply_id)
    follow = driver.queue[0][2]

    import worker.monitor

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(worker.monitor, "step", broken)
    with pytest.raises(RuntimeError, match="database went away"):
        tasks.follow_stack(follow.record_id, follow.token)

    failed = driver.operation(apply_id)
    assert failed.status == OperationStatus.FAILED.value
    assert failed.error == f"following stack record {follow.record_id}: database went away"


def test_events_are_stored_while_the_stack_runs(aws_env, make_setup, run_plan, make_operation, driver, worker_db):
    setup_id = make_setup(name="orders-api")
    plan = run_plan(setup_id)
    control(aws_env, "pace", {"seconds": 0.1})
    apply_id = make_operation(setup_id, OperationKind.APPLY, plan_id=plan.id)
    tasks.apply_setup(apply_id)

    running = driver.run(apply_id, until=lambda op: any(
        len(r.events) >= 3 and r.stack_status == "CREATE_IN_PROGRESS" for r in op.stacks))

    assert running.status == OperationStatus.RUNNING.value
    live = next(r for r in running.stacks if len(r.events) >= 3 and r.stack_status == "CREATE_IN_PROGRESS")
    assert [e.status for e in live.events if e.logical_id == live.stack_name][-1] == "CREATE_IN_PROGRESS"
