"""Self-launched accounts: the plan needs no access there; the apply waits for the admin's stack.

The account's admin is played by the test: it runs the exact ``aws cloudformation deploy`` command
the plan printed, with that account's admin role (the demo's OrganizationAccountAccessRole). The
worker reaches the account only through the observer role that stack creates, trusting the
worker's own identity; the emulator's STS checks that trust strictly.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.models import OperationKind, OperationStatus, Setup, StackEvent
from tests.worker import admin_launch
from tests.worker.conftest import (
    BUILD, DEFAULT_ACCOUNT, PRODUCTION, REGION, STAGING, account_client, assume_role_access, by_stack, control,
)
from tests.waiting import wait_for
from worker import self_launch, tasks

APP = "orders-api"
DEPLOY_STACK = f"{APP}-deploy-dependencies"
WORKER_IDENTITY = f"arn:aws:iam::{DEFAULT_ACCOUNT}:user/moto"  # moto's default user: the worker's credentials


def observer(account: str) -> str:
    return f"arn:aws:iam::{account}:role/{APP}-portal-observer-role"


def self_launched(*accounts: str) -> dict:
    access = assume_role_access(BUILD, STAGING, PRODUCTION)
    access.update({account: {"method": "self_launch"} for account in accounts})
    return access


def start_apply(setup_id, run_plan, make_operation, driver):
    plan = run_plan(setup_id)
    assert plan.status == OperationStatus.SUCCEEDED.value, plan.error
    apply_id = make_operation(setup_id, OperationKind.APPLY, plan_id=plan.id)
    tasks.apply_setup(apply_id)
    return plan, apply_id


def waiting_on(*accounts: str):
    def check(operation) -> bool:
        records = by_stack(operation)
        return operation.status == OperationStatus.WAITING.value and all(
            records[f"{a}/{DEPLOY_STACK}"].phase == "waiting" and records[f"{a}/{DEPLOY_STACK}"].detail.get("marker_taken")
            is not None for a in accounts)
    return check


def test_plan_needs_no_access_to_self_launched_accounts(aws_env, make_setup, run_plan):
    plan = run_plan(make_setup(name=APP, access=self_launched(STAGING, PRODUCTION)))

    assert plan.status == OperationStatus.SUCCEEDED.value, plan.error
    for account in (STAGING, PRODUCTION):
        record = by_stack(plan)[f"{account}/{DEPLOY_STACK}"]
        assert record.action == "self_launch"
        assert record.parameters["PortalPrincipalArn"] == WORKER_IDENTITY
        assert f"PortalPrincipalArn={WORKER_IDENTITY}" in record.detail["cli_command"]
        assert {"action": "Add", "logical_id": "PortalObserverRole", "physical_id": "", "type": "AWS::IAM::Role",
                "replacement": ""} in record.changes
        assert f"watching it through {observer(account)}, which its deploy stack creates" in record.detail["waits_for"]
        assert account_client("cloudformation", account).list_stacks()["StackSummaries"] == []


def test_apply_waits_for_the_admins_stacks_then_deploys_the_pipeline(
        aws_env, make_setup, run_plan, make_operation, driver, worker_db, tmp_path):
    setup_id = make_setup(name=APP, access=self_launched(STAGING, PRODUCTION))
    _, apply_id = start_apply(setup_id, run_plan, make_operation, driver)

    waiting = driver.run(apply_id, until=waiting_on(STAGING, PRODUCTION))
    staging = by_stack(waiting)[f"{STAGING}/{DEPLOY_STACK}"]
    assert f"cannot assume {observer(STAGING)} (the stack creates it)" in staging.status_reason
    assert by_stack(waiting)[f"{BUILD}/{APP}-pipeline"].phase == "pending"

    # Each admin runs the command the portal printed, in their own account.
    admins = [admin_launch.launch(waiting.detail["self_launch"][f"{account}/{DEPLOY_STACK}"]["cli_command"],
                                  aws_env, account, REGION, tmp_path) for account in (STAGING, PRODUCTION)]
    try:
        applied = driver.run(apply_id, timeout=120)
    finally:
        printed = [admin_launch.finish(admin) for admin in admins]

    assert applied.status == OperationStatus.SUCCEEDED.value, (applied.error, printed)
    records = by_stack(applied)
    for account in (STAGING, PRODUCTION):
        record = records[f"{account}/{DEPLOY_STACK}"]
        assert record.stack_status == "CREATE_COMPLETE"
        assert record.outputs["DeployRoleArn"] == f"arn:aws:iam::{account}:role/{APP}-deploy-role"
        assert record.outputs["ObserverRoleArn"] == observer(account)
    assert records[f"{BUILD}/{APP}-pipeline"].stack_status == "CREATE_COMPLETE"
    assert applied.detail["pipeline_name"] == f"{APP}-pipeline"
    with worker_db() as session:
        stored = session.scalars(select(StackEvent.logical_id).where(
            StackEvent.stack_record_id == records[f"{STAGING}/{DEPLOY_STACK}"].id)).all()
    assert {"PortalObserverRole", "DeployRole", DEPLOY_STACK} <= set(stored)


def launch_and_apply(setup_id, account, run_plan, make_operation, driver, endpoint, home, fails=None):
    """Plan, apply, and have the account's admin run the printed command; return the apply once ``fails``
    holds for its record (a failed launch), else once it finished."""
    _, apply_id = start_apply(setup_id, run_plan, make_operation, driver)
    waiting = driver.run(apply_id, until=waiting_on(account))
    admin = admin_launch.launch(waiting.detail["self_launch"][f"{account}/{DEPLOY_STACK}"]["cli_command"],
                                endpoint, account, REGION, home)
    until = (lambda op: fails(by_stack(op)[f"{account}/{DEPLOY_STACK}"])) if fails else None
    try:
        return apply_id, driver.run(apply_id, timeout=120, until=until)
    finally:
        admin_launch.finish(admin)


def launched_then_moved_with_a_failing_update(aws_env, make_setup, run_plan, make_operation, driver, worker_db,
                                              tmp_path) -> int:
    """A setup whose staging admin launched the deploy stack, then its pipeline moved to the production account
    (the staging admin must update the stack), with that update's DeployRole set to fail once; its id."""
    setup_id = make_setup(name=APP, access=self_launched(STAGING))
    _, first = launch_and_apply(setup_id, STAGING, run_plan, make_operation, driver, aws_env, tmp_path)
    assert first.status == OperationStatus.SUCCEEDED.value, first.error
    with worker_db() as session:
        session.get(Setup, setup_id).build_account_id = PRODUCTION
        session.commit()
    control(aws_env, "failures", {"type": "resource", "logical_id": "DeployRole", "stack_name": DEPLOY_STACK,
                                  "account_id": STAGING, "operation": "UPDATE", "count": 1,
                                  "reason": "Role trust policy quota exceeded"})
    return setup_id


def test_a_failed_launch_keeps_waiting_with_its_root_cause_until_the_admin_runs_it_again(
        aws_env, make_setup, run_plan, make_operation, driver, worker_db, tmp_path):
    setup_id = launched_then_moved_with_a_failing_update(aws_env, make_setup, run_plan, make_operation, driver,
                                                         worker_db, tmp_path)

    apply_id, failed = launch_and_apply(setup_id, STAGING, run_plan, make_operation, driver, aws_env, tmp_path,
                                        fails=lambda record: "failed" in (record.status_reason or ""))

    record = by_stack(failed)[f"{STAGING}/{DEPLOY_STACK}"]
    assert failed.status == OperationStatus.WAITING.value and record.phase == "waiting", failed.error
    assert record.stack_status == "UPDATE_ROLLBACK_COMPLETE"
    assert ("failed (UPDATE_ROLLBACK_COMPLETE): DeployRole (AWS::IAM::Role) UPDATE_FAILED: "
            "Role trust policy quota exceeded") in record.status_reason
    assert "the admin fixes the cause and runs the same command again; the portal keeps waiting" in record.status_reason
    assert record.detail["launch_failure"]["resource"] == "DeployRole"

    # The admin runs the same command again (the cause is gone): the apply carries on by itself.
    admin = admin_launch.launch(failed.detail["self_launch"][f"{STAGING}/{DEPLOY_STACK}"]["cli_command"],
                                aws_env, STAGING, REGION, tmp_path)
    try:
        applied = driver.run(apply_id, timeout=120)
    finally:
        admin_launch.finish(admin)
    assert applied.status == OperationStatus.SUCCEEDED.value, applied.error
    records = by_stack(applied)
    assert records[f"{STAGING}/{DEPLOY_STACK}"].stack_status == "UPDATE_COMPLETE"
    assert records[f"{PRODUCTION}/{APP}-pipeline"].stack_status == "CREATE_COMPLETE"


def test_an_update_that_starts_between_the_status_and_the_events_is_not_taken_for_done(
        aws_env, make_setup, run_plan, make_operation, driver, worker_db, tmp_path, monkeypatch):
    # The race CloudFormation allows and the emulator cannot time: the worker reads the stack's status,
    # the admin's update runs (and fails) before it reads the events. Monkeypatched in that one gap:
    # the stale CREATE_COMPLETE beside new events must not settle the record.
    setup_id = launched_then_moved_with_a_failing_update(aws_env, make_setup, run_plan, make_operation, driver,
                                                         worker_db, tmp_path)
    _, apply_id = start_apply(setup_id, run_plan, make_operation, driver)
    waiting = driver.run(apply_id, until=waiting_on(STAGING))
    command = waiting.detail["self_launch"][f"{STAGING}/{DEPLOY_STACK}"]["cli_command"]
    staging_cfn = account_client("cloudformation", STAGING)
    real_describe = self_launch.Deployer.describe_stack
    raced = []

    def describe_then_admin_updates(self, stack):
        found = real_describe(self, stack)
        if not raced and found is not None and found.status == "CREATE_COMPLETE":
            raced.append(found.status)
            admin = admin_launch.launch(command, aws_env, STAGING, REGION, tmp_path)
            try:
                wait_for(lambda: staging_cfn.describe_stacks(StackName=DEPLOY_STACK)["Stacks"][0]["StackStatus"]
                         == "UPDATE_ROLLBACK_COMPLETE", 60, "the admin's update to end", interval=0.2)
            finally:
                admin_launch.finish(admin)
        return found

    monkeypatch.setattr(self_launch.Deployer, "describe_stack", describe_then_admin_updates)
    failed = driver.run(apply_id, timeout=60,
                        until=lambda op: "failed" in (by_stack(op)[f"{STAGING}/{DEPLOY_STACK}"].status_reason or ""))

    record = by_stack(failed)[f"{STAGING}/{DEPLOY_STACK}"]
    assert raced == ["CREATE_COMPLETE"]
    assert failed.status == OperationStatus.WAITING.value and record.phase == "waiting", record.status_reason
    assert record.stack_status == "UPDATE_ROLLBACK_COMPLETE"
    assert "DeployRole (AWS::IAM::Role) UPDATE_FAILED: Role trust policy quota exceeded" in record.status_reason


def test_a_build_stack_alone_in_a_self_launched_account_fails_the_plan_clearly(aws_env, make_setup, run_plan):
    plan = run_plan(make_setup(name=APP, access=self_launched(BUILD)))

    record = by_stack(plan)[f"{BUILD}/{APP}-pipeline"]
    assert plan.status == OperationStatus.FAILED.value
    assert record.phase == "failed"
    assert f"account {BUILD} holds only {APP}-pipeline, and only the deploy stack creates the observer role" \
        in record.status_reason
    assert f"let the portal assume a role in account {BUILD}" in plan.error


@pytest.mark.parametrize("shared", [STAGING])
def test_a_build_stack_beside_a_deploy_stack_is_watched_through_its_observer_role(
        aws_env, make_setup, run_plan, shared):
    access = {shared: {"method": "self_launch"}}
    plan = run_plan(make_setup(name=APP, build_account_id=shared, staging_account_id=shared,
                               production_account_id=shared, access=access))

    assert plan.status == OperationStatus.SUCCEEDED.value, plan.error
    assert f"through {observer(shared)}" in by_stack(plan)[f"{shared}/{APP}-pipeline"].detail["waits_for"]


def test_teardown_after_a_region_change_still_sees_the_admins_stack_through_its_observer_role(
        aws_env, make_setup, run_plan, make_operation, driver, worker_db, tmp_path):
    setup_id = make_setup(name=APP, access=self_launched(STAGING))
    _, applied = launch_and_apply(setup_id, STAGING, run_plan, make_operation, driver, aws_env, tmp_path)
    assert applied.status == OperationStatus.SUCCEEDED.value, applied.error
    with worker_db() as session:
        session.get(Setup, setup_id).region = "us-west-2"
        session.commit()

    teardown_id = make_operation(setup_id, OperationKind.TEARDOWN)
    tasks.teardown_setup(teardown_id)
    done = driver.run(teardown_id)

    # The old region's stack is read through the observer role, so the record tells the admin where it
    # is instead of claiming there is no way into the account.
    record = by_stack(done)[f"{STAGING}/{DEPLOY_STACK}"]
    assert record.stack_status == "CREATE_COMPLETE"
    assert record.detail["unreachable_reason"] == f"it is in region {REGION}, and the setup is in us-west-2 now"
