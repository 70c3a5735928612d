"""Apply end to end on the real templates into three demo accounts of the emulator."""
from __future__ import annotations

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from core.models import Operation, OperationKind, OperationStatus, StackEvent
from tests.worker.conftest import BUILD, PRODUCTION, STAGING, account_client, by_stack, control
from tests.worker.helpers import change_setup
from worker import tasks

APP = "orders-api"
BUILD_STACK = f"{BUILD}/{APP}-pipeline"
STAGING_STACK = f"{STAGING}/{APP}-deploy-dependencies"
PRODUCTION_STACK = f"{PRODUCTION}/{APP}-deploy-dependencies"


def plan_and_apply(run_plan, run_apply, setup_id, timeout=60.0):
    plan = run_plan(setup_id)
    assert plan.status == OperationStatus.SUCCEEDED.value, plan.error
    return plan, run_apply(setup_id, plan.id, timeout=timeout)


@pytest.mark.both_databases
def test_apply_deploys_every_stack_and_reports_outputs(aws_env, make_setup, run_plan, run_apply):
    setup_id = make_setup(name=APP)
    control(aws_env, "pace", {"seconds": 0.02})

    _, applied = plan_and_apply(run_plan, run_apply, setup_id)

    assert applied.status == OperationStatus.SUCCEEDED.value, applied.error
    stacks = by_stack(applied)
    assert {k: r.stack_status for k, r in stacks.items()} == {
        STAGING_STACK: "CREATE_COMPLETE", PRODUCTION_STACK: "CREATE_COMPLETE", BUILD_STACK: "CREATE_COMPLETE"}
    outputs = applied.detail["outputs"]
    assert outputs["PipelineName"] == f"{APP}-pipeline"
    assert outputs["RepositoryCloneUrlHttp"] == f"{aws_env}/v1/repos/{outputs['RepositoryName']}"  # git served there
    # The emulator's git takes the HTTPS URL as it is: a codecommit:: remote would reach AWS's host instead.
    assert applied.detail["git_commands"] == [f"git remote add aws {outputs['RepositoryCloneUrlHttp']}", "git push aws main"]
    assert applied.detail["pipeline_console_url"] == outputs["PipelineConsoleUrl"]
    assert applied.detail["stacks"][BUILD_STACK]["console_url"].startswith(
        "https://us-east-1.console.aws.amazon.com/cloudformation/home?region=us-east-1#/stacks/stackinfo?stackId=arn")
    # Every stack's events were stored, ending with its completion.
    for record in stacks.values():
        assert record.events[-1].status == "CREATE_COMPLETE" and record.events[-1].logical_id == record.stack_name
    # The build stack started only after both deploy stacks completed.
    deploy_done = max(r.events[-1].timestamp for k, r in stacks.items() if k != BUILD_STACK)
    build_started = min(e.timestamp for e in stacks[BUILD_STACK].events if e.status == "CREATE_IN_PROGRESS")
    assert build_started >= deploy_done
    # The stacks carry the setup's and the portal's tags.
    tags = account_client("cloudformation", BUILD).describe_stacks(StackName=f"{APP}-pipeline")["Stacks"][0]["Tags"]
    assert {"Key": "team", "Value": "payments"} in tags and {"Key": "portal:setup-id", "Value": str(setup_id)} in tags


def test_replanning_an_unchanged_setup_finds_everything_up_to_date(aws_env, make_setup, run_plan, run_apply):
    setup_id = make_setup(name=APP)
    plan_and_apply(run_plan, run_apply, setup_id)

    again = run_plan(setup_id)
    applied = run_apply(setup_id, again.id)

    assert again.status == OperationStatus.SUCCEEDED.value, again.error
    assert {r.action for r in again.stacks} == {"unchanged"}
    assert all(r.changes == [] and r.change_set_name == r.change_set_id == "" for r in again.stacks)
    assert all(r.change_set_status == "FAILED" for r in again.stacks)  # CloudFormation's word for "no changes"
    # Nothing to apply: the worker refuses it as the portal does, and runs nothing.
    assert applied.status == OperationStatus.FAILED.value
    assert applied.error == f"plan {again.id} found every stack up to date: there is nothing to apply"
    assert applied.stacks == []


def test_changed_setup_plans_and_applies_only_the_differences(aws_env, make_setup, run_plan, run_apply, worker_db):
    setup_id = make_setup(name=APP)
    _, first = plan_and_apply(run_plan, run_apply, setup_id)
    change_setup(worker_db, setup_id, branch="release")

    plan = run_plan(setup_id)
    stacks = by_stack(plan)

    assert stacks[STAGING_STACK].action == stacks[PRODUCTION_STACK].action == "unchanged"
    build = stacks[BUILD_STACK]
    assert build.action == "update" and build.change_set_type == "UPDATE"
    assert build.changes and all(c["action"] == "Modify" for c in build.changes)
    assert len(build.changes) < len(by_stack(first)[BUILD_STACK].events)

    applied = run_apply(setup_id, plan.id)
    assert applied.status == OperationStatus.SUCCEEDED.value, applied.error
    record = by_stack(applied)[BUILD_STACK]
    assert record.stack_status == "UPDATE_COMPLETE"
    assert record.stack_id == by_stack(first)[BUILD_STACK].stack_id  # the same stack, updated
    assert record.events[0].status == "UPDATE_IN_PROGRESS"  # only this apply's events


def test_failed_resource_is_the_root_cause_and_the_stack_is_recreated_next_time(aws_env, make_setup, run_plan, run_apply):
    setup_id = make_setup(name=APP)
    control(aws_env, "failures", {"type": "resource", "logical_id": "BuildProject", "count": 1,
                                  "reason": "Project role cannot be assumed by CodeBuild"})

    _, failed = plan_and_apply(run_plan, run_apply, setup_id)

    assert failed.status == OperationStatus.FAILED.value
    assert failed.root_cause["resource"] == "BuildProject"
    assert failed.root_cause["type"] == "AWS::CodeBuild::Project"
    assert "Project role cannot be assumed by CodeBuild" in failed.root_cause["reason"]
    assert (failed.root_cause["stack"], failed.root_cause["account"]) == (f"{APP}-pipeline", BUILD)
    assert by_stack(failed)[BUILD_STACK].stack_status == "ROLLBACK_COMPLETE"
    assert "plan again to recreate it" in failed.error

    plan = run_plan(setup_id)
    build = by_stack(plan)[BUILD_STACK]
    assert build.action == "recreate" and "deletes it and creates it again" in build.status_reason
    assert {c["logical_id"] for c in build.changes} >= {"BuildProject", "Pipeline"}

    applied = run_apply(setup_id, plan.id)
    assert applied.status == OperationStatus.SUCCEEDED.value, applied.error
    record = by_stack(applied)[BUILD_STACK]
    assert record.stack_status == "CREATE_COMPLETE" and record.stack_id != by_stack(failed)[BUILD_STACK].stack_id
    statuses = [e.status for e in record.events if e.logical_id == record.stack_name]
    assert statuses.index("DELETE_COMPLETE") < statuses.index("CREATE_COMPLETE")


def test_rolled_back_update_is_shown_as_such_and_can_be_replanned(aws_env, make_setup, run_plan, run_apply, worker_db):
    setup_id = make_setup(name=APP)
    plan_and_apply(run_plan, run_apply, setup_id)
    change_setup(worker_db, setup_id, branch="release")
    control(aws_env, "failures", {"type": "resource", "logical_id": "Pipeline", "operation": "UPDATE", "count": 1,
                                  "reason": "Stage name is invalid"})

    _, failed = plan_and_apply(run_plan, run_apply, setup_id)

    record = by_stack(failed)[BUILD_STACK]
    assert failed.status == OperationStatus.FAILED.value
    assert record.stack_status == "UPDATE_ROLLBACK_COMPLETE"
    assert "rolled back" in record.status_reason
    assert failed.root_cause["resource"] == "Pipeline" and "Stage name is invalid" in failed.root_cause["reason"]

    replanned = run_plan(setup_id)
    assert by_stack(replanned)[BUILD_STACK].action == "update"
    assert run_apply(setup_id, replanned.id).status == OperationStatus.SUCCEEDED.value


def test_apply_refuses_a_plan_older_than_the_setup(aws_env, make_setup, run_plan, run_apply, worker_db):
    setup_id = make_setup(name=APP)
    plan = run_plan(setup_id)
    change_setup(worker_db, setup_id, approval_email="someone-else@example.com")

    applied = run_apply(setup_id, plan.id)

    assert applied.status == OperationStatus.FAILED.value
    assert f"setup {setup_id} changed since plan {plan.id}" in applied.error and "plan again" in applied.error
    assert applied.stacks == []


def test_apply_refuses_when_the_reviewed_change_set_is_gone(aws_env, make_setup, run_plan, run_apply):
    setup_id = make_setup(name=APP)
    plan = run_plan(setup_id)
    record = by_stack(plan)[PRODUCTION_STACK]
    account_client("cloudformation", PRODUCTION).delete_change_set(
        StackName=record.stack_name, ChangeSetName=record.change_set_name)

    applied = run_apply(setup_id, plan.id)

    assert applied.status == OperationStatus.FAILED.value
    assert f"change set {record.change_set_name}" in applied.error and "no longer exists" in applied.error
    # Nothing was executed anywhere.
    staging = account_client("cloudformation", STAGING)
    assert staging.describe_stacks(StackName=f"{APP}-deploy-dependencies")["Stacks"][0]["StackStatus"] == "REVIEW_IN_PROGRESS"


def test_applied_plan_cannot_be_applied_twice(aws_env, make_setup, run_plan, run_apply):
    setup_id = make_setup(name=APP)
    plan, _ = plan_and_apply(run_plan, run_apply, setup_id)

    again = run_apply(setup_id, plan.id)

    assert again.status == OperationStatus.FAILED.value and "applied already" in again.error


@pytest.mark.both_databases
def test_second_requested_apply_of_the_same_setup_is_refused_by_the_database(aws_env, make_setup, make_operation,
                                                                              run_plan, driver):
    setup_id = make_setup(name=APP)
    plan = run_plan(setup_id)
    first = make_operation(setup_id, OperationKind.APPLY, plan_id=plan.id)
    with pytest.raises(IntegrityError, match="(?i)unique"):
        make_operation(setup_id, OperationKind.APPLY, plan_id=plan.id)
    control(aws_env, "pace", {"seconds": 0.05})

    tasks.apply_setup(first)

    assert driver.run(first).status == OperationStatus.SUCCEEDED.value
    with driver.factory() as session:
        assert session.scalars(select(Operation.id).where(Operation.kind == "apply")).all() == [first]


@pytest.mark.both_databases
def test_database_refuses_two_unfinished_changes_or_plans_of_one_setup(worker_db, make_setup, make_operation):
    setup_id = make_setup()
    apply_id = make_operation(setup_id, OperationKind.APPLY)
    plan_id = make_operation(setup_id, OperationKind.PLAN)  # a plan beside an apply is fine
    for kind in (OperationKind.TEARDOWN, OperationKind.APPLY, OperationKind.PLAN):
        with pytest.raises(IntegrityError):
            make_operation(setup_id, kind)
    with worker_db() as session:
        session.execute(update(Operation).where(Operation.id.in_([apply_id, plan_id])).values(status="running"))
        session.commit()
    for kind in (OperationKind.TEARDOWN, OperationKind.PLAN):
        with pytest.raises(IntegrityError):
            make_operation(setup_id, kind)
    with worker_db() as session:
        session.execute(update(Operation).where(Operation.id.in_([apply_id, plan_id])).values(status="succeeded"))
        session.commit()
    assert make_operation(setup_id, OperationKind.TEARDOWN) > apply_id
    assert make_operation(setup_id, OperationKind.PLAN) > plan_id


def test_throttled_calls_still_complete(aws_env, make_setup, run_plan, run_apply):
    setup_id = make_setup(name=APP)
    control(aws_env, "throttle", {"fraction": 0.2})

    _, applied = plan_and_apply(run_plan, run_apply, setup_id, timeout=120)

    assert applied.status == OperationStatus.SUCCEEDED.value, applied.error
    assert control(aws_env, "throttle") == {"fraction": 0.2}


def test_self_launched_account_waits_for_its_admin(aws_env, make_setup, run_plan, make_operation, driver, worker_db):
    from tests.worker.conftest import BOOTSTRAP_ROLE, assume_role_access

    access = assume_role_access(BUILD, STAGING, PRODUCTION)
    access[STAGING] = {"method": "self_launch", "role_name": BOOTSTRAP_ROLE}
    setup_id = make_setup(name=APP, access=access)
    plan = run_plan(setup_id)
    apply_id = make_operation(setup_id, OperationKind.APPLY, plan_id=plan.id)

    tasks.apply_setup(apply_id)
    waiting = driver.run(apply_id, until=lambda op: by_stack(op)[PRODUCTION_STACK].phase == "done")

    assert waiting.status == OperationStatus.WAITING.value
    instructions = waiting.detail["self_launch"][STAGING_STACK]
    assert instructions["cli_command"].startswith("aws cloudformation deploy")
    # The admin launches the stack with exactly the parameters the portal printed.
    record = by_stack(waiting)[STAGING_STACK]
    from worker import templates

    admin = account_client("cloudformation", STAGING)
    admin.create_stack(StackName=record.stack_name, TemplateBody=templates.load(templates.DEPLOY_TEMPLATE).body,
                       Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in record.parameters.items()],
                       Capabilities=["CAPABILITY_NAMED_IAM"])

    applied = driver.run(apply_id, timeout=60)
    assert applied.status == OperationStatus.SUCCEEDED.value, applied.error
    assert by_stack(applied)[STAGING_STACK].outputs["DeployRoleArn"] == f"arn:aws:iam::{STAGING}:role/{APP}-deploy-role"
    assert by_stack(applied)[BUILD_STACK].stack_status == "CREATE_COMPLETE"
    with worker_db() as session:
        assert session.scalars(select(StackEvent).where(StackEvent.stack_record_id == record.id)).first() is not None
