"""Teardown: the build stack first (its versioned bucket emptied), then the deploy stacks."""
from __future__ import annotations

import pytest

from core.models import OperationKind, OperationStatus
from tests.worker.conftest import BUILD, PRODUCTION, STAGING, account_client, by_stack
from worker import tasks
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


def test_teardown_empties_the_artifact_bucket_and_deletes_build_stack_first(deployed, make_operation, driver):
    setup_id, applied = deployed
    bucket = applied.detail["outputs"]["ArtifactBucketName"]
    s3 = account_client("s3", BUILD)
    # moto ignores the Condition of the bucket policy's TLS-only Deny, so over the emulator's
    # plain HTTP it denies every object request, the worker's too (real S3 over HTTPS does not):
    # the policy is lifted for this test.
    s3.delete_bucket_policy(Bucket=bucket)
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
