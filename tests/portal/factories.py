"""Operation, stack and event rows shaped as the worker writes them (worker/plan.py, apply.py, events.py).

The portal only reads these rows, so its tests seed them directly instead of running a worker.
"""
from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from core.models import Operation, Setup, StackEvent, StackRecord
from tests.portal.helpers import BUILD, PRODUCTION, STAGING

APP = "orders-api"
REGION = "eu-west-1"
DEPLOY_CHANGES = [
    {"action": "Add", "logical_id": "DeployRole", "physical_id": "", "type": "AWS::IAM::Role", "replacement": ""},
    {"action": "Add", "logical_id": "CloudFormationExecutionRole", "physical_id": "", "type": "AWS::IAM::Role",
     "replacement": ""},
    {"action": "Add", "logical_id": "ArtifactReadPolicy", "physical_id": "", "type": "AWS::IAM::Policy",
     "replacement": ""},
]
BUILD_CHANGES = [
    {"action": "Add", "logical_id": "ArtifactKey", "physical_id": "", "type": "AWS::KMS::Key", "replacement": ""},
    {"action": "Add", "logical_id": "ArtifactBucket", "physical_id": "", "type": "AWS::S3::Bucket", "replacement": ""},
    {"action": "Add", "logical_id": "Repository", "physical_id": "", "type": "AWS::CodeCommit::Repository",
     "replacement": ""},
    {"action": "Add", "logical_id": "Pipeline", "physical_id": "", "type": "AWS::CodePipeline::Pipeline",
     "replacement": ""},
]
OUTPUTS = {
    "RepositoryName": APP,
    "RepositoryCloneUrlHttp": f"https://git-codecommit.{REGION}.amazonaws.com/v1/repos/{APP}",
    "RepositoryCloneUrlSsh": f"ssh://git-codecommit.{REGION}.amazonaws.com/v1/repos/{APP}",
    "PipelineName": f"{APP}-pipeline",
    "PipelineConsoleUrl": f"https://{REGION}.console.aws.amazon.com/codesuite/codepipeline/pipelines/{APP}-pipeline/view",
}
_event_ids = itertools.count(1)


def stack_id(account: str, name: str) -> str:
    return f"arn:aws:cloudformation:{REGION}:{account}:stack/{name}/0000-{account}"


def add_operation(session: Session, setup: Setup, kind: str, status: str = "succeeded", **fields: Any) -> Operation:
    """Add an operation; a plan records the setup version it was made from, as the worker does."""
    detail = fields.pop("detail", {})
    if kind == "plan":
        detail = {"setup_version": setup.version, **detail}
    operation = Operation(setup_id=setup.id, kind=kind, status=status, requested_by=fields.pop("requested_by", "operator"),
                          detail=detail, **fields)
    session.add(operation)
    session.flush()
    return operation


def add_stack(session: Session, operation: Operation, role: str = "deploy", account_id: str = STAGING,
              **fields: Any) -> StackRecord:
    name = f"{APP}-pipeline" if role == "build" else f"{APP}-deploy-dependencies"
    values: dict[str, Any] = {
        "stack_name": name, "region": REGION, "action": "create", "phase": "done",
        "changes": BUILD_CHANGES if role == "build" else DEPLOY_CHANGES,
        "change_set_name": f"portal-{operation.setup_id}-{operation.id}", "change_set_type": "CREATE",
        "change_set_status": "CREATE_COMPLETE",
    }
    if fields.get("action") == "unchanged":
        values.update(changes=[], change_set_name="", change_set_status="FAILED", status_reason="up to date")
    values.update(fields)
    record = StackRecord(operation_id=operation.id, role=role, account_id=account_id, **values)
    session.add(record)
    session.flush()
    return record


def add_event(session: Session, record: StackRecord, logical_id: str, resource_type: str, status: str,
              reason: str = "", at: datetime | None = None, recorded_at: datetime | None = None) -> StackEvent:
    event = StackEvent(stack_record_id=record.id, event_id=f"event-{next(_event_ids)}",
                       timestamp=at or datetime.now(UTC), logical_id=logical_id, physical_id="",
                       resource_type=resource_type, status=status, reason=reason,
                       recorded_at=recorded_at or datetime.now(UTC))
    session.add(event)
    session.flush()
    return event


def add_plan(session: Session, setup: Setup, status: str = "succeeded", error: str = "",
             **stacks: dict[str, Any]) -> Operation:
    """A plan of the three stacks (staging and production deploy stacks, then the build stack).

    ``staging=``, ``production=`` and ``build=`` override fields of that stack's record.
    """
    plan = add_operation(session, setup, "plan", status, error=error)
    if status in ("succeeded", "failed"):
        add_stack(session, plan, "deploy", STAGING, **stacks.get("staging", {}))
        add_stack(session, plan, "deploy", PRODUCTION, **stacks.get("production", {}))
        add_stack(session, plan, "build", BUILD, **stacks.get("build", {}))
        plan.stacks_expected = 3
        session.flush()
    return plan


def add_apply(session: Session, setup: Setup, plan: Operation, status: str = "running", **fields: Any) -> Operation:
    """An apply of ``plan`` with the plan's stacks copied, as worker/apply.py start_apply does."""
    applied = add_operation(session, setup, "apply", status, plan_id=plan.id, **fields)
    for planned in plan.stacks:
        add_stack(session, applied, planned.role, planned.account_id, stack_name=planned.stack_name,
                  action=planned.action, phase="pending", changes=planned.changes,
                  change_set_name=planned.change_set_name, detail=dict(planned.detail))
    applied.stacks_expected = len(plan.stacks)
    session.flush()
    session.refresh(applied)
    return applied


def succeeded_detail(setup: Setup, operation: Operation) -> dict[str, Any]:
    """Operation.detail after a successful apply (worker/apply.py summarise)."""
    return {
        "plan_id": operation.plan_id, "setup_version": setup.version, "outputs": OUTPUTS,
        "git_commands": [f"git remote add aws codecommit::{REGION}://{APP}", "git push aws main",
                         f"# or over HTTPS with the AWS CLI credential helper: git remote add aws "
                         f"{OUTPUTS['RepositoryCloneUrlHttp']}"],
        "pipeline_name": OUTPUTS["PipelineName"], "pipeline_console_url": OUTPUTS["PipelineConsoleUrl"],
        "stacks": {f"{r.account_id}/{r.stack_name}": {
            "status": "CREATE_COMPLETE",
            "console_url": f"https://{REGION}.console.aws.amazon.com/cloudformation/home?region={REGION}"
                           f"#/stacks/stackinfo?stackId={r.account_id}"} for r in operation.stacks},
    }


def minutes_ago(minutes: float) -> datetime:
    return datetime.now(UTC) - timedelta(minutes=minutes)
