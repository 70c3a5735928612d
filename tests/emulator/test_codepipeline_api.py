"""CodePipeline API rules in the emulator: AWS's modelled errors, validation and paging."""
from __future__ import annotations

import json

import pytest

from tests.emulator.helpers import DEFAULT_ACCOUNT, control
from tests.emulator.codepipeline_helpers import (
    PIPELINE,
    ROLE,
    approval_token,
    contract_declaration,
    create_contract_pipeline,
    create_role_and_repository,
    push,
)

# These tests are about the API's answers, not the actions' work: actions are timed stand-ins.
pytestmark = pytest.mark.usefixtures("timed_actions")

APPROVE = {"pipelineName": PIPELINE, "stageName": "ApproveProduction", "actionName": "Approve"}
OK = {"summary": "ok", "status": "Approved"}


def _error_code(excinfo: pytest.ExceptionInfo) -> str:
    return str(excinfo.value.response["Error"]["Code"])


def test_rejects_approval_with_unknown_token(client):
    pipelines = create_contract_pipeline(client)
    push("waiting")

    with pytest.raises(pipelines.exceptions.InvalidApprovalTokenException):
        pipelines.put_approval_result(**APPROVE, result=OK, token="00000000-0000-0000-0000-000000000000")


def test_rejects_second_decision_on_the_same_approval(client):
    pipelines = create_contract_pipeline(client)
    push("waiting")
    token = approval_token(pipelines)
    pipelines.put_approval_result(**APPROVE, result=OK, token=token)

    with pytest.raises(pipelines.exceptions.ApprovalAlreadyCompletedException):
        pipelines.put_approval_result(**APPROVE, result={"summary": "no", "status": "Rejected"}, token=token)


@pytest.mark.parametrize("stage_name, action_name, error", [
    ("Nowhere", "Approve", "StageNotFoundException"),
    ("ApproveProduction", "Nobody", "ActionNotFoundException"),
])
def test_rejects_approval_for_unknown_stage_or_action(client, stage_name, action_name, error):
    pipelines = create_contract_pipeline(client)
    push("waiting")

    with pytest.raises(pipelines.exceptions.ClientError) as excinfo:
        pipelines.put_approval_result(pipelineName=PIPELINE, stageName=stage_name, actionName=action_name,
                                      result=OK, token=approval_token(pipelines))
    assert _error_code(excinfo) == error


@pytest.mark.parametrize("call", [
    lambda p: p.get_pipeline_state(name="missing"),
    lambda p: p.list_pipeline_executions(pipelineName="missing"),
    lambda p: p.start_pipeline_execution(name="missing"),
    lambda p: p.list_action_executions(pipelineName="missing"),
    lambda p: p.put_approval_result(pipelineName="missing", stageName="s", actionName="a", result=OK,
                                    token="00000000-0000-0000-0000-000000000000"),
])
def test_unknown_pipeline_is_not_found(client, call):
    pipelines = client("codepipeline")

    with pytest.raises(pipelines.exceptions.PipelineNotFoundException):
        call(pipelines)


def test_unknown_execution_is_not_found(client):
    pipelines = create_contract_pipeline(client)
    unknown = "11111111-2222-3333-4444-555555555555"

    with pytest.raises(pipelines.exceptions.PipelineExecutionNotFoundException):
        pipelines.get_pipeline_execution(pipelineName=PIPELINE, pipelineExecutionId=unknown)
    with pytest.raises(pipelines.exceptions.PipelineExecutionNotFoundException):
        pipelines.list_action_executions(pipelineName=PIPELINE, filter={"pipelineExecutionId": unknown})


def test_retry_of_a_stage_that_did_not_fail_is_not_retryable(client):
    pipelines = create_contract_pipeline(client)
    execution_id = push("fine").executions[0]["pipelineExecutionId"]

    with pytest.raises(pipelines.exceptions.StageNotRetryableException):
        pipelines.retry_stage_execution(pipelineName=PIPELINE, stageName="Build",
                                        pipelineExecutionId=execution_id, retryMode="FAILED_ACTIONS")


def test_retry_of_an_outdated_execution_is_rejected(client, emulator):
    control(emulator, "failures", {"type": "action", "stage_name": "Build", "action_name": "BuildAndTest",
                                   "count": 1})
    pipelines = create_contract_pipeline(client)
    outdated = push("fails").executions[0]["pipelineExecutionId"]
    push("passes")

    with pytest.raises(pipelines.exceptions.NotLatestPipelineExecutionException):
        pipelines.retry_stage_execution(pipelineName=PIPELINE, stageName="Build",
                                        pipelineExecutionId=outdated, retryMode="ALL_ACTIONS")


def test_stop_of_a_finished_execution_is_not_stoppable(client):
    pipelines = create_contract_pipeline(client)
    [first] = pipelines.list_pipeline_executions(pipelineName=PIPELINE)["pipelineExecutionSummaries"]

    with pytest.raises(pipelines.exceptions.PipelineExecutionNotStoppableException):
        pipelines.stop_pipeline_execution(pipelineName=PIPELINE, pipelineExecutionId=first["pipelineExecutionId"])


def test_create_pipeline_rejects_role_that_codepipeline_cannot_assume(client):
    create_role_and_repository(client)
    client("iam").update_assume_role_policy(RoleName=ROLE, PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "codebuild.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
    pipelines = client("codepipeline")

    with pytest.raises(pipelines.exceptions.InvalidStructureException) as excinfo:
        pipelines.create_pipeline(pipeline=contract_declaration())
    assert ROLE in str(excinfo.value)


def test_create_pipeline_rejects_input_artifact_no_earlier_action_produces(client):
    create_role_and_repository(client)
    declaration = contract_declaration()
    declaration["stages"][1]["actions"][0]["inputArtifacts"] = [{"name": "Typo"}]
    pipelines = client("codepipeline")

    with pytest.raises(pipelines.exceptions.InvalidStructureException) as excinfo:
        pipelines.create_pipeline(pipeline=declaration)
    assert "Typo" in str(excinfo.value)


def test_create_pipeline_rejects_a_name_in_use(client):
    pipelines = create_contract_pipeline(client)

    with pytest.raises(pipelines.exceptions.PipelineNameInUseException):
        pipelines.create_pipeline(pipeline=contract_declaration())


def test_get_pipeline_shows_the_defaults_aws_fills_in(client):
    pipelines = create_contract_pipeline(client)

    declaration = pipelines.get_pipeline(name=PIPELINE)["pipeline"]

    assert declaration["version"] == 1
    assert declaration["executionMode"] == "SUPERSEDED"
    assert pipelines.get_pipeline(name=PIPELINE)["metadata"]["pipelineArn"] == (
        f"arn:aws:codepipeline:us-east-1:{DEFAULT_ACCOUNT}:{PIPELINE}")


def test_list_pipeline_executions_pages_newest_first(client):
    pipelines = create_contract_pipeline(client)
    pushed = [push(f"change {i}").executions[0]["pipelineExecutionId"] for i in range(3)]

    first = pipelines.list_pipeline_executions(pipelineName=PIPELINE, maxResults=2)
    second = pipelines.list_pipeline_executions(pipelineName=PIPELINE, maxResults=2, nextToken=first["nextToken"])

    ids = [e["pipelineExecutionId"] for e in first["pipelineExecutionSummaries"] + second["pipelineExecutionSummaries"]]
    assert ids[:3] == list(reversed(pushed))
    assert len(ids) == 4 and "nextToken" not in second


def test_list_pipeline_executions_filters_by_stage_succeeded(client):
    pipelines = create_contract_pipeline(client)
    done = push("done").executions[0]["pipelineExecutionId"]
    pipelines.put_approval_result(**APPROVE, result=OK, token=approval_token(pipelines))
    push("halfway")

    found = pipelines.list_pipeline_executions(pipelineName=PIPELINE,
                                               filter={"succeededInStage": {"stageName": "DeployProduction"}})

    assert [e["pipelineExecutionId"] for e in found["pipelineExecutionSummaries"]] == [done]


def test_start_pipeline_execution_is_idempotent_per_client_request_token(client):
    pipelines = create_contract_pipeline(client)
    push("head")

    first = pipelines.start_pipeline_execution(name=PIPELINE, clientRequestToken="retry-1")
    again = pipelines.start_pipeline_execution(name=PIPELINE, clientRequestToken="retry-1")

    assert first["pipelineExecutionId"] == again["pipelineExecutionId"]


def test_start_pipeline_execution_fetches_the_branch_head(client):
    pipelines = create_contract_pipeline(client)
    head = push("latest").commit_id

    execution_id = pipelines.start_pipeline_execution(name=PIPELINE)["pipelineExecutionId"]

    execution = pipelines.get_pipeline_execution(pipelineName=PIPELINE, pipelineExecutionId=execution_id)
    assert execution["pipelineExecution"]["artifactRevisions"][0]["revisionId"] == head
    assert execution["pipelineExecution"]["trigger"] == {
        "triggerType": "StartPipelineExecution", "triggerDetail": f"arn:aws:iam::{DEFAULT_ACCOUNT}:user/moto"}
