"""The seed's manual set-up, end to end on the emulator: both templates through assumed roles, a push,
the pipeline waiting at the approval, the approval, and a successful release."""
from __future__ import annotations

from typing import Any

import pytest

from tests.emulator.helpers import BUILD_ACCOUNT, control, deploy_repository_templates, outputs
from tests.waiting import wait_for

# The stages' order and the approval's hold, with timed actions: the deploy actions' real work,
# from a build output, is tests/emulator/test_deploy_action_journey.py.
pytestmark = pytest.mark.usefixtures("timed_actions")

APP = "orders-api"


def stage_states(pipeline: Any, name: str) -> dict[str, dict[str, Any]]:
    return {s["stageName"]: s for s in pipeline.get_pipeline_state(name=name)["stageStates"]}


def latest(stage: dict[str, Any]) -> tuple[str, str]:
    execution = stage.get("latestExecution", {})
    return execution.get("pipelineExecutionId", ""), execution.get("status", "")


def approval_token(pipeline: Any, name: str) -> str | None:
    approve = stage_states(pipeline, name)["ApproveProduction"]["actionStates"]
    latest = next(a for a in approve if a["actionName"] == "Approve").get("latestExecution", {})
    return latest.get("token") if latest.get("status") == "InProgress" else None


def test_a_pushed_commit_waits_for_approval_then_reaches_production(client, emulator):
    _, stack = deploy_repository_templates(client, app=APP)  # at pace 0: stacks complete at once
    control(emulator, "pace", {"seconds": 0.02})  # the pipeline then advances an action every 20 ms
    name = outputs(stack)["PipelineName"]
    pipeline = client("codepipeline", account=BUILD_ACCOUNT)
    assert [s["name"] for s in pipeline.get_pipeline(name=name)["pipeline"]["stages"]] == [
        "Source", "Build", "DeployStaging", "ApproveProduction", "DeployProduction"]

    pushed = control(emulator, "push", {"repository": outputs(stack)["RepositoryName"], "branch": "main",
                                        "account_id": BUILD_ACCOUNT, "message": "First release"})
    [started] = pushed["pipelineExecutions"]
    execution_id = started["pipelineExecutionId"]

    token = wait_for(lambda: approval_token(pipeline, name), 20, "the approval to wait")
    stages = stage_states(pipeline, name)
    for stage in ("Source", "Build", "DeployStaging"):
        assert latest(stages[stage]) == (execution_id, "Succeeded")
    assert latest(stages["DeployProduction"])[0] != execution_id  # production waits for the approval
    execution = pipeline.get_pipeline_execution(pipelineName=name, pipelineExecutionId=execution_id)
    assert execution["pipelineExecution"]["status"] == "InProgress"
    assert execution["pipelineExecution"]["trigger"]["triggerType"] == "CloudWatchEvent"
    assert execution["pipelineExecution"]["artifactRevisions"][0]["revisionSummary"] == "First release"

    pipeline.put_approval_result(pipelineName=name, stageName="ApproveProduction", actionName="Approve",
                                 result={"summary": "Change set reviewed", "status": "Approved"}, token=token)

    def succeeded():
        status = pipeline.get_pipeline_execution(
            pipelineName=name, pipelineExecutionId=execution_id)["pipelineExecution"]["status"]
        return status if status in ("Succeeded", "Failed", "Stopped") else None

    assert wait_for(succeeded, 20, "the execution to finish") == "Succeeded"
    assert latest(stage_states(pipeline, name)["DeployProduction"]) == (execution_id, "Succeeded")
