"""Plan: one change set per stack, nothing executed.

Deploy stacks (one per distinct deploy account) and the build stack each get a change set named
``portal-<setup id>-<operation id>``; a re-run of the same plan task finds and reuses them. A
stack in ROLLBACK_COMPLETE cannot take a change set: the plan says it will be deleted and
recreated and lists the template's resources. A self-launched account gets launch instructions;
its deploy stack's also set PortalPrincipalArn, so the admin's stack creates the observer role the
apply watches it through (worker/self_launch.py): the plan itself cannot read that account yet.
Each record keeps the access entry its account was reached with (worker/access.py): a later
teardown needs it once the setup no longer uses that account.
"""
from __future__ import annotations

import dataclasses
import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import plans, stacks
from core.models import Operation, Setup, SetupStatus, StackRecord, StackRole
from core.models.operations import StackAction, StackPhase
from worker import access, links, templates
from worker.context import AwsContext
from worker.deployer import ChangeSet, ChangeSetEmpty, DeployerError, StackNotReady
from worker.stack_status import StackState
from worker.stackspec import SetupIncomplete, StackSpec, desired_stacks, require_complete

logger = logging.getLogger(__name__)


def record_for(session: Session, operation: Operation, spec: StackSpec) -> StackRecord:
    """The operation's record of ``spec``'s stack, created once (so a re-run finds it)."""
    record = session.scalars(select(StackRecord).where(
        StackRecord.operation_id == operation.id, StackRecord.account_id == spec.account_id,
        StackRecord.stack_name == spec.stack_name,
    )).first()
    if record is None:
        record = StackRecord(
            operation_id=operation.id, role=spec.role.value, account_id=spec.account_id, region=spec.region,
            stack_name=spec.stack_name, phase=StackPhase.PENDING.value,
        )
        session.add(record)
        session.flush()
    return record


def template_additions(template: templates.Template) -> list[dict[str, str]]:
    """The change list of a stack created from scratch: every resource of the template, added."""
    return [{"action": "Add", "logical_id": logical_id, "physical_id": "", "type": rtype, "replacement": ""}
            for logical_id, rtype in template.resources()]


def launch_instructions(spec: StackSpec) -> dict[str, str]:
    """What a self-launching account's admin needs: a quick-create link and the CLI command."""
    return {
        "quick_create_url": links.quick_create_url(spec.region, spec.stack_name, spec.template.name, spec.parameters),
        "template_url": links.template_url(spec.template.name),
        "cli_command": links.deploy_command(spec.region, spec.stack_name, f"templates_cfn/{spec.template.name}",
                                            spec.parameters, spec.tags),
    }


def start_plan(session: Session, operation: Operation, setup: Setup, aws: AwsContext) -> list[int]:
    """Create the change sets; return the ids of the records whose change sets are being made."""
    if setup.status != SetupStatus.READY.value:
        raise SetupIncomplete(f"setup {setup.id} is a {setup.status}: finish the wizard before planning")
    require_complete(setup)
    operation.detail = {**operation.detail, "setup_version": setup.version,
                        "templates": templates.fingerprints()}
    to_follow: list[int] = []
    for spec in desired_stacks(setup, aws.partition):
        record = record_for(session, operation, spec)
        if record.phase != StackPhase.PENDING.value:
            if record.phase == StackPhase.CHANGE_SET.value:
                to_follow.append(record.id)
            continue
        record.parameters = spec.parameters
        record.template_sha256 = spec.template.sha256
        reach = aws.access(spec.account_id)  # refuses an account the worker has no way into
        used = access.entry_used(aws.sessions.access, spec.account_id)
        record.detail = {**(record.detail or {}), access.ACCESS: used}
        if not reach.can_deploy:
            _plan_self_launch(record, _observed(spec, aws), setup, aws)
        elif _plan_change_set(record, spec, aws, stacks.change_set_name(setup.id, operation.id)):
            to_follow.append(record.id)
        session.flush()
    return to_follow


def _observed(spec: StackSpec, aws: AwsContext) -> StackSpec:
    """A self-launched deploy stack also creates the observer role, trusting the worker's identity."""
    if spec.role is not StackRole.DEPLOY:
        return spec
    principal = {access.PORTAL_PRINCIPAL_PARAMETER: aws.sessions.principal_arn()}
    return dataclasses.replace(spec, parameters={**spec.parameters, **principal})


def _plan_self_launch(record: StackRecord, spec: StackSpec, setup: Setup, aws: AwsContext) -> None:
    """List the template's resources and say how the apply will wait: the worker reads nothing there yet."""
    record.parameters = spec.parameters
    record.action = StackAction.SELF_LAUNCH.value
    record.changes = template_additions(spec.template)
    record.detail = {**record.detail, **launch_instructions(spec)}
    role_arn = aws.access(spec.account_id).role_arn
    observer = role_arn is not None and role_arn.endswith(f":role/{stacks.observer_role_name(setup.name or '')}")
    if observer and spec.account_id not in setup.deploy_accounts():
        # Only deploy-dependencies.yaml creates the observer role; a build stack alone never would.
        record.status_reason = (
            f"account {spec.account_id} holds only {spec.stack_name}, and only the deploy stack creates the "
            f"observer role the portal watches a self-launched stack through: let the portal assume a role in "
            f"account {spec.account_id}")
        record.phase = StackPhase.FAILED.value
        return
    watch = (f"through {role_arn}, which its deploy stack creates" if observer
             else f"through {role_arn}" if role_arn else "with the worker's own credentials")
    record.detail = {**record.detail, "waits_for": (
        f"The apply waits for this account's admin to launch {spec.stack_name}, watching it {watch}; "
        "then it carries on by itself.")}
    record.phase = StackPhase.DONE.value
    logger.info("plan: %s in account %s is self-launched", spec.stack_name, spec.account_id)


def _plan_change_set(record: StackRecord, spec: StackSpec, aws: AwsContext, name: str) -> bool:
    """Create the record's change set; return True when it must be followed until ready."""
    deployer = aws.deployer(spec.account_id)
    stack = deployer.describe_stack(spec.stack_name)
    if stack is not None:
        record.stack_id, record.stack_status = stack.stack_id, stack.status
    if stack is not None and stack.state is StackState.NEEDS_RECREATE:
        record.action = StackAction.RECREATE.value
        record.changes = template_additions(spec.template)
        record.change_set_type = "CREATE"
        record.status_reason = (f"{spec.stack_name} is {stack.status} (a failed creation left it empty): "
                                "apply deletes it and creates it again")
        record.phase = StackPhase.DONE.value
        return False
    try:
        ref = deployer.create_change_set(spec.stack_name, name, spec.template, spec.parameters, spec.tags)
    except ChangeSetEmpty:
        on_change_set_empty(record)
        return False
    except StackNotReady as err:
        record.status_reason = str(err)
        record.phase = StackPhase.FAILED.value
        return False
    except DeployerError as err:
        record.status_reason = str(err)
        record.phase = StackPhase.FAILED.value
        logger.warning("plan: %s in account %s: %s", spec.stack_name, spec.account_id, err)
        return False
    record.action = (StackAction.CREATE if ref.change_set_type == "CREATE" else StackAction.UPDATE).value
    record.change_set_name, record.change_set_id = ref.name, ref.change_set_id
    record.change_set_type = ref.change_set_type
    record.stack_id = ref.stack_id or record.stack_id
    record.phase = StackPhase.CHANGE_SET.value
    return True


def on_change_set_ready(record: StackRecord, change_set: ChangeSet) -> None:
    """Store the reviewed changes; the plan's record is then done."""
    record.changes = [c.as_dict() for c in change_set.changes]
    record.change_set_status = change_set.status
    record.stack_id = change_set.stack_id or record.stack_id
    record.phase = StackPhase.DONE.value


def on_change_set_empty(record: StackRecord) -> None:
    record.action = StackAction.UNCHANGED.value
    record.change_set_name = record.change_set_id = ""  # an empty change set is nothing to review or execute
    record.changes = []
    record.change_set_status = plans.EMPTY  # what CloudFormation answered for the empty change set
    record.status_reason = "up to date"
    record.phase = StackPhase.DONE.value
