"""Read what an approver reviews for one waiting execution, once, for every approver who opens the page.

The portal records an ``ApprovalReview`` row for the execution waiting at the approval and sends
``worker.read_approval`` with its id (only the request that inserted the row sends it, so many
viewers cost one read). The worker claims the row, then reads:

* the production change set ``APP-production-<execution id>`` in the production account,
  DescribeChangeSet through every page, whoever created it (the pipeline's CreateChangeSet action
  does on AWS);
* the staging stack ``APP-staging`` in the staging account: status and outputs (the endpoint);
* the approval action's CustomData and timeout from the pipeline's declaration (GetPipeline).

Each account is reached as the dashboard's reads are (RoleSessionName ``portal-dashboard``). An
account the worker cannot read (a self-launched production account whose observer role does not
exist yet) is not a failure: the review says so, and the page links the console. A change set not
created yet, or still being created, leaves the review incomplete; the next page opened after
core.approvals.REREAD_SECONDS asks for another read.
"""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from sqlalchemy import and_, or_, update
from sqlalchemy.orm import Session, sessionmaker

from core import approvals, pipelines
from core.models import ApprovalReview, ReviewStatus, Setup, utcnow
from core.times import iso
from worker import aws_errors, context, db
from worker.celery_app import app
from worker.deployer import ChangeSetNotFound, DeployerError
from worker.pipeline_refresh import READER, pipeline_location
from worker.sessions import AccessError

logger = logging.getLogger(__name__)

# A read held this long (its worker died) may be claimed again.
STALE_READING = timedelta(minutes=2)
_READ_ERRORS = (ClientError, BotoCoreError, AccessError, DeployerError)


def claim(factory: sessionmaker[Session], review_id: int) -> bool:
    now = utcnow()
    stale = and_(ApprovalReview.status == ReviewStatus.READING.value,
                 ApprovalReview.requested_at < now - STALE_READING)
    with factory() as session:
        taken = session.execute(
            update(ApprovalReview)
            .where(ApprovalReview.id == review_id, or_(ApprovalReview.status == ReviewStatus.PENDING.value, stale))
            .values(status=ReviewStatus.READING.value, requested_at=now)
        ).rowcount
        session.commit()
    return taken == 1


def read(factory: sessionmaker[Session], review_id: int) -> bool:
    """Read one review if it is asked for and nobody else reads it; True if read."""
    if not claim(factory, review_id):
        logger.info("approval review %s was taken or read already", review_id)
        return False
    with factory() as session:
        review = session.get(ApprovalReview, review_id)
        assert review is not None
        setup = session.get(Setup, review.setup_id)
        assert setup is not None
        try:
            _read_into(session, review, setup)
        except Exception:
            # Leave it asked for, so the next page opened reads it again; then let Celery record the failure.
            session.rollback()
            session.execute(update(ApprovalReview).where(ApprovalReview.id == review_id)
                            .values(status=ReviewStatus.READ.value, complete=False, read_at=utcnow(),
                                    change_set_problem="The review could not be read; it is read again soon."))
            session.commit()
            raise
        session.commit()
    return True


def _read_into(session: Session, review: ApprovalReview, setup: Setup) -> None:
    app_name = setup.name or ""
    aws = context.for_user(READER, setup)
    name, build_account, region = pipeline_location(session, setup)
    declared = _approval_declaration(aws, build_account, name)
    resolved = _resolved_custom_data(aws, build_account, name, review.execution_id)
    changes, change_set_problem, change_set_final = _change_set(aws, setup, review.execution_id)
    staging, staging_problem = _staging(aws, setup)
    review.change_set_name = approvals.production_change_set_name(app_name, review.execution_id)
    review.change_set, review.change_set_problem = changes, change_set_problem
    review.staging, review.staging_problem = staging, staging_problem
    if declared is not None:
        declared_text = (declared.get("configuration") or {}).get("CustomData")
        review.custom_data = str(resolved if resolved is not None else declared_text or "")
        timeout = declared.get("timeoutInMinutes")
        review.timeout_minutes = int(timeout) if timeout else None
    review.complete = change_set_final and not staging_problem and declared is not None
    review.status, review.read_at = ReviewStatus.READ.value, utcnow()
    logger.info("approval review %s of %s (execution %s, account %s, %s): change set %s%s", review.id, name,
                review.execution_id, setup.production_account_id, region, changes.get("status", "not found"),
                "" if review.complete else ", incomplete")


def _approval_declaration(aws: context.AwsContext, account_id: str, name: str) -> dict[str, Any] | None:
    """The approval action as the pipeline declares it (CustomData, timeoutInMinutes); None if unreadable."""
    stage_name, action_name = pipelines.APPROVAL_ACTION
    try:
        declaration = aws.codepipeline(account_id).get_pipeline(name=name)["pipeline"]
    except _READ_ERRORS as err:
        logger.warning("cannot read the declaration of %s in account %s: %s", name, account_id, err)
        return None
    for stage in declaration.get("stages", []):
        for action in stage.get("actions", []) if stage.get("name") == stage_name else []:
            if action.get("name") == action_name:
                return dict(action)
    return {}


def _resolved_custom_data(aws: context.AwsContext, account_id: str, name: str, execution_id: str) -> str | None:
    """The CustomData of the execution's approval with its variables resolved (``#{codepipeline.PipelineExecutionId}``
    in the template's text), from ListActionExecutions; None if unreadable. One page holds an execution's actions."""
    stage_name, action_name = pipelines.APPROVAL_ACTION
    try:
        page = aws.codepipeline(account_id).list_action_executions(
            pipelineName=name, filter={"pipelineExecutionId": execution_id})
    except _READ_ERRORS as err:
        logger.warning("cannot list the actions of execution %s of %s: %s", execution_id, name, err)
        return None
    for detail in page.get("actionExecutionDetails", []):  # newest first: the latest run of the approval
        if (detail.get("stageName"), detail.get("actionName")) == (stage_name, action_name):
            given = detail.get("input") or {}
            configuration = given.get("resolvedConfiguration") or given.get("configuration") or {}
            return str(configuration["CustomData"]) if "CustomData" in configuration else None
    return None


def _change_set(aws: context.AwsContext, setup: Setup, execution_id: str) -> tuple[dict[str, Any], str, bool]:
    """(the change set as stored, why it is not shown, whether it will not change any more)."""
    app_name, account = setup.name or "", setup.production_account_id or ""
    stack, name = approvals.production_stack_name(app_name), approvals.production_change_set_name(app_name,
                                                                                                    execution_id)
    try:
        described = aws.deployer(account).describe_change_set(stack, name)
    except ChangeSetNotFound:
        return {}, (f"The change set {name} does not exist (yet) in the production account {account}: the "
                    "pipeline's CreateChangeSet action creates it before the approval waits."), False
    except _READ_ERRORS as err:
        logger.warning("cannot read change set %s in account %s (%s): %s", name, account, setup.region, err)
        return {}, _unreadable("production", account, err), False
    body = {"status": described.status, "status_reason": described.reason,
            "execution_status": described.execution_status, "description": described.description,
            "read_at": iso(utcnow()), "changes": [c.as_dict() for c in described.changes]}
    if described.is_pending:
        return body, f"The change set {name} is still being created ({described.status}).", False
    return body, "", True


def _staging(aws: context.AwsContext, setup: Setup) -> tuple[dict[str, Any], str]:
    app_name, account = setup.name or "", setup.staging_account_id or ""
    stack = approvals.staging_stack_name(app_name)
    try:
        found = aws.cfn(account).describe_stacks(StackName=stack)["Stacks"][0]
    except ClientError as err:
        if aws_errors.is_stack_missing(err):
            return {"stack_name": stack}, f"The staging stack {stack} does not exist in account {account}."
        return {"stack_name": stack}, _unreadable("staging", account, err)
    except _READ_ERRORS as err:
        return {"stack_name": stack}, _unreadable("staging", account, err)
    outputs = [{"key": o.get("OutputKey", ""), "value": o.get("OutputValue", ""),
                "description": o.get("Description", "")} for o in found.get("Outputs") or []]
    return {"stack_name": stack, "status": found.get("StackStatus", ""),
            "status_reason": found.get("StackStatusReason", ""), "outputs": outputs}, ""


def _unreadable(which: str, account: str, err: Exception) -> str:
    aws = err if isinstance(err, ClientError) else err.__cause__
    if isinstance(err, AccessError) or (isinstance(aws, ClientError) and aws_errors.is_access_denied(aws)):
        return (f"The portal cannot read the {which} account {account}: {err}. Review it in the AWS console "
                "(a self-launched account is read only through its observer role, once its stack exists).")
    return f"The {which} account {account} could not be read: {err}"


@app.task(name="worker.read_approval")
def read_approval(review_id: int) -> None:
    """Read the production change set, the staging stack and the approval's CustomData for one review."""
    read(db.session_factory(), review_id)
