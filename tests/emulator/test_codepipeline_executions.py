"""CodePipeline executions in the emulator: stage by stage, approval, failures, retries, modes."""
from __future__ import annotations

import json
import re
import time

import pytest

from emulator import codepipeline
from tests.emulator.helpers import control
from tests.emulator.codepipeline_helpers import (
    PIPELINE,
    STAGES,
    action,
    approval_token,
    contract_declaration,
    create_contract_pipeline,
    execution_status,
    push,
    stage,
)
from tests.waiting import wait_for

# These tests are about executions, not the actions' work: actions are timed stand-ins.
pytestmark = pytest.mark.usefixtures("timed_actions")


def test_execution_waits_at_manual_approval_with_token(client):
    pipelines = create_contract_pipeline(client)
    execution_id = push("Add orders endpoint").executions[0]["pipelineExecutionId"]

    state = pipelines.get_pipeline_state(name=PIPELINE)

    assert [s["stageName"] for s in state["stageStates"]] == STAGES
    for name in ("Source", "Build", "DeployStaging"):
        assert stage(state, name)["latestExecution"] == {
            "pipelineExecutionId": execution_id, "status": "Succeeded", "type": "STANDARD"}
    assert stage(state, "ApproveProduction")["latestExecution"]["status"] == "InProgress"
    assert action(state, "ApproveProduction", "CreateChangeSet")["latestExecution"]["status"] == "Succeeded"
    approve = action(state, "ApproveProduction", "Approve")
    assert approve["latestExecution"]["status"] == "InProgress"
    assert len(approve["latestExecution"]["token"]) == 36
    assert approve["entityUrl"] == "http://localhost:5000/approvals"
    assert "latestExecution" not in stage(state, "DeployProduction")
    assert execution_status(pipelines, execution_id) == "InProgress"


def test_source_action_shows_the_pushed_commit(client):
    pipelines = create_contract_pipeline(client)
    pushed = push("Fix rounding of totals")

    state = pipelines.get_pipeline_state(name=PIPELINE)
    execution = pipelines.get_pipeline_execution(
        pipelineName=PIPELINE, pipelineExecutionId=pushed.executions[0]["pipelineExecutionId"]
    )["pipelineExecution"]

    source = action(state, "Source", "Source")
    assert re.fullmatch("[0-9a-f]{40}", pushed.commit_id), pushed.commit_id  # a git commit id
    assert source["currentRevision"]["revisionId"] == pushed.commit_id
    assert source["latestExecution"]["summary"] == "Fix rounding of totals"
    assert pushed.commit_id in source["revisionUrl"]
    assert "orders-api" in source["entityUrl"]
    [revision] = execution["artifactRevisions"]
    assert (revision["name"], revision["revisionId"], revision["revisionSummary"]) == (
        "SourceOutput", pushed.commit_id, "Fix rounding of totals")
    assert execution["trigger"]["triggerType"] == "CloudWatchEvent"


def test_approval_continues_execution_to_success(client):
    pipelines = create_contract_pipeline(client)
    execution_id = push("Ship it").executions[0]["pipelineExecutionId"]

    approved = pipelines.put_approval_result(
        pipelineName=PIPELINE, stageName="ApproveProduction", actionName="Approve",
        result={"summary": "Change set reviewed", "status": "Approved"}, token=approval_token(pipelines),
    )

    state = pipelines.get_pipeline_state(name=PIPELINE)
    assert approved["approvedAt"] is not None
    assert execution_status(pipelines, execution_id) == "Succeeded"
    assert all(stage(state, name)["latestExecution"]["status"] == "Succeeded" for name in STAGES)
    approve = action(state, "ApproveProduction", "Approve")["latestExecution"]
    assert approve["summary"] == "Change set reviewed"
    assert approve["lastUpdatedBy"] == "arn:aws:iam::123456789012:user/moto"
    assert "token" not in approve


def test_rejection_fails_stage_and_execution(client):
    pipelines = create_contract_pipeline(client)
    execution_id = push("Risky change").executions[0]["pipelineExecutionId"]

    pipelines.put_approval_result(
        pipelineName=PIPELINE, stageName="ApproveProduction", actionName="Approve",
        result={"summary": "Drops a table", "status": "Rejected"}, token=approval_token(pipelines),
    )

    state = pipelines.get_pipeline_state(name=PIPELINE)
    execution = pipelines.get_pipeline_execution(pipelineName=PIPELINE, pipelineExecutionId=execution_id)
    assert stage(state, "ApproveProduction")["latestExecution"]["status"] == "Failed"
    assert action(state, "ApproveProduction", "Approve")["latestExecution"]["status"] == "Failed"
    assert action(state, "ApproveProduction", "Approve")["latestExecution"]["summary"] == "Drops a table"
    assert execution["pipelineExecution"]["status"] == "Failed"
    assert "Drops a table" in execution["pipelineExecution"]["statusSummary"]
    assert "latestExecution" not in stage(state, "DeployProduction")


def test_injected_action_failure_fails_action_stage_and_execution(client, emulator):
    control(emulator, "failures", {"type": "action", "stage_name": "Build", "action_name": "BuildAndTest",
                                   "reason": "go test: 2 tests failed", "count": 1})
    pipelines = create_contract_pipeline(client)
    execution_id = push("Break the build").executions[0]["pipelineExecutionId"]

    state = pipelines.get_pipeline_state(name=PIPELINE)

    build = action(state, "Build", "BuildAndTest")["latestExecution"]
    assert build["status"] == "Failed"
    assert build["errorDetails"] == {"code": "JobFailed", "message": "go test: 2 tests failed"}
    assert stage(state, "Build")["latestExecution"]["status"] == "Failed"
    assert "latestExecution" not in stage(state, "DeployStaging")
    assert execution_status(pipelines, execution_id) == "Failed"


def test_retry_of_failed_actions_reruns_the_failed_action(client, emulator):
    control(emulator, "failures", {"type": "action", "stage_name": "Build", "action_name": "BuildAndTest",
                                   "count": 1})
    pipelines = create_contract_pipeline(client)
    execution_id = push("Flaky test").executions[0]["pipelineExecutionId"]

    pipelines.retry_stage_execution(pipelineName=PIPELINE, stageName="Build",
                                    pipelineExecutionId=execution_id, retryMode="FAILED_ACTIONS")

    state = pipelines.get_pipeline_state(name=PIPELINE)
    assert stage(state, "Build")["latestExecution"]["status"] == "Succeeded"
    assert stage(state, "Build")["retryStageMetadata"]["manualStageRetryAttempt"] == 1
    assert stage(state, "ApproveProduction")["latestExecution"]["status"] == "InProgress"
    assert execution_status(pipelines, execution_id) == "InProgress"
    runs = pipelines.list_action_executions(pipelineName=PIPELINE, filter={"pipelineExecutionId": execution_id})
    builds = [d["status"] for d in runs["actionExecutionDetails"] if d["actionName"] == "BuildAndTest"]
    assert builds == ["Succeeded", "Failed"]  # newest first
    sources = [d for d in runs["actionExecutionDetails"] if d["actionName"] == "Source"]
    assert len(sources) == 1


def test_retry_of_failed_actions_keeps_succeeded_actions_of_the_stage(client, emulator):
    control(emulator, "failures", {"type": "action", "stage_name": "ApproveProduction",
                                   "action_name": "Approve", "count": 1})
    pipelines = create_contract_pipeline(client)
    execution_id = push("Approval glitch").executions[0]["pipelineExecutionId"]
    assert execution_status(pipelines, execution_id) == "Failed"

    pipelines.retry_stage_execution(pipelineName=PIPELINE, stageName="ApproveProduction",
                                    pipelineExecutionId=execution_id, retryMode="FAILED_ACTIONS")

    runs = pipelines.list_action_executions(pipelineName=PIPELINE, filter={"pipelineExecutionId": execution_id})
    names = [d["actionName"] for d in runs["actionExecutionDetails"]]
    assert names.count("CreateChangeSet") == 1 and names.count("Approve") == 2
    assert approval_token(pipelines)


def test_newer_execution_supersedes_older_one_waiting_at_the_same_stage(client):
    pipelines = create_contract_pipeline(client)
    first = push("one").executions[0]["pipelineExecutionId"]
    second = push("two").executions[0]["pipelineExecutionId"]

    waiting = stage(pipelines.get_pipeline_state(name=PIPELINE), "ApproveProduction")
    assert waiting["latestExecution"]["pipelineExecutionId"] == first
    assert waiting["inboundExecution"]["pipelineExecutionId"] == second

    third = push("three").executions[0]["pipelineExecutionId"]

    assert execution_status(pipelines, second) == "Superseded"
    pipelines.put_approval_result(pipelineName=PIPELINE, stageName="ApproveProduction", actionName="Approve",
                                  result={"summary": "ok", "status": "Approved"}, token=approval_token(pipelines))
    assert execution_status(pipelines, first) == "Succeeded"
    state = pipelines.get_pipeline_state(name=PIPELINE)
    assert stage(state, "ApproveProduction")["latestExecution"]["pipelineExecutionId"] == third
    assert action(state, "Source", "Source")["latestExecution"]["summary"] == "three"
    statuses = [e["status"] for e in pipelines.list_pipeline_executions(pipelineName=PIPELINE)
                ["pipelineExecutionSummaries"]]
    assert statuses == ["InProgress", "Superseded", "Succeeded", "Failed"]  # newest first; last: CreatePipeline


def test_queued_mode_lets_waiting_executions_in_first_come_first_served(client):
    pipelines = create_contract_pipeline(client, mode="QUEUED")
    first, second, third = (push(m).executions[0]["pipelineExecutionId"] for m in ("one", "two", "three"))

    assert [execution_status(pipelines, e) for e in (second, third)] == ["InProgress", "InProgress"]
    inbound = stage(pipelines.get_pipeline_state(name=PIPELINE), "ApproveProduction")["inboundExecutions"]
    assert [e["pipelineExecutionId"] for e in inbound] == [second, third]
    for expected in (first, second):
        assert stage(pipelines.get_pipeline_state(name=PIPELINE), "ApproveProduction")[
            "latestExecution"]["pipelineExecutionId"] == expected
        pipelines.put_approval_result(pipelineName=PIPELINE, stageName="ApproveProduction", actionName="Approve",
                                      result={"summary": "ok", "status": "Approved"},
                                      token=approval_token(pipelines))
    assert [execution_status(pipelines, e) for e in (first, second, third)] == [
        "Succeeded", "Succeeded", "InProgress"]


def test_actions_take_pace_seconds_each(client, emulator):
    pipelines = create_contract_pipeline(client)  # unpaced: its first execution fails at once
    control(emulator, "pace", {"seconds": 0.3})
    started = time.monotonic()
    execution_id = push("paced").executions[0]["pipelineExecutionId"]

    state = pipelines.get_pipeline_state(name=PIPELINE)
    assert action(state, "Source", "Source")["latestExecution"]["status"] == "InProgress"
    assert "percentComplete" in action(state, "Source", "Source")["latestExecution"]
    assert "latestExecution" not in stage(state, "Build")

    wait_for(lambda: stage(pipelines.get_pipeline_state(name=PIPELINE), "Build").get(
        "latestExecution", {}).get("status") == "InProgress", 5, "the Build stage to start")
    assert time.monotonic() - started >= 0.3
    # Source, Build, DeployStaging and CreateChangeSet: four paced actions before the approval.
    wait_for(lambda: action(pipelines.get_pipeline_state(name=PIPELINE), "ApproveProduction", "Approve").get(
        "latestExecution", {}).get("status") == "InProgress", 5, "the approval to wait")
    assert time.monotonic() - started >= 1.2
    assert execution_status(pipelines, execution_id) == "InProgress"


def test_first_execution_fails_at_source_while_the_branch_has_no_commit(client):
    pipelines = create_contract_pipeline(client)

    [execution] = pipelines.list_pipeline_executions(pipelineName=PIPELINE)["pipelineExecutionSummaries"]

    assert execution["trigger"]["triggerType"] == "CreatePipeline"
    assert execution["status"] == "Failed"
    source = action(pipelines.get_pipeline_state(name=PIPELINE), "Source", "Source")["latestExecution"]
    assert source["status"] == "Failed"
    assert "no branch named main" in source["errorDetails"]["message"]


def test_push_starts_only_pipelines_watching_that_branch(client):
    pipelines = create_contract_pipeline(client)
    pipelines.create_pipeline(pipeline=contract_declaration(name="orders-api-feature", branch="feature"))
    result = push("feature work", branch="feature")

    assert [e["pipelineName"] for e in result.executions] == ["orders-api-feature"]
    assert len(pipelines.list_pipeline_executions(pipelineName=PIPELINE)["pipelineExecutionSummaries"]) == 1


def test_push_to_unknown_repository_is_rejected(client):
    create_contract_pipeline(client)

    with pytest.raises(codepipeline.UnknownRepositoryError):
        push("lost", repository="no-such-repo")


def test_stop_and_abandon_stops_execution_waiting_for_approval(client):
    pipelines = create_contract_pipeline(client)
    execution_id = push("stop me").executions[0]["pipelineExecutionId"]

    pipelines.stop_pipeline_execution(pipelineName=PIPELINE, pipelineExecutionId=execution_id,
                                      abandon=True, reason="Wrong branch")

    state = pipelines.get_pipeline_state(name=PIPELINE)
    assert execution_status(pipelines, execution_id) == "Stopped"
    assert stage(state, "ApproveProduction")["latestExecution"]["status"] == "Stopped"
    assert action(state, "ApproveProduction", "Approve")["latestExecution"]["status"] == "Abandoned"
    [summary] = [e for e in pipelines.list_pipeline_executions(pipelineName=PIPELINE)["pipelineExecutionSummaries"]
                 if e["pipelineExecutionId"] == execution_id]
    assert summary["stopTrigger"] == {"reason": "Wrong branch"}


def test_stop_and_wait_lets_the_running_action_finish(client, emulator):
    pipelines = create_contract_pipeline(client)
    control(emulator, "pace", {"seconds": 0.3})
    execution_id = push("stop after build").executions[0]["pipelineExecutionId"]

    pipelines.stop_pipeline_execution(pipelineName=PIPELINE, pipelineExecutionId=execution_id, abandon=False)

    assert execution_status(pipelines, execution_id) == "Stopping"
    assert stage(pipelines.get_pipeline_state(name=PIPELINE), "Source")["latestExecution"]["status"] == "Stopping"
    wait_for(lambda: execution_status(pipelines, execution_id) == "Stopped", 5, "the execution to stop")
    state = pipelines.get_pipeline_state(name=PIPELINE)
    assert action(state, "Source", "Source")["latestExecution"]["status"] == "Succeeded"
    assert stage(state, "Source")["latestExecution"]["status"] == "Stopped"
    assert "latestExecution" not in stage(state, "Build")


def test_github_push_starts_v2_pipeline_whose_trigger_filter_matches_the_branch(client):
    declaration = contract_declaration(name="orders-api-github")
    declaration["stages"][0]["actions"][0]["actionTypeId"]["provider"] = "CodeStarSourceConnection"
    declaration["stages"][0]["actions"][0]["configuration"] = {
        "ConnectionArn": "arn:aws:codeconnections:us-east-1:123456789012:connection/abc",
        "FullRepositoryId": "acme/orders-api", "BranchName": "main"}
    declaration["triggers"] = [{"providerType": "CodeStarSourceConnection", "gitConfiguration": {
        "sourceActionName": "Source", "push": [{"branches": {"includes": ["release/*"]}}]}}]
    pipelines = create_contract_pipeline(client)
    pipelines.create_pipeline(pipeline=declaration)

    ignored = push("on main", branch="main", repository="acme/orders-api")
    released = push("Release 1.0", branch="release/1.0", repository="acme/orders-api")

    assert ignored.executions == []
    [started] = released.executions
    execution = pipelines.get_pipeline_execution(pipelineName="orders-api-github",
                                                 pipelineExecutionId=started["pipelineExecutionId"])["pipelineExecution"]
    assert execution["trigger"] == {"triggerType": "WebhookV2",
                                    "triggerDetail": "arn:aws:codeconnections:us-east-1:123456789012:connection/abc"}
    assert json.loads(execution["artifactRevisions"][0]["revisionSummary"]) == {
        "ProviderType": "GitHub", "CommitMessage": "Release 1.0"}
    assert execution["artifactRevisions"][0]["revisionUrl"] == (
        f"https://github.com/acme/orders-api/commit/{released.commit_id}")
