"""Start a release, retry a failed stage, stop an execution: one Celery task each, taking a request id.

The portal records a ``PipelineRequest`` and commits, then sends the task. The task claims the
request (pending → running, a conditional UPDATE, so a re-delivered message does nothing), acts
in the build account as the requesting user (RoleSessionName ``portal-<user>``, so CloudTrail
shows who), records AWS's answer on the request and in the audit log, and asks for a fresh read
of the pipeline. A refusal by AWS (``StageNotRetryableException``, an execution no longer
stoppable, ...) is an answer, not a crash: the request fails with AWS's own message. Anything
else marks the request failed, then re-raises (STYLE.md, habit 6).

A release is idempotent at AWS too: its ``clientRequestToken`` is the request's id, so sending it
twice starts one execution.
"""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from botocore.exceptions import ClientError
from sqlalchemy import and_, or_, update
from sqlalchemy.orm import Session, sessionmaker

from core.models import (AuditEntry, PipelineRequest, PipelineRequestKind, PipelineRequestStatus, PipelineSnapshot,
                         Setup, utcnow)
from worker import aws_errors, context, db
from worker.celery_app import app
from worker.pipeline_refresh import pipeline_location

logger = logging.getLogger(__name__)

# A request left running this long (its worker died between claim and answer) may be claimed
# again: a release re-sent carries the same clientRequestToken; a retry or stop sent twice gets
# AWS's refusal, recorded as such.
STALE_RUNNING = timedelta(minutes=5)
RETRY_MODE = "FAILED_ACTIONS"


def claim(factory: sessionmaker[Session], request_id: int) -> bool:
    now = utcnow()
    pending = PipelineRequest.status == PipelineRequestStatus.PENDING.value
    stale = and_(PipelineRequest.status == PipelineRequestStatus.RUNNING.value,
                 PipelineRequest.started_at < now - STALE_RUNNING)
    with factory() as session:
        taken = session.execute(update(PipelineRequest).where(PipelineRequest.id == request_id, or_(pending, stale))
                                .values(status=PipelineRequestStatus.RUNNING.value, started_at=now)).rowcount
        session.commit()
    return taken == 1


def _send(request: PipelineRequest, client: Any, name: str) -> tuple[str, str]:
    """Send the request to CodePipeline; return (execution id, what AWS answered)."""
    if request.kind == PipelineRequestKind.RELEASE.value:
        answer = client.start_pipeline_execution(name=name, clientRequestToken=f"portal-request-{request.id}")
        return answer["pipelineExecutionId"], f"Execution {answer['pipelineExecutionId']} started."
    if request.kind == PipelineRequestKind.RETRY.value:
        answer = client.retry_stage_execution(pipelineName=name, stageName=request.stage,
                                              pipelineExecutionId=request.execution_id, retryMode=RETRY_MODE)
        return answer["pipelineExecutionId"], (f"Stage {request.stage} of execution {request.execution_id} "
                                               "is retrying its failed actions.")
    if request.kind == PipelineRequestKind.STOP.value:
        answer = client.stop_pipeline_execution(pipelineName=name, pipelineExecutionId=request.execution_id,
                                                abandon=False, reason=request.reason)
        return answer["pipelineExecutionId"], (f"Execution {request.execution_id} is stopping: in-progress "
                                               "actions finish first.")
    raise ValueError(f"unknown pipeline request kind {request.kind!r}")


def _finish(session: Session, request: PipelineRequest, status: PipelineRequestStatus, message: str,
            execution_id: str = "") -> None:
    request.status, request.message, request.finished_at = status.value, message[:2000], utcnow()
    if execution_id:
        request.execution_id = execution_id
    outcome = "success" if status == PipelineRequestStatus.SUCCEEDED else "failed"
    session.add(AuditEntry(actor=request.requested_by[:64], action=f"pipeline.{request.kind}",
                           target=f"setup:{request.setup_id}", outcome=outcome, message=message[:2000],
                           detail={"request_id": request.id, "stage": request.stage,
                                   "execution_id": request.execution_id, "reason": request.reason}))
    # Show the effect soon, whoever watches: one read, whatever the number of viewers.
    session.execute(update(PipelineSnapshot).where(PipelineSnapshot.setup_id == request.setup_id)
                    .values(next_read_at=utcnow()))


def run(factory: sessionmaker[Session], request_id: int) -> None:
    """Carry out one request once (see the module docstring)."""
    if not claim(factory, request_id):
        logger.info("pipeline request %s was taken or finished already", request_id)
        return
    with factory() as session:
        request = session.get(PipelineRequest, request_id)
        assert request is not None
        setup = session.get(Setup, request.setup_id)
        assert setup is not None
        name, account, region = pipeline_location(session, setup)
        try:
            client = context.for_user(request.requested_by, setup).codepipeline(account)
            execution_id, message = _send(request, client, name)
        except ClientError as err:
            if not aws_errors.is_pipeline_refusal(err):
                _fail_and_raise(session, request, err)
            message = f"AWS refused: {aws_errors.error_code(err)}: {aws_errors.error_message(err)}"
            logger.info("pipeline %s (account %s, %s) refused %s request %s: %s", name, account, region,
                        request.kind, request.id, message)
            _finish(session, request, PipelineRequestStatus.FAILED, message)
        except Exception as err:
            _fail_and_raise(session, request, err)
        else:
            logger.info("pipeline %s (account %s, %s): %s request %s: %s", name, account, region, request.kind,
                        request.id, message)
            _finish(session, request, PipelineRequestStatus.SUCCEEDED, message, execution_id)
        session.commit()


def _fail_and_raise(session: Session, request: PipelineRequest, err: Exception) -> None:
    session.rollback()
    _finish(session, request, PipelineRequestStatus.FAILED, f"Could not be sent: {err}")
    session.commit()
    raise err


@app.task(name="worker.start_release")
def start_release(request_id: int) -> None:
    """Start a pipeline execution (StartPipelineExecution)."""
    run(db.session_factory(), request_id)


@app.task(name="worker.retry_stage")
def retry_stage(request_id: int) -> None:
    """Retry a stage's failed actions (RetryStageExecution, FAILED_ACTIONS)."""
    run(db.session_factory(), request_id)


@app.task(name="worker.stop_execution")
def stop_execution(request_id: int) -> None:
    """Stop an execution with the user's reason (StopPipelineExecution)."""
    run(db.session_factory(), request_id)
