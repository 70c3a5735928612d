"""Teardown: the build stack first (its versioned bucket emptied), then the deploy stacks."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from core.models import Operation, OperationKind, OperationStatus, Setup, StackRecord
from portal.setups import service as portal_setups
from tests.worker.conftest import (
    BOOTSTRAP_ROLE, BUILD, DEFAULT_ACCOUNT, PRODUCTION, STAGING, account_client, assume_role_access, by_stack,
)
from tests.worker.helpers import change_setup
from worker import access, tasks
from worker.teardown import empty_bucket

APP = "orders-api"


@pytest.fixture
def deployed(aws_env, make_setup, run_plan, run_apply):
    setup_id = make_setup(name=APP)
    plan = run_plan(setup_id)
    applied = run_apply(setup_id, plan.id)
    assert applied.status == OperationStatus.SUCCEEDED.value, applied.error
    return setup_id, applied


def run_teardown(make_operation, driver, setup_id):
    teardown_id = make_operation(setup_id, OperationKind.TEARDOWN)
    tasks.teardown_setup(teardown_id)
    return driver.run(teardown_id)


def move_staging_as_the_portal_does(factory, setup_id, account_id):
    """Change the staging account through the portal's own save step, which drops the old account's access."""
    with factory() as session:
        setup = session.get(Setup, setup_id)
        changed = portal_setups.apply(setup, {"staging_account_id": account_id})
        assert changed == ["staging_account_id"]
        session.commit()
        return dict(setup.access)


def forget_recorded_access(factory, setup_id):
    """Strip the recorded entries from the applies' records, as applies made before they were recorded."""
    with factory() as session:
        records = session.scalars(select(StackRecord).join(Operation).where(
            Operation.setup_id == setup_id, Operation.kind == OperationKind.APPLY.value)).all()
        for record in records:
            record.detail = {k: v for k, v in record.detail.items() if k != access.ACCESS}
        session.commit()


def stack_statuses(account, name):
    summaries = account_client("cloudformation", account).list_stacks()["StackSummaries"]
    return {s["StackStatus"] for s in summaries if s["StackName"] == name}


def test_teardown_empties_the_artifact_bucket_and_deletes_build_stack_first(deployed, make_operation, driver):
    setup_id, applied = deployed
    bucket = applied.detail["outputs"]["ArtifactBucketName"]
    s3 = account_client("s3", BUILD)
    # The template's TLS-only policy stays on: the emulator counts its plain HTTP as TLS.
    assert "aws:SecureTransport" in s3.get_bucket_policy(Bucket=bucket)["Policy"]
    for n in range(3):
        s3.put_object(Bucket=bucket, Key="artifact.zip", Body=f"build {n}".encode())
    s3.delete_object(Bucket=bucket, Key="artifact.zip")  # leaves a delete marker
    s3.put_object(Bucket=bucket, Key="other/source.zip", Body=b"src")
    # The application stack the pipeline deployed is not the portal's to delete.
    staging_cfn = account_client("cloudformation", STAGING)
    staging_cfn.create_stack(StackName=f"{APP}-staging", TemplateBody='{"Resources": {"T": {"Type": "AWS::SNS::Topic"}}}')

    done = run_teardown(make_operation, driver, setup_id)

    assert done.status == OperationStatus.SUCCEEDED.value, done.error
    stacks = by_stack(done)
    build = stacks[f"{BUILD}/{APP}-pipeline"]
    assert build.detail["objects_removed"] == 5  # 3 versions + 1 delete marker + 1 other object
    assert {r.stack_status for r in stacks.values()} == {"DELETE_COMPLETE"}
    build_gone = max(e.timestamp for e in build.events)
    deploy_started = min(e.timestamp for k, r in stacks.items() if r is not build for e in r.events)
    assert deploy_started >= build_gone
    assert bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    for account, name in [(BUILD, f"{APP}-pipeline"), (STAGING, f"{APP}-deploy-dependencies"),
                          (PRODUCTION, f"{APP}-deploy-dependencies")]:
        summaries = account_client("cloudformation", account).list_stacks()["StackSummaries"]
        assert {s["StackStatus"] for s in summaries if s["StackName"] == name} <= {"DELETE_COMPLETE"}
    assert staging_cfn.describe_stacks(StackName=f"{APP}-staging")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"


def test_teardown_lists_what_it_removes(deployed, make_operation, driver):
    setup_id, _ = deployed

    done = run_teardown(make_operation, driver, setup_id)

    build = by_stack(done)[f"{BUILD}/{APP}-pipeline"]
    assert build.action == "delete"
    assert {c["logical_id"] for c in build.changes} >= {"Pipeline", "ArtifactBucket"}
    assert all(c["action"] == "Remove" for c in build.changes)


def test_teardown_of_nothing_succeeds_and_says_so(aws_env, make_setup, make_operation, driver):
    done = run_teardown(make_operation, driver, make_setup(name=APP))

    assert done.status == OperationStatus.SUCCEEDED.value
    assert {r.action for r in done.stacks} == {"absent"}


def test_teardown_failure_names_the_resource(deployed, make_operation, driver, aws_env):
    from tests.worker.conftest import control

    setup_id, _ = deployed
    control(aws_env, "failures", {"type": "resource", "logical_id": "Repository", "operation": "DELETE",
                                  "count": 1, "reason": "Repository is protected"})

    done = run_teardown(make_operation, driver, setup_id)

    assert done.status == OperationStatus.FAILED.value
    assert done.root_cause["resource"] == "Repository" and "Repository is protected" in done.root_cause["reason"]
    assert by_stack(done)[f"{BUILD}/{APP}-pipeline"].stack_status == "DELETE_FAILED"
    # The deploy stacks were not touched after the build stack failed.
    assert by_stack(done)[f"{STAGING}/{APP}-deploy-dependencies"].phase == "pending"


def test_emptying_a_missing_bucket_is_not_an_error(aws_env):
    assert empty_bucket(account_client("s3", BUILD), "no-such-bucket-here") == 0


def test_teardown_deletes_the_stacks_of_accounts_the_setup_no_longer_uses(deployed, make_operation, driver,
                                                                           worker_db):
    setup_id, _ = deployed
    # Staging moves to the production account after the apply: 222's stack is only in the apply's records.
    change_setup(worker_db, setup_id, staging_account_id=PRODUCTION)

    done = run_teardown(make_operation, driver, setup_id)

    assert done.status == OperationStatus.SUCCEEDED.value, done.error
    stacks = by_stack(done)
    assert set(stacks) == {f"{BUILD}/{APP}-pipeline", f"{STAGING}/{APP}-deploy-dependencies",
                           f"{PRODUCTION}/{APP}-deploy-dependencies"}
    assert {(r.action, r.stack_status) for r in stacks.values()} == {("delete", "DELETE_COMPLETE")}
    assert done.stacks[0].role == "build"  # build stack first, deploy stacks after
    assert stack_statuses(STAGING, f"{APP}-deploy-dependencies") == {"DELETE_COMPLETE"}
    assert stack_statuses(PRODUCTION, f"{APP}-deploy-dependencies") == {"DELETE_COMPLETE"}


def test_teardown_after_a_rename_deletes_the_stacks_under_the_old_name(deployed, make_operation, driver, worker_db):
    setup_id, _ = deployed
    change_setup(worker_db, setup_id, name="billing-api")

    done = run_teardown(make_operation, driver, setup_id)

    assert done.status == OperationStatus.SUCCEEDED.value, done.error
    stacks = by_stack(done)
    assert {k for k, r in stacks.items() if r.action == "delete"} == {
        f"{BUILD}/{APP}-pipeline", f"{STAGING}/{APP}-deploy-dependencies", f"{PRODUCTION}/{APP}-deploy-dependencies"}
    # The stacks of the new name were never applied: looked up, found absent.
    assert {k for k, r in stacks.items() if r.action == "absent"} == {
        f"{BUILD}/billing-api-pipeline", f"{STAGING}/billing-api-deploy-dependencies",
        f"{PRODUCTION}/billing-api-deploy-dependencies"}
    assert stack_statuses(BUILD, f"{APP}-pipeline") == {"DELETE_COMPLETE"}
    assert by_stack(done)[f"{BUILD}/{APP}-pipeline"].detail["emptied_bucket"] == f"{APP}-artifacts-{BUILD}-us-east-1"


def test_teardown_reaches_an_account_the_portal_dropped_with_the_access_its_apply_recorded(
        deployed, make_operation, driver, worker_db):
    setup_id, applied = deployed
    assert by_stack(applied)[f"{STAGING}/{APP}-deploy-dependencies"].detail["access"] == {
        "method": "assume_role", "role_name": BOOTSTRAP_ROLE}
    left = move_staging_as_the_portal_does(worker_db, setup_id, PRODUCTION)
    assert STAGING not in left  # the portal forgot how to reach the old staging account

    done = run_teardown(make_operation, driver, setup_id)

    assert done.status == OperationStatus.SUCCEEDED.value, done.error
    stacks = by_stack(done)
    old = stacks[f"{STAGING}/{APP}-deploy-dependencies"]
    assert (old.action, old.stack_status) == ("delete", "DELETE_COMPLETE")
    assert old.detail["access"] == {"method": "assume_role", "role_name": BOOTSTRAP_ROLE}
    assert old.detail["access_from_apply"] is True
    assert "access_from_apply" not in stacks[f"{PRODUCTION}/{APP}-deploy-dependencies"].detail
    assert stack_statuses(STAGING, f"{APP}-deploy-dependencies") == {"DELETE_COMPLETE"}
    assert stack_statuses(PRODUCTION, f"{APP}-deploy-dependencies") == {"DELETE_COMPLETE"}
    assert stack_statuses(BUILD, f"{APP}-pipeline") == {"DELETE_COMPLETE"}


def test_teardown_uses_the_recorded_role_itself_and_fails_saying_how_to_finish_when_it_is_gone(
        aws_env, make_setup, run_plan, run_apply, make_operation, driver, worker_db):
    iam = account_client("iam", STAGING)
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"AWS": f"arn:aws:iam::{DEFAULT_ACCOUNT}:root"}}]}
    iam.create_role(RoleName="portal-deployer", AssumeRolePolicyDocument=json.dumps(trust))
    setup_id = make_setup(name=APP, access={**assume_role_access(BUILD, PRODUCTION),
                                            STAGING: {"method": "assume_role", "role_name": "portal-deployer"}})
    assert run_apply(setup_id, run_plan(setup_id).id).status == OperationStatus.SUCCEEDED.value
    move_staging_as_the_portal_does(worker_db, setup_id, PRODUCTION)
    iam.delete_role(RoleName="portal-deployer")  # the old account's admin revoked the portal

    done = run_teardown(make_operation, driver, setup_id)

    assert done.status == OperationStatus.FAILED.value
    stranded = by_stack(done)[f"{STAGING}/{APP}-deploy-dependencies"]
    assert stranded.phase == "failed"
    assert f"cannot assume arn:aws:iam::{STAGING}:role/portal-deployer" in stranded.status_reason
    assert stranded.detail["cli_command"] == \
        f"aws cloudformation delete-stack --region us-east-1 --stack-name {APP}-deploy-dependencies"
    assert stack_statuses(STAGING, f"{APP}-deploy-dependencies") == {"CREATE_COMPLETE"}


def test_teardown_of_a_stack_whose_apply_recorded_no_access_fails_saying_how_to_finish(
        deployed, make_operation, driver, worker_db):
    setup_id, _ = deployed
    forget_recorded_access(worker_db, setup_id)  # an apply made before the access was recorded
    move_staging_as_the_portal_does(worker_db, setup_id, PRODUCTION)

    done = run_teardown(make_operation, driver, setup_id)

    assert done.status == OperationStatus.FAILED.value
    stacks = by_stack(done)
    stranded = stacks[f"{STAGING}/{APP}-deploy-dependencies"]
    assert stranded.phase == "failed"
    assert f"no way into account {STAGING}" in stranded.status_reason
    assert "the apply that deployed the stack recorded no access to it" in stranded.status_reason
    assert stranded.detail["unreachable"] == stranded.status_reason
    assert "aws cloudformation delete-stack" in stranded.status_reason and APP in stranded.status_reason
    assert stranded.status_reason in done.error
    # Everything reachable went; the stranded stack is still there for its admin.
    assert stacks[f"{BUILD}/{APP}-pipeline"].stack_status == "DELETE_COMPLETE"
    assert stacks[f"{PRODUCTION}/{APP}-deploy-dependencies"].stack_status == "DELETE_COMPLETE"
    assert stack_statuses(STAGING, f"{APP}-deploy-dependencies") == {"CREATE_COMPLETE"}


def test_teardown_after_a_region_change_fails_on_the_old_regions_stacks_until_they_are_gone(
        deployed, make_operation, driver, worker_db):
    setup_id, _ = deployed
    change_setup(worker_db, setup_id, region="us-west-2")

    done = run_teardown(make_operation, driver, setup_id)

    # The applied stacks are not swapped for the new region's (never applied, absent) ones.
    assert done.status == OperationStatus.FAILED.value
    build = by_stack(done)[f"{BUILD}/{APP}-pipeline"]
    assert build.region == "us-east-1" and build.phase == "failed"
    assert "it is in region us-east-1, and the setup is in us-west-2 now" in build.status_reason
    assert "--region us-east-1" in build.status_reason
    assert build.detail["unreachable_reason"] == "it is in region us-east-1, and the setup is in us-west-2 now"
    assert build.detail["artifact_bucket"] == f"{APP}-artifacts-{BUILD}-us-east-1"  # to empty before the command
    assert stack_statuses(BUILD, f"{APP}-pipeline") == {"CREATE_COMPLETE"}  # nothing deleted from elsewhere

    # Once their admins deleted them there, the teardown finds them gone.
    bucket = build.outputs["ArtifactBucketName"]
    empty_bucket(account_client("s3", BUILD), bucket)
    for account, name in [(BUILD, f"{APP}-pipeline"), (STAGING, f"{APP}-deploy-dependencies"),
                          (PRODUCTION, f"{APP}-deploy-dependencies")]:
        account_client("cloudformation", account).delete_stack(StackName=name)
    again = run_teardown(make_operation, driver, setup_id)

    assert again.status == OperationStatus.SUCCEEDED.value, again.error
    assert {(r.region, r.action) for r in again.stacks} == {("us-east-1", "absent")}


def test_teardown_counts_the_stacks_of_a_failed_apply(aws_env, make_setup, run_plan, run_apply, make_operation,
                                                      driver, worker_db):
    from tests.worker.conftest import control

    setup_id = make_setup(name=APP)
    control(aws_env, "failures", {"type": "resource", "logical_id": "BuildProject", "count": 1,
                                  "reason": "Build project quota exceeded"})
    failed = run_apply(setup_id, run_plan(setup_id).id)
    assert failed.status == OperationStatus.FAILED.value
    change_setup(worker_db, setup_id, staging_account_id=PRODUCTION)

    done = run_teardown(make_operation, driver, setup_id)

    assert done.status == OperationStatus.SUCCEEDED.value, done.error
    stacks = by_stack(done)
    assert stacks[f"{STAGING}/{APP}-deploy-dependencies"].action == "delete"
    assert stacks[f"{BUILD}/{APP}-pipeline"].action == "delete"  # rolled back, still a stack to delete
    assert stack_statuses(STAGING, f"{APP}-deploy-dependencies") == {"DELETE_COMPLETE"}


@pytest.mark.parametrize("recorded, expected", [
    # The most recent apply's entry wins over an older one's.
    ([(STAGING, {"access": {"method": "assume_role", "role_name": "old"}}),
      (STAGING, {"access": {"method": "assume_role", "role_name": "new", "external_id": "x-1"}})],
     {"method": "assume_role", "role_name": "new", "external_id": "x-1"}),
    # A later record without an entry (an apply before entries were recorded) keeps the earlier one.
    ([(STAGING, {"access": {"method": "self_launch", "role_name": "observer"}}), (STAGING, {})],
     {"method": "self_launch", "role_name": "observer"}),
    ([(STAGING, {}), (STAGING, {"access": "not an entry"})], None),
])
def test_recorded_access_falls_back_to_the_latest_entry_of_a_dropped_account(recorded, expected):
    merged = access.with_recorded({BUILD: {"method": "assume_role", "role_name": "current"}}, recorded)

    assert merged.get(STAGING) == expected
    assert merged[BUILD] == {"method": "assume_role", "role_name": "current"}


def test_recorded_access_never_overrides_an_account_the_setup_still_lists():
    current = {STAGING: {"method": "self_launch"}}

    merged = access.with_recorded(current, [(STAGING, {"access": {"method": "assume_role", "role_name": "old"}})])

    assert merged == current


def test_teardown_after_applies_in_two_regions_leaves_the_old_regions_stacks_with_their_commands(
        deployed, make_operation, driver, worker_db):
    setup_id, applied = deployed
    change_setup(worker_db, setup_id, region="us-west-2")
    # An apply in the new region (its stacks since deleted by hand): recorded, so the teardown keeps
    # the new region's stacks and leaves the old region's, which the worker cannot act on.
    with worker_db() as session:
        again = Operation(setup_id=setup_id, kind=OperationKind.APPLY.value, status=OperationStatus.SUCCEEDED.value,
                          requested_by="alice", detail={})
        session.add(again)
        session.flush()
        for record in applied.stacks:
            session.add(StackRecord(operation_id=again.id, role=record.role, account_id=record.account_id,
                                    region="us-west-2", stack_name=record.stack_name, phase="done",
                                    action="create", detail=dict(record.detail)))
        session.commit()

    done = run_teardown(make_operation, driver, setup_id)

    assert done.status == OperationStatus.SUCCEEDED.value, done.error
    assert {(r.region, r.action) for r in done.stacks} == {("us-west-2", "absent")}
    left = {f"{e['account_id']}/{e['stack_name']}": e for e in done.detail["left_in_other_regions"]}
    assert set(left) == {f"{BUILD}/{APP}-pipeline", f"{STAGING}/{APP}-deploy-dependencies",
                         f"{PRODUCTION}/{APP}-deploy-dependencies"}
    assert left[f"{BUILD}/{APP}-pipeline"] == {
        "role": "build", "account_id": BUILD, "region": "us-east-1", "stack_name": f"{APP}-pipeline",
        "cli_command": f"aws cloudformation delete-stack --region us-east-1 --stack-name {APP}-pipeline",
        "artifact_bucket": f"{APP}-artifacts-{BUILD}-us-east-1"}
    assert "artifact_bucket" not in left[f"{STAGING}/{APP}-deploy-dependencies"]
    assert stack_statuses(BUILD, f"{APP}-pipeline") == {"CREATE_COMPLETE"}  # left where it was
