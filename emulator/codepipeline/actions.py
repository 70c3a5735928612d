"""What starting an action means, per action type: its outcome, duration, ids and console links.

A CodeCommit Source action does its real work when it starts: the commit's tree, zipped, into the
artifact bucket (``emulator.codecommit.source_action``). An action whose provider registered a
starter (``emulator.codepipeline.jobs``) runs as a job and ends when its work does. Any other action
takes ``STATE.pace`` seconds and succeeds, unless a failure was injected for it or its work failed
(for a source action: no commit on its branch, no bucket or KMS key); a Manual approval waits for
PutApprovalResult instead. An injected failure wins over a job: the action fails without working.
"""
from __future__ import annotations

import logging
from typing import Any, Callable
from urllib.parse import quote

from emulator.codecommit import source_action
from emulator.codepipeline import jobs
from emulator.codepipeline.jobs import FAILED_CODE
from emulator.codepipeline.models import ActionRun, Execution, new_id
from emulator.state import STATE

logger = logging.getLogger(__name__)


def is_manual_approval(action: dict[str, Any]) -> bool:
    type_id = action["actionTypeId"]
    return type_id["category"] == "Approval" and type_id["provider"] == "Manual"


def start_run(execution: Execution, action: dict[str, Any], at: float, region: str, account_id: str,
              pipeline_arn: str = "", wake: Callable[[], None] = lambda: None) -> ActionRun:
    """Create the run of ``action`` (in the pipeline's account and region) starting at ``at``; decide how it ends.

    ``wake`` lets a job move the execution on when its work ends.
    """
    attempt = execution.stage_attempts.get(execution.stage_name, 0)
    run = ActionRun(execution.execution_id, execution.version, execution.stage_name, action,
                    start=at, due=None, attempt=attempt)
    failure = STATE.take_action_failure(execution.pipeline_name, run.stage_name, run.name)
    if failure is not None:
        logger.info("injected failure for %s/%s/%s: %s", execution.pipeline_name, run.stage_name,
                    run.name, failure.reason)
        run.planned_error = (FAILED_CODE, failure.reason)
    if run.category == "Source":
        _prepare_source(run, execution, action.get("region") or region, account_id)
    elif run.provider == "CodeBuild":
        project = run.configuration.get("ProjectName", "project")
        build_id = f"{project}:{new_id()}"
        run.external_id = build_id
        run.external_url = (f"https://{region}.console.aws.amazon.com/codesuite/codebuild/projects/"
                            f"{project}/build/{quote(build_id, safe='')}/?region={region}")
    elif run.provider == "CloudFormation":
        stack = run.configuration.get("StackName", "")
        run.external_id = stack or None
        run.external_url = _stack_url(action, region)
    execution.runs.append(run)
    if is_manual_approval(action) and run.planned_error is None:
        run.token = new_id()  # waits, with no due time, until PutApprovalResult
    elif run.planned_error is not None or not _start_job(run, execution, action.get("region") or region,
                                                         account_id, pipeline_arn, wake):
        run.due = at + STATE.pace  # a timed action; a job has no due time: it says when it ends
    return run


def _start_job(run: ActionRun, execution: Execution, region: str, account_id: str, pipeline_arn: str,
               wake: Callable[[], None]) -> bool:
    """Start the action's work if its provider does real work; False when it is a timed action."""
    starter = jobs.starter_for(run)
    if starter is None:
        return False
    try:
        context = jobs.context_for(execution, run, account_id, region, pipeline_arn, wake)
    except jobs.UnresolvedVariable as err:
        run.planned_error = (FAILED_CODE, str(err))
        return False
    run.job = starter(context)
    return True


def _prepare_source(run: ActionRun, execution: Execution, region: str, account_id: str) -> None:
    revision = execution.revisions.get(run.name)
    if revision is None:
        return
    if revision.missing_reason and run.planned_error is None:
        run.planned_error = (FAILED_CODE, revision.missing_reason)
    if run.provider == "CodeCommit" and run.planned_error is None and revision.revision_id:
        _write_source_artifact(run, execution, region, account_id, revision.revision_id)
    run.external_id = revision.revision_id
    run.external_url = revision.url
    run.summary = revision.summary
    run.output_variables = dict(revision.output_variables)


def _write_source_artifact(run: ActionRun, execution: Execution, region: str, account_id: str,
                           commit_id: str) -> None:
    outputs = run.declaration.get("outputArtifacts") or []
    if not outputs:
        return  # nothing to hand to later actions
    if run.configuration.get("OutputArtifactFormat", "CODE_ZIP") != "CODE_ZIP":
        run.planned_error = (FAILED_CODE, "The emulator produces CODE_ZIP source artifacts only, not "
                                          f"{run.configuration['OutputArtifactFormat']}.")
        return
    try:
        source_action.write_artifact(account_id, region, execution.declaration,
                                     run.configuration.get("RepositoryName", ""), commit_id,
                                     execution.artifact_key(str(outputs[0]["name"])))
    except source_action.SourceActionError as err:
        run.planned_error = (FAILED_CODE, str(err))


def job_outcome(run: ActionRun) -> jobs.Outcome | None:
    """How a run's job ended, or None while it works or when the run has no job."""
    return run.job.outcome() if run.job is not None and run.status == "InProgress" else None


def complete_run(run: ActionRun, at: float) -> None:
    """End a run: a job's as its work ended, a timed one as planned."""
    outcome = job_outcome(run)
    if outcome is not None:
        run.output_variables.update(outcome.output_variables)
        run.external_id = outcome.external_id or run.external_id
        run.external_url = outcome.external_url or run.external_url
        run.finish("Succeeded" if outcome.succeeded else "Failed", at)
        run.summary = outcome.summary
        if not outcome.succeeded:
            run.error_details = {"code": outcome.error_code, "message": outcome.summary or "no reason given"}
        return
    if run.planned_error is None:
        run.finish("Succeeded", at)
        return
    code, message = run.planned_error
    run.finish("Failed", at)
    run.summary = message
    run.error_details = {"code": code, "message": message}


def entity_url(action: dict[str, Any], region: str) -> str | None:
    """The console page of the thing an action works on, as GetPipelineState's ``entityUrl``."""
    provider = action["actionTypeId"]["provider"]
    config = action.get("configuration") or {}
    region = action.get("region") or region
    if provider == "CodeCommit":
        return (f"https://{region}.console.aws.amazon.com/codesuite/codecommit/repositories/"
                f"{config.get('RepositoryName', '')}/browse?region={region}")
    if provider == "CodeStarSourceConnection":
        return f"https://github.com/{config.get('FullRepositoryId', '')}/tree/{config.get('BranchName', '')}"
    if provider == "CodeBuild":
        return (f"https://{region}.console.aws.amazon.com/codesuite/codebuild/projects/"
                f"{config.get('ProjectName', '')}/history?region={region}")
    if provider == "CloudFormation":
        return _stack_url(action, region)
    if provider == "Manual":
        return config.get("ExternalEntityLink") or None
    return None


def _stack_url(action: dict[str, Any], region: str) -> str:
    region = action.get("region") or region
    stack = (action.get("configuration") or {}).get("StackName", "")
    return (f"https://{region}.console.aws.amazon.com/cloudformation/home?region={region}"
            f"#/stacks?filteringText={quote(stack)}")
