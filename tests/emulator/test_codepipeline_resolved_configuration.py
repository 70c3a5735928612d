"""ListActionExecutions answers each action's configuration as declared and, beside it, resolved (AWS's
``resolvedConfiguration``): the approval page reads the approval's CustomData from there."""
from __future__ import annotations

import pytest

from tests.emulator.codepipeline_helpers import approval_token, contract_declaration, create_role_and_repository, push

# About the listing, not the actions' work: actions are timed stand-ins.
pytestmark = pytest.mark.usefixtures("timed_actions")

DECLARED = "Review change set orders-api-production-#{codepipeline.PipelineExecutionId}"


def test_an_approvals_custom_data_is_resolved_for_its_execution(client):
    create_role_and_repository(client)
    declaration = contract_declaration()
    approve = declaration["stages"][3]["actions"][1]
    approve["configuration"]["CustomData"] = DECLARED
    pipelines = client("codepipeline")
    pipelines.create_pipeline(pipeline=declaration)
    execution_id = push("waiting").executions[0]["pipelineExecutionId"]
    approval_token(pipelines)  # it waits

    details = pipelines.list_action_executions(pipelineName="orders-api-pipeline",
                                               filter={"pipelineExecutionId": execution_id})["actionExecutionDetails"]
    detail = next(d for d in details if d["actionName"] == "Approve")
    assert detail["input"]["configuration"]["CustomData"] == DECLARED
    assert detail["input"]["resolvedConfiguration"]["CustomData"] == (
        f"Review change set orders-api-production-{execution_id}")
