"""Shared by the CodePipeline tests (no tests here): the contract's pipeline and small readers.

The pipeline has the stages and actions docs/contracts.md fixes, reading the CodeCommit
repository ``orders-api`` on ``main``, as the build-pipeline template creates it.
"""
from __future__ import annotations

import json
from typing import Any, Callable

from emulator import codepipeline
from tests.emulator.helpers import DEFAULT_ACCOUNT, REGION

PIPELINE = "orders-api-pipeline"
REPOSITORY = "orders-api"
ROLE = "orders-api-pipeline-role"
ARTIFACT_BUCKET = f"orders-api-artifacts-{DEFAULT_ACCOUNT}-{REGION}"
STAGES = ["Source", "Build", "DeployStaging", "ApproveProduction", "DeployProduction"]


def _action(name: str, category: str, provider: str, config: dict[str, str] | None = None,
            inputs: tuple[str, ...] = (), outputs: tuple[str, ...] = (), run_order: int = 1) -> dict[str, Any]:
    return {
        "name": name, "runOrder": run_order, "configuration": config or {},
        "actionTypeId": {"category": category, "owner": "AWS", "provider": provider, "version": "1"},
        "inputArtifacts": [{"name": n} for n in inputs], "outputArtifacts": [{"name": n} for n in outputs],
    }


def contract_declaration(name: str = PIPELINE, branch: str = "main", mode: str | None = None,
                         repository: str = REPOSITORY) -> dict[str, Any]:
    deploy = {"ActionMode": "CREATE_UPDATE", "StackName": "orders-api-staging"}
    declaration: dict[str, Any] = {
        "name": name,
        "roleArn": f"arn:aws:iam::{DEFAULT_ACCOUNT}:role/{ROLE}",
        "artifactStore": {"type": "S3", "location": ARTIFACT_BUCKET},
        "pipelineType": "V2",
        "stages": [
            {"name": "Source", "actions": [_action("Source", "Source", "CodeCommit", {
                "RepositoryName": repository, "BranchName": branch, "PollForSourceChanges": "false"},
                outputs=("SourceOutput",))]},
            {"name": "Build", "actions": [_action("BuildAndTest", "Build", "CodeBuild",
                                                  {"ProjectName": "orders-api-build"},
                                                  inputs=("SourceOutput",), outputs=("BuildOutput",))]},
            {"name": "DeployStaging", "actions": [_action("Deploy", "Deploy", "CloudFormation", deploy,
                                                          inputs=("BuildOutput",))]},
            {"name": "ApproveProduction", "actions": [
                _action("CreateChangeSet", "Deploy", "CloudFormation",
                        {"ActionMode": "CHANGE_SET_REPLACE", "StackName": "orders-api-production",
                         "ChangeSetName": "orders-api-production-changeset"}, inputs=("BuildOutput",)),
                _action("Approve", "Approval", "Manual",
                        {"CustomData": "Review the production change set",
                         "ExternalEntityLink": "http://localhost:5000/approvals"}, run_order=2)]},
            {"name": "DeployProduction", "actions": [_action(
                "ExecuteChangeSet", "Deploy", "CloudFormation",
                {"ActionMode": "CHANGE_SET_EXECUTE", "StackName": "orders-api-production",
                 "ChangeSetName": "orders-api-production-changeset"})]},
        ],
    }
    if mode:
        declaration["executionMode"] = mode
    return declaration


def create_role_and_repository(client: Callable[..., Any], repository: str = REPOSITORY) -> None:
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "codepipeline.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    iam = client("iam")
    try:
        iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(trust))
    except iam.exceptions.EntityAlreadyExistsException:
        pass
    client("codecommit").create_repository(repositoryName=repository)
    # The Source action writes its artifact there: without the bucket it fails, as on AWS.
    client("s3").create_bucket(Bucket=ARTIFACT_BUCKET)


def create_contract_pipeline(client: Callable[..., Any], **kwargs: Any) -> Any:
    """Create role, repository and pipeline; return the codepipeline client."""
    create_role_and_repository(client, kwargs.get("repository", REPOSITORY))
    pipelines = client("codepipeline")
    pipelines.create_pipeline(pipeline=contract_declaration(**kwargs))
    return pipelines


def push(message: str, branch: str = "main", repository: str = REPOSITORY) -> codepipeline.PushResult:
    return codepipeline.push(DEFAULT_ACCOUNT, REGION, repository, branch, message)


def stage(state: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in state["stageStates"] if s["stageName"] == name)


def action(state: dict[str, Any], stage_name: str, action_name: str) -> dict[str, Any]:
    return next(a for a in stage(state, stage_name)["actionStates"] if a["actionName"] == action_name)


def approval_token(pipelines: Any, name: str = PIPELINE) -> str:
    latest = action(pipelines.get_pipeline_state(name=name), "ApproveProduction", "Approve")["latestExecution"]
    assert latest["status"] == "InProgress"
    return str(latest["token"])


def execution_status(pipelines: Any, execution_id: str, name: str = PIPELINE) -> str:
    return str(pipelines.get_pipeline_execution(pipelineName=name, pipelineExecutionId=execution_id)
               ["pipelineExecution"]["status"])
