"""Apply: execute the reviewed plan's change sets, deploy accounts first, then the build account.

The apply refuses to start when the plan is stale (the setup or the templates changed since, a
reviewed change set is gone, a stack is no longer in the state the plan saw); it then copies the
plan's stack records into its own, which the monitor drives from there.

A reviewed change set is checked up front (DescribeChangeSet) so that nothing runs anywhere when
any one of them is stale. The stack whose ExecuteChangeSet is the apply's first write needs no
such check: ExecuteChangeSet refuses a change set that is gone or not executable, before anything
else ran, and the monitor reports that as clearly (worker/monitor.py ``_execute``).
"""
from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import plans
from core.models import Operation, OperationKind, OperationStatus, Setup, StackRecord, StackRole
from core.models.operations import StackAction, StackPhase
from worker import links, templates
from worker.context import AwsContext
from worker.deployer import ChangeSetNotFound
from worker.lifecycle import OperationRefused
from worker.stack_status import StackState
from worker.stackspec import expected_deploy_outputs

logger = logging.getLogger(__name__)


class StalePlan(OperationRefused):
    """The reviewed plan no longer matches the setup or the stacks: plan again."""


def _plan_of(session: Session, operation: Operation, setup: Setup) -> Operation:
    plan = session.get(Operation, operation.plan_id) if operation.plan_id else None
    if plan is None or plan.kind != OperationKind.PLAN.value or plan.setup_id != setup.id:
        raise OperationRefused(f"apply {operation.id} does not name a plan of setup {setup.id}")
    if plan.status != OperationStatus.SUCCEEDED.value:
        raise OperationRefused(f"plan {plan.id} is {plan.status}, not succeeded: only a finished plan can be applied")
    unbacked = plans.unreviewable(plan)
    if unbacked:
        raise OperationRefused(f"plan {plan.id} cannot be applied: {'; '.join(unbacked)}")
    if plans.all_up_to_date(plan.stacks):
        raise OperationRefused(f"plan {plan.id} found every stack up to date: there is nothing to apply")
    if plan.detail.get("setup_version") != setup.version:
        raise StalePlan(f"setup {setup.id} changed since plan {plan.id} was made "
                        f"(version {plan.detail.get('setup_version')} then, {setup.version} now); plan again")
    if plan.detail.get("templates") != templates.fingerprints():
        raise StalePlan(f"the templates changed since plan {plan.id} was made; plan again")
    applied = session.scalars(select(Operation).where(
        Operation.plan_id == plan.id, Operation.id != operation.id, Operation.kind == OperationKind.APPLY.value,
        Operation.status == OperationStatus.SUCCEEDED.value,
    )).first()
    if applied is not None:
        raise StalePlan(f"plan {plan.id} was applied already by operation {applied.id}; plan again")
    return plan


def first_write(planned: list[StackRecord]) -> StackRecord | None:
    """The record whose AWS write comes first in the apply, when exactly one comes first.

    Deploy stacks run before the build stack; within a wave the writes start together, so a
    wave with several writers has no first one.
    """
    for role in (StackRole.DEPLOY, StackRole.BUILD):
        writers = [r for r in planned if r.role == role.value and StackAction(r.action) in _WRITES]
        if writers:
            return writers[0] if len(writers) == 1 else None
    return None


_WRITES = (StackAction.CREATE, StackAction.UPDATE, StackAction.RECREATE)


def _check_still_valid(record: StackRecord, aws: AwsContext, executes_first: bool) -> int:
    """Refuse when the stack or change set the user reviewed has changed under us.

    Returns how many CloudFormation calls that took (they count in the stack's call budget).
    """
    where = f"stack {record.stack_name} in account {record.account_id}"
    if record.phase == StackPhase.FAILED.value:
        raise StalePlan(f"the plan could not prepare {where}: {record.status_reason}")
    action = StackAction(record.action)
    if action in (StackAction.CREATE, StackAction.UPDATE):
        if executes_first:
            return 0  # its own ExecuteChangeSet is the check (see the module docstring)
        try:
            change_set = aws.deployer(record.account_id).describe_change_set(record.stack_name,
                                                                             record.change_set_name)
        except ChangeSetNotFound as err:
            raise StalePlan(f"the reviewed change set {record.change_set_name} of {where} no longer exists "
                            "(executed or deleted since the plan); plan again") from err
        if change_set.execution_status != "AVAILABLE":
            raise StalePlan(f"the reviewed change set {record.change_set_name} of {where} is "
                            f"{change_set.status}/{change_set.execution_status}, not executable; plan again")
        return 1
    if action is StackAction.RECREATE:
        stack = aws.deployer(record.account_id).describe_stack(record.stack_id or record.stack_name)
        if stack is None or stack.state is not StackState.NEEDS_RECREATE:
            raise StalePlan(f"{where} is no longer in ROLLBACK_COMPLETE; plan again")
        return 1
    return 0


def start_apply(session: Session, operation: Operation, setup: Setup, aws: AwsContext) -> None:
    """Validate the plan and copy its stack records into the apply's (once)."""
    if operation.stacks:
        return  # a redelivered task: the records exist and the monitor drives them
    plan = _plan_of(session, operation, setup)
    first = first_write(plan.stacks)
    checks = {planned.id: _check_still_valid(planned, aws, planned is first) for planned in plan.stacks}
    for planned in plan.stacks:
        session.add(StackRecord(
            operation_id=operation.id, role=planned.role, account_id=planned.account_id, region=planned.region,
            stack_name=planned.stack_name, stack_id=planned.stack_id, change_set_name=planned.change_set_name,
            change_set_id=planned.change_set_id, change_set_type=planned.change_set_type,
            change_set_status=planned.change_set_status, changes=planned.changes, parameters=planned.parameters,
            stack_status=planned.stack_status, action=planned.action, template_sha256=planned.template_sha256,
            detail={**planned.detail, "calls": checks[planned.id]}, phase=StackPhase.PENDING.value,
        ))
    operation.detail = {**operation.detail, "plan_id": plan.id, "setup_version": setup.version}
    session.flush()
    session.refresh(operation)


def start_record(record: StackRecord, aws: AwsContext) -> StackPhase:
    """Move a pending record to its first active phase (no AWS writes here; the monitor does them)."""
    action = StackAction(record.action)
    if action is StackAction.UNCHANGED:
        stack = aws.deployer(record.account_id).describe_stack(record.stack_name)
        if stack is not None:
            record.stack_id, record.stack_status, record.outputs = stack.stack_id, stack.status, stack.outputs
        return StackPhase.DONE
    if action is StackAction.RECREATE:
        return StackPhase.DELETING
    if action is StackAction.SELF_LAUNCH:
        # The observer role may not exist yet: the waiting step reads the stack (worker/self_launch.py).
        return StackPhase.WAITING
    return StackPhase.EXECUTING


def check_build_inputs(session: Session, record: StackRecord, setup: Setup, aws: AwsContext) -> str:
    """Before the build stack runs: the deploy stacks' outputs must be what the plan assumed.

    Returns "" when they are, else the reason to stop.
    """
    if record.role != StackRole.BUILD.value:
        return ""
    deploy_records = session.scalars(select(StackRecord).where(
        StackRecord.operation_id == record.operation_id, StackRecord.role == StackRole.DEPLOY.value,
    )).all()
    for deploy in deploy_records:
        expected = expected_deploy_outputs(setup, aws.partition, deploy.account_id)
        actual = {key: deploy.outputs.get(key) for key in expected}
        if actual != expected:
            return (f"stack {deploy.stack_name} in account {deploy.account_id} output {actual}, but the build "
                    f"change set was planned with {expected}; plan again")
    return ""


def summarise(operation: Operation, setup: Setup) -> dict[str, object]:
    """The apply's result for people: outputs, console links and the git commands."""
    build = next((r for r in operation.stacks if r.role == StackRole.BUILD.value), None)
    outputs = dict(build.outputs) if build else {}
    region = setup.region or ""
    summary: dict[str, object] = {
        "outputs": outputs,
        "stacks": {f"{r.account_id}/{r.stack_name}": {
            "status": r.stack_status, "console_url": links.stack_console_url(r.region, r.stack_id) if r.stack_id else "",
        } for r in operation.stacks},
    }
    clone_url = outputs.get("RepositoryCloneUrlHttp", "")
    if clone_url:
        summary["git_commands"] = links.git_commands(
            setup.source_provider, clone_url, setup.branch, region, outputs.get("RepositoryName", setup.name or ""))
    if outputs.get("PipelineName"):
        summary["pipeline_name"] = outputs["PipelineName"]
        summary["pipeline_console_url"] = outputs.get("PipelineConsoleUrl", "")
    return summary
