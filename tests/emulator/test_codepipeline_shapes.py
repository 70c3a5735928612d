"""Every CodePipeline and STS response matches botocore's service model; the AWS CLI reads it too.

Parsed responses go through the shared validator (tests/emulator/helpers.py); raw CodePipeline
bodies are also checked for what the JSON parser would silently drop or accept.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from botocore.model import Shape

from tests.emulator.helpers import DEFAULT_ACCOUNT, DUMMY, REGION, assert_valid_response, control
from tests.emulator.codepipeline_helpers import (
    PIPELINE,
    STAGES,
    approval_token,
    contract_declaration,
    create_contract_pipeline,
    push,
)

# These tests are about response shapes, not the actions' work: actions are timed stand-ins.
pytestmark = pytest.mark.usefixtures("timed_actions")

AWS_CLI = Path(sys.executable).with_name("aws")


def hidden_by_parsing(value: Any, shape: Shape, path: str = "$") -> list[str]:
    """What botocore's JSON parser silently accepts in a raw body: unknown members, nulls,
    strings outside their length or pattern, timestamps that are not epoch seconds."""
    if value is None:
        return [f"{path}: null, which AWS never sends"]
    if shape.type_name == "structure" and isinstance(value, dict):
        errors = [f"{path}.{k}: not a member of {shape.name}" for k in value if k not in shape.members]
        return errors + [e for k, v in value.items() if k in shape.members
                         for e in hidden_by_parsing(v, shape.members[k], f"{path}.{k}")]
    if shape.type_name == "list" and isinstance(value, list):
        return [e for i, item in enumerate(value) for e in hidden_by_parsing(item, shape.member, f"{path}[{i}]")]
    if shape.type_name == "map" and isinstance(value, dict):
        return [e for k, v in value.items() for e in hidden_by_parsing(v, shape.value, f"{path}.{k}")]
    if shape.type_name == "timestamp" and (isinstance(value, bool) or not isinstance(value, (int, float))):
        return [f"{path}: {value!r} is not epoch seconds"]
    if shape.type_name == "string" and isinstance(value, str):
        meta = shape.metadata
        if not meta.get("min", 0) <= len(value) <= meta.get("max", len(value)):
            return [f"{path}: length {len(value)} outside {meta.get('min')}..{meta.get('max')}"]
        if "pattern" in meta and not re.fullmatch(meta["pattern"], value):
            return [f"{path}: {value!r} does not match {meta['pattern']}"]
    return []


def _record_responses(service: Any) -> list[tuple[str, int, bytes, dict[str, Any]]]:
    """(operation, status, raw body, parsed response) of every call ``service`` makes from now on."""
    raw: list[tuple[str, int, bytes]] = []
    seen: list[tuple[str, int, bytes, dict[str, Any]]] = []

    def keep_raw(operation_model: Any, response_dict: dict[str, Any], **_: Any) -> None:
        raw.append((operation_model.name, response_dict["status_code"], response_dict["body"]))

    def keep_parsed(parsed: dict[str, Any], **_: Any) -> None:
        seen.append((*raw[-1], parsed))

    service_id = service.meta.service_model.service_id.hyphenize()
    service.meta.events.register(f"before-parse.{service_id}.*", keep_raw)
    service.meta.events.register(f"after-call.{service_id}.*", keep_parsed)
    return seen


def test_every_codepipeline_response_matches_the_service_model(client, emulator):
    control(emulator, "failures", {"type": "action", "stage_name": "Build", "action_name": "BuildAndTest",
                                   "count": 1})
    pipelines = create_contract_pipeline(client)
    seen = _record_responses(pipelines)
    failed = push("first").executions[0]["pipelineExecutionId"]
    pipelines.retry_stage_execution(pipelineName=PIPELINE, stageName="Build", pipelineExecutionId=failed,
                                    retryMode="FAILED_ACTIONS")
    pipelines.create_pipeline(pipeline=contract_declaration(name="orders-api-other", mode="PARALLEL"),
                              tags=[{"key": "team", "value": "orders"}])
    pipelines.update_pipeline(pipeline=contract_declaration(name="orders-api-other"))
    pipelines.get_pipeline(name=PIPELINE)
    pipelines.list_pipelines()
    pipelines.get_pipeline_state(name=PIPELINE)
    pipelines.put_approval_result(pipelineName=PIPELINE, stageName="ApproveProduction", actionName="Approve",
                                  result={"summary": "ok", "status": "Approved"}, token=approval_token(pipelines))
    second = pipelines.start_pipeline_execution(name=PIPELINE)["pipelineExecutionId"]
    pipelines.stop_pipeline_execution(pipelineName=PIPELINE, pipelineExecutionId=second, abandon=True,
                                      reason="enough")
    pipelines.get_pipeline_state(name=PIPELINE)
    for execution_id in (failed, second):
        pipelines.get_pipeline_execution(pipelineName=PIPELINE, pipelineExecutionId=execution_id)
    pipelines.list_pipeline_executions(pipelineName=PIPELINE, maxResults=2)
    pipelines.list_action_executions(pipelineName=PIPELINE)

    model = pipelines.meta.service_model
    assert {"CreatePipeline", "UpdatePipeline", "GetPipeline", "GetPipelineState", "PutApprovalResult",
            "RetryStageExecution", "StopPipelineExecution", "ListActionExecutions", "ListPipelineExecutions",
            "GetPipelineExecution"} <= {name for name, *_ in seen}
    for name, status, body, parsed in seen:
        assert status == 200, (name, body)
        assert_valid_response(pipelines, name, parsed)
        assert hidden_by_parsing(json.loads(body), model.operation_model(name).output_shape) == [], name


def test_codepipeline_errors_use_the_json_protocol_error_shape(client):
    pipelines = create_contract_pipeline(client)
    seen = _record_responses(pipelines)

    with pytest.raises(pipelines.exceptions.PipelineNotFoundException):
        pipelines.get_pipeline_state(name="no-such-pipeline")

    [(_, status, body, _)] = seen
    assert status == 400
    assert json.loads(body) == {
        "__type": "PipelineNotFoundException",
        "message": f"Account '{DEFAULT_ACCOUNT}' does not have a pipeline with name 'no-such-pipeline'",
    }


def test_every_sts_response_matches_the_service_model(client):
    sts = client("sts")
    seen = _record_responses(sts)
    client("iam").create_role(RoleName="reader", AssumeRolePolicyDocument=json.dumps({
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": DEFAULT_ACCOUNT}, "Action": "sts:AssumeRole"}]}))

    sts.get_caller_identity()
    sts.assume_role(RoleArn=f"arn:aws:iam::{DEFAULT_ACCOUNT}:role/reader", RoleSessionName="shape-check",
                    DurationSeconds=900)

    assert [name for name, *_ in seen] == ["GetCallerIdentity", "AssumeRole"]
    for name, status, _, parsed in seen:
        assert status == 200
        assert_valid_response(sts, name, parsed)


def test_aws_cli_prints_pipeline_state(client, emulator):
    create_contract_pipeline(client)
    push("seen by the CLI")
    env = {**os.environ, "AWS_ENDPOINT_URL": emulator, "AWS_ACCESS_KEY_ID": DUMMY,
           "AWS_SECRET_ACCESS_KEY": DUMMY, "AWS_DEFAULT_REGION": REGION, "AWS_PAGER": ""}
    env.pop("AWS_PROFILE", None)

    done = subprocess.run([str(AWS_CLI), "codepipeline", "get-pipeline-state", "--name", PIPELINE,
                           "--output", "json"], env=env, capture_output=True, text=True, timeout=60)

    assert done.returncode == 0, done.stderr
    state = json.loads(done.stdout)
    assert [s["stageName"] for s in state["stageStates"]] == STAGES
    approve = state["stageStates"][3]["actionStates"][1]["latestExecution"]
    assert approve["status"] == "InProgress" and approve["token"]
