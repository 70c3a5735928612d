"""Following a stack: no event lost at its end, only the CloudFormation calls it needs, stale change
sets refused by ExecuteChangeSet itself. Single-account setups, as the benchmark runs them."""
from __future__ import annotations

from collections import Counter

import pytest

from core.models import OperationStatus, Setup
from tests.worker.conftest import BUILD, account_client, assume_role_access, by_stack, control
from tests.worker.helpers import wait_for_stack
from worker import polling
from worker.deployer import Deployer

APP = "lone-api"
DEPLOY_STACK = f"{BUILD}/{APP}-deploy-dependencies"
BUILD_STACK = f"{BUILD}/{APP}-pipeline"


@pytest.fixture
def lone_setup(make_setup):
    """A setup whose build, staging and production account are one account: one deploy stack."""
    def make(**fields):
        return make_setup(name=APP, build_account_id=BUILD, staging_account_id=BUILD, production_account_id=BUILD,
                          access=assume_role_access(BUILD), **fields)

    return make


def calls_by_stack(cfn_calls):
    """{(action, stack name): count} of the CloudFormation calls made (stack ids reduced to names)."""
    counted = Counter()
    for _, action, stack in cfn_calls.calls:
        name = stack.split(":stack/")[1].split("/")[0] if ":stack/" in stack else stack
        counted[(action, name)] += 1
    return counted


def assert_every_event_stored(*records):
    for record in records:
        events = account_client("cloudformation", record.account_id).describe_stack_events(
            StackName=record.stack_id)["StackEvents"]
        assert sorted(e.event_id for e in record.events) == sorted(e["EventId"] for e in events), record.stack_name


def test_stack_found_settled_by_the_safety_check_keeps_its_final_events(aws_env, lone_setup, run_plan, run_apply,
                                                                       monkeypatch):
    setup_id = lone_setup()
    plan = run_plan(setup_id)
    control(aws_env, "pace", {"seconds": 0.1})
    admin = account_client("cloudformation", BUILD)
    describe = Deployer.describe_stack
    caught_in_the_act: list[str] = []

    def describe_after_it_ended(self, stack):
        # The race, made certain: the poll's events said "running", and by the time its
        # DescribeStacks answers, the stack has ended (its final events exist, unread).
        if admin.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"].endswith("_IN_PROGRESS"):
            wait_for_stack(admin, stack)
            caught_in_the_act.append(stack)
        return describe(self, stack)

    monkeypatch.setattr(polling, "SAFETY_CHECK_EVERY", 1)  # every poll asks DescribeStacks too
    monkeypatch.setattr(Deployer, "describe_stack", describe_after_it_ended)
    applied = run_apply(setup_id, plan.id)

    assert applied.status == OperationStatus.SUCCEEDED.value, applied.error
    assert len(caught_in_the_act) == 2  # each stack settled between its poll's two calls
    assert_every_event_stored(*applied.stacks)
    for record in applied.stacks:
        assert (record.events[-1].logical_id, record.events[-1].status) == (record.stack_name, "CREATE_COMPLETE")
        assert record.outputs  # read by that DescribeStacks, not by another one


def test_apply_makes_only_the_calls_each_stack_needs(aws_env, lone_setup, run_plan, run_apply, cfn_calls):
    setup_id = lone_setup()
    plan = run_plan(setup_id)
    cfn_calls.reset()

    applied = run_apply(setup_id, plan.id)

    assert applied.status == OperationStatus.SUCCEEDED.value, applied.error
    calls = calls_by_stack(cfn_calls)
    deploy, build = f"{APP}-deploy-dependencies", f"{APP}-pipeline"
    # The deploy stack's ExecuteChangeSet is the apply's first write: no check before it. The
    # build stack's change set is checked before anything runs.
    assert calls[("DescribeChangeSet", deploy)] == 0 and calls[("DescribeChangeSet", build)] == 1
    for stack in (deploy, build):
        assert calls[("ExecuteChangeSet", stack)] == 1
        assert calls[("DescribeStacks", stack)] == 1  # the outputs, once, at the end
        assert calls[("DescribeStackEvents", stack)] >= 1
    records = by_stack(applied)
    assert records[DEPLOY_STACK].detail["calls"] == sum(n for (_, s), n in calls.items() if s == deploy)
    assert records[BUILD_STACK].detail["calls"] == sum(n for (_, s), n in calls.items() if s == build)


def test_failed_stack_settles_from_its_events_without_describing_it(aws_env, lone_setup, run_plan, run_apply,
                                                                      cfn_calls):
    setup_id = lone_setup()
    plan = run_plan(setup_id)
    control(aws_env, "failures", {"type": "resource", "logical_id": "DeployRole", "count": 1, "reason": "quota"})
    cfn_calls.reset()

    failed = run_apply(setup_id, plan.id)

    record = by_stack(failed)[DEPLOY_STACK]
    assert failed.status == OperationStatus.FAILED.value
    assert record.stack_status == "ROLLBACK_COMPLETE" and "plan again to recreate it" in record.status_reason
    assert calls_by_stack(cfn_calls)[("DescribeStacks", f"{APP}-deploy-dependencies")] == 0
    assert_every_event_stored(record)


def test_deleted_change_set_of_the_first_stack_fails_the_apply_before_anything_runs(aws_env, lone_setup, run_plan,
                                                                                     run_apply):
    setup_id = lone_setup()
    plan = run_plan(setup_id)
    record = by_stack(plan)[DEPLOY_STACK]
    admin = account_client("cloudformation", BUILD)
    admin.delete_change_set(StackName=record.stack_name, ChangeSetName=record.change_set_name)

    applied = run_apply(setup_id, plan.id)

    assert applied.status == OperationStatus.FAILED.value
    assert f"change set {record.change_set_name} of stack {record.stack_name}" in applied.error
    assert "no longer exists" in applied.error and "plan again" in applied.error
    assert by_stack(applied)[BUILD_STACK].phase == "pending"  # never started
    assert admin.describe_stacks(StackName=f"{APP}-pipeline")["Stacks"][0]["StackStatus"] == "REVIEW_IN_PROGRESS"


def test_obsolete_change_set_of_the_first_stack_is_reported_not_executable(aws_env, lone_setup, run_plan, run_apply,
                                                                            worker_db):
    setup_id = lone_setup()
    first = run_apply(setup_id, run_plan(setup_id).id)
    assert first.status == OperationStatus.SUCCEEDED.value, first.error
    with worker_db() as session:
        session.get(Setup, setup_id).branch = "release"
        session.commit()
    plan = run_plan(setup_id)
    assert by_stack(plan)[BUILD_STACK].action == "update"  # the only stack that changes
    # Someone updates the stack in the console before the apply: the reviewed change set is obsolete.
    admin = account_client("cloudformation", BUILD)
    stack = admin.describe_stacks(StackName=f"{APP}-pipeline")["Stacks"][0]
    parameters = [{"ParameterKey": p["ParameterKey"], "ParameterValue": p["ParameterValue"]}
                  for p in stack["Parameters"] if p["ParameterKey"] != "ApprovalEmail"]
    admin.update_stack(StackName=f"{APP}-pipeline", UsePreviousTemplate=True, Capabilities=["CAPABILITY_NAMED_IAM"],
                       Parameters=parameters + [{"ParameterKey": "ApprovalEmail", "ParameterValue": "ops@example.com"}])
    assert wait_for_stack(admin, f"{APP}-pipeline") == "UPDATE_COMPLETE"

    applied = run_apply(setup_id, plan.id)

    assert applied.status == OperationStatus.FAILED.value
    assert "is not executable any more" in applied.error and "plan again" in applied.error
    record = by_stack(applied)[BUILD_STACK]
    assert record.events == []  # the console's update is not this apply's


def test_change_set_executed_by_a_worker_that_died_is_followed_to_its_end(aws_env, lone_setup, run_plan, run_apply):
    setup_id = lone_setup()
    plan = run_plan(setup_id)
    record = by_stack(plan)[DEPLOY_STACK]
    # The previous worker executed it and died before recording that.
    account_client("cloudformation", BUILD).execute_change_set(StackName=record.stack_name,
                                                               ChangeSetName=record.change_set_name)

    applied = run_apply(setup_id, plan.id)

    assert applied.status == OperationStatus.SUCCEEDED.value, applied.error
    assert by_stack(applied)[DEPLOY_STACK].stack_status == "CREATE_COMPLETE"
    assert_every_event_stored(*applied.stacks)
