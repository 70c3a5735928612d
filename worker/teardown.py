"""Teardown: the build stack first (its versioned artifact bucket emptied before), then the deploy stacks.

The application stacks the pipeline deployed (APP-staging, APP-production) are not the
portal's and are left alone.
"""
from __future__ import annotations

import logging
from typing import Any

from botocore.exceptions import ClientError
from sqlalchemy.orm import Session

from core.models import Operation, Setup, StackRecord, StackRole
from core.models.operations import StackAction, StackPhase
from worker import aws_errors, links
from worker.context import AwsContext
from worker.plan import record_for
from worker.stack_status import StackState
from worker.stackspec import artifact_bucket_name, desired_stacks, require_complete

logger = logging.getLogger(__name__)

DELETE_BATCH = 1000  # DeleteObjects takes at most 1000 keys


class TeardownError(Exception):
    pass


def start_teardown(session: Session, operation: Operation, setup: Setup, aws: AwsContext) -> None:
    """Record every stack of the setup with what teardown will do to it (once)."""
    if operation.stacks:
        return
    require_complete(setup)
    specs = desired_stacks(setup, aws.partition)
    # Build stack first: it holds the pipeline that uses the deploy roles.
    specs.sort(key=lambda spec: spec.role != StackRole.BUILD)
    for spec in specs:
        record = record_for(session, operation, spec)
        if not aws.access(spec.account_id).can_deploy:
            record.action = StackAction.SELF_LAUNCH.value
            record.detail = {**record.detail, "cli_command": links.delete_command(spec.region, spec.stack_name)}
            continue
        deployer = aws.deployer(spec.account_id)
        stack = deployer.describe_stack(spec.stack_name)
        if stack is None or stack.state is StackState.ABSENT:
            record.action, record.phase = StackAction.ABSENT.value, StackPhase.DONE.value
            record.status_reason = "no such stack"
            continue
        record.action = StackAction.DELETE.value
        record.stack_id, record.stack_status, record.outputs = stack.stack_id, stack.status, stack.outputs
        record.changes = _resources(aws.cfn(spec.account_id), stack.stack_id)
    session.flush()
    session.refresh(operation)


def _resources(cfn: Any, stack_id: str) -> list[dict[str, str]]:
    """What the delete will remove (shown to the user, and the monitor's expected set)."""
    changes = []
    for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack_id):
        for res in page.get("StackResourceSummaries") or []:
            if res.get("ResourceStatus") == "DELETE_COMPLETE":
                continue
            changes.append({"action": "Remove", "logical_id": res["LogicalResourceId"],
                            "physical_id": res.get("PhysicalResourceId", ""), "type": res["ResourceType"],
                            "replacement": ""})
    return changes


def start_record(record: StackRecord, aws: AwsContext) -> StackPhase:
    if record.action == StackAction.SELF_LAUNCH.value:
        return StackPhase.WAITING
    return StackPhase.DELETING


def before_delete(record: StackRecord, setup: Setup, aws: AwsContext) -> None:
    """Empty the build stack's versioned artifact bucket: CloudFormation cannot delete a full one."""
    if record.role != StackRole.BUILD.value or record.action != StackAction.DELETE.value:
        return
    bucket = record.outputs.get("ArtifactBucketName") or artifact_bucket_name(
        setup.name or "", record.account_id, record.region)
    removed = empty_bucket(aws.s3(record.account_id), bucket)
    record.detail = {**record.detail, "emptied_bucket": bucket, "objects_removed": removed}
    logger.info("emptied %s: %d versions and delete markers (account %s, region %s)",
                bucket, removed, record.account_id, record.region)


def empty_bucket(s3: Any, bucket: str) -> int:
    """Delete every object version and delete marker of ``bucket``; return how many."""
    removed = 0
    try:
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            keys = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                    for v in (page.get("Versions") or []) + (page.get("DeleteMarkers") or [])]
            for start in range(0, len(keys), DELETE_BATCH):
                batch = keys[start:start + DELETE_BATCH]
                result = s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
                if result.get("Errors"):
                    first = result["Errors"][0]
                    raise TeardownError(f"cannot empty {bucket}: {first.get('Key')}: {first.get('Message')}")
                removed += len(batch)
    except ClientError as err:
        if aws_errors.is_bucket_missing(err):
            return removed
        raise TeardownError(f"cannot empty {bucket}: {err}") from err
    return removed
