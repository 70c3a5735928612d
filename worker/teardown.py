"""Teardown: the build stack first (its versioned artifact bucket emptied before), then the deploy stacks.

The stacks torn down are the ones the setup's applies recorded, wherever the setup pointed then:
a setup whose accounts (or name) changed after its last apply still has its stacks in the old
accounts, and only the applies know them. The setup's current stacks are added for what no
apply recorded (so tearing down a setup never applied finds every stack absent).

An account the setup no longer uses has lost its access entry too (the portal forgets it), so
it is reached with the entry its most recent apply recorded (worker/access.py); each teardown
record keeps the entry it is reached with, for the monitor's steps (worker/context.py).

The application stacks the pipeline deployed (APP-staging, APP-production) are not the
portal's and are left alone.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import stacks
from core.models import Operation, OperationKind, OperationStatus, Setup, StackRecord, StackRole
from core.models.operations import StackAction, StackPhase
from worker import access, aws_errors, links
from worker.context import AwsContext
from worker.sessions import AccessError, AccessNotConfigured, AccountSessions
from worker.stack_status import StackState
from worker.stackspec import SetupIncomplete, desired_stacks

logger = logging.getLogger(__name__)

DELETE_BATCH = 1000  # DeleteObjects takes at most 1000 keys
# An apply that ended may have created stacks, whether it succeeded, failed or was cancelled
# half-way; one still under way cannot be, since a teardown never runs beside an apply.
FINISHED = (OperationStatus.SUCCEEDED.value, OperationStatus.FAILED.value, OperationStatus.CANCELLED.value)


class TeardownError(Exception):
    pass


@dataclass(frozen=True)
class Target:
    """A stack the teardown deletes."""

    role: str
    account_id: str
    region: str
    stack_name: str


def _applied_records(session: Session, setup: Setup) -> list[tuple[Target, Mapping[str, Any]]]:
    """Each stack record of the setup's finished applies with its detail, oldest first."""
    rows = session.execute(
        select(StackRecord.role, StackRecord.account_id, StackRecord.region, StackRecord.stack_name,
               StackRecord.detail)
        .join(Operation, StackRecord.operation_id == Operation.id)
        .where(Operation.setup_id == setup.id, Operation.kind == OperationKind.APPLY.value,
               Operation.status.in_(FINISHED))
        .order_by(StackRecord.id)
    ).all()
    return [(Target(*row[:4]), row[4] or {}) for row in rows]


def applied_stacks(session: Session, setup: Setup) -> list[Target]:
    """Every distinct stack the setup's finished applies recorded, oldest first."""
    return list(dict.fromkeys(target for target, _ in _applied_records(session, setup)))


def teardown_access(session: Session, setup: Setup) -> dict[str, Any]:
    """The setup's access entries, plus the most recently recorded one of each account it dropped."""
    recorded = [(target.account_id, detail) for target, detail in _applied_records(session, setup)]
    return access.with_recorded(setup.access or {}, recorded)


def teardown_targets(session: Session, setup: Setup, aws: AwsContext) -> tuple[list[Target], list[Target]]:
    """The stacks to delete (applied ones, then current ones never applied; build stacks first), and
    the applied stacks left out.

    A teardown holds one record per account and stack name, so of one stack applied in two
    regions (the setup's region changed in between) the one in the worker's region is kept and
    the other is left out, for the caller to report. A stack applied only in another region is
    kept (and fails as unreachable) rather than swapped for a never-applied one in this region.
    """
    applied = applied_stacks(session, setup)
    try:
        current = [Target(spec.role.value, spec.account_id, spec.region, spec.stack_name)
                   for spec in desired_stacks(setup, aws.partition)]
    except SetupIncomplete:
        if not applied:
            raise  # neither applied nor complete: nothing to go on
        logger.info("setup %s is incomplete now: tearing down only what its applies deployed", setup.id)
        current = []
    for target in applied:
        if target not in current:
            logger.info("teardown of setup %s: %s in account %s (region %s) is no longer part of the setup; "
                        "deleting it as an apply deployed it", setup.id, target.stack_name, target.account_id,
                        target.region)
    chosen: dict[tuple[str, str], Target] = {}
    for target in applied:
        key = (target.account_id, target.stack_name)
        if key not in chosen or target.region == aws.region:
            chosen[key] = target
    left = [t for t in applied if chosen[(t.account_id, t.stack_name)] != t]
    for target in current:  # only what no apply recorded: those stacks were never deployed by the portal
        chosen.setdefault((target.account_id, target.stack_name), target)
    # sorted() is stable: the applied stacks keep their order within each role.
    return sorted(chosen.values(), key=lambda t: stacks.wave_of(OperationKind.TEARDOWN, t.role)), left


def start_teardown(session: Session, operation: Operation, setup: Setup, aws: AwsContext) -> None:
    """Record every stack to delete with what teardown will do to it (once)."""
    if operation.stacks:
        return
    targets, left = teardown_targets(session, setup, aws)
    _note_left(operation, left)
    reach = teardown_access(session, setup)
    if reach != (setup.access or {}):
        aws = AwsContext(AccountSessions(aws.sessions.username, aws.region, reach))
    for target in targets:
        record = StackRecord(operation_id=operation.id, role=target.role, account_id=target.account_id,
                             region=target.region, stack_name=target.stack_name, phase=StackPhase.PENDING.value,
                             detail=_access_detail(setup, reach, target.account_id))
        session.add(record)
        try:
            _look(record, target, aws)
        except AccessError as err:
            # The teardown still deletes what it can reach; this record fails when its wave
            # starts, saying how to finish the job (start_record).
            _mark_unreachable(record, _why_unreachable(err, setup, reach))
    session.flush()
    session.refresh(operation)


def _access_detail(setup: Setup, reach: Mapping[str, Any], account_id: str) -> dict[str, Any]:
    """The entry the record's account is reached with, and whether an apply's record supplied it."""
    detail: dict[str, Any] = {access.ACCESS: access.entry_used(reach, account_id)}
    if account_id not in (setup.access or {}) and account_id in reach:
        detail["access_from_apply"] = True
        logger.info("teardown of setup %s: account %s is no longer in the setup; reaching it as its last "
                    "apply did (%s)", setup.id, account_id, reach[account_id].get("method"))
    return detail


def _why_unreachable(err: AccessError, setup: Setup, reach: Mapping[str, Any]) -> str:
    """The access error, saying so when the account was dropped before applies recorded their access."""
    if isinstance(err, AccessNotConfigured) and err.account_id not in reach:
        return (f"{err} (the setup no longer uses this account, and the apply that deployed the stack "
                "recorded no access to it)")
    return str(err)


def _look(record: StackRecord, target: Target, aws: AwsContext) -> None:
    """Decide the record's action from the stack as it is now."""
    if target.region != aws.region:
        _look_elsewhere(record, target, aws)
        return
    if not aws.access(target.account_id).can_deploy:
        record.action = StackAction.SELF_LAUNCH.value
        record.detail = {**record.detail, "cli_command": links.delete_command(target.region, target.stack_name)}
        return
    stack = aws.deployer(target.account_id).describe_stack(target.stack_name)
    if stack is None or stack.state is StackState.ABSENT:
        record.action, record.phase = StackAction.ABSENT.value, StackPhase.DONE.value
        record.status_reason = "no such stack"
        return
    record.action = StackAction.DELETE.value
    record.stack_id, record.stack_status, record.outputs = stack.stack_id, stack.status, stack.outputs
    record.changes = _resources(aws.cfn(target.account_id), stack.stack_id)


def _look_elsewhere(record: StackRecord, target: Target, aws: AwsContext) -> None:
    """A stack applied in a region the setup left: absent is fine, present cannot be deleted from here.

    The operation's sessions, and so the monitor's deletes, act in the setup's current region;
    looking in the old one tells a stack still there from one its admin already deleted (else a
    teardown would fail on it forever).
    """
    # Self-launched accounts are read only through their observer role, in any region.
    there = AwsContext(AccountSessions(aws.sessions.username, target.region, aws.sessions.access,
                                       observer_role=aws.sessions.observer_role))
    stack = there.deployer(target.account_id).describe_stack(target.stack_name)
    if stack is None or stack.state is StackState.ABSENT:
        record.action, record.phase = StackAction.ABSENT.value, StackPhase.DONE.value
        record.status_reason = f"no such stack in region {target.region}"
        return
    record.stack_id, record.stack_status, record.outputs = stack.stack_id, stack.status, stack.outputs
    _mark_unreachable(record, f"it is in region {target.region}, and the setup is in {aws.region} now")


def _mark_unreachable(record: StackRecord, why: str) -> None:
    command = links.delete_command(record.region, record.stack_name)
    message = (f"cannot tear down {record.stack_name} in account {record.account_id}: {why}. Make it "
               f"reachable and tear down again, or delete the stack yourself: {command}")
    record.action = StackAction.DELETE.value
    record.detail = {**record.detail, "unreachable": message, "unreachable_reason": why, "cli_command": command}
    if record.role == StackRole.BUILD.value:
        # Whoever runs the command must empty the versioned bucket first, as before_delete does.
        record.detail = {**record.detail, "artifact_bucket": _artifact_bucket(record)}
    logger.warning("teardown: %s", message)


def _note_left(operation: Operation, left: list[Target]) -> None:
    """Stacks in another region that the teardown leaves: on the operation, for their admins."""
    if not left:
        return
    operation.detail = {**operation.detail, "left_in_other_regions": [_left_entry(t) for t in left]}
    for t in left:
        logger.warning("teardown: %s in account %s, region %s, is left for its admin to delete "
                       "(the worker acts in the setup's region)", t.stack_name, t.account_id, t.region)


def _left_entry(target: Target) -> dict[str, str]:
    entry = {"role": target.role, "account_id": target.account_id, "region": target.region,
             "stack_name": target.stack_name, "cli_command": links.delete_command(target.region, target.stack_name)}
    if target.role == StackRole.BUILD.value:
        entry["artifact_bucket"] = stacks.artifact_bucket_name(
            stacks.application_of(target.stack_name), target.account_id, target.region)
    return entry


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
    """The record's first active phase; a stack the worker cannot reach fails here, in its wave."""
    if record.detail.get("unreachable"):
        raise TeardownError(record.detail["unreachable"])
    if record.action == StackAction.SELF_LAUNCH.value:
        return StackPhase.WAITING
    return StackPhase.DELETING


def before_delete(record: StackRecord, aws: AwsContext) -> None:
    """Empty the build stack's versioned artifact bucket: CloudFormation cannot delete a full one."""
    if record.role != StackRole.BUILD.value or record.action != StackAction.DELETE.value:
        return
    bucket = _artifact_bucket(record)
    removed = empty_bucket(aws.s3(record.account_id), bucket)
    record.detail = {**record.detail, "emptied_bucket": bucket, "objects_removed": removed}
    logger.info("emptied %s: %d versions and delete markers (account %s, region %s)",
                bucket, removed, record.account_id, record.region)


def _artifact_bucket(record: StackRecord) -> str:
    """The build stack's bucket: its output, else the name the stack's own application gives it.

    The application comes from the stack name, not the setup: a renamed setup's old stack
    holds the old name's bucket.
    """
    if (record.outputs or {}).get("ArtifactBucketName"):
        return str(record.outputs["ArtifactBucketName"])
    return stacks.artifact_bucket_name(stacks.application_of(record.stack_name), record.account_id, record.region)


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
