"""The repository's templates deployed, an application pushed, its pipeline followed (no tests here).

The application is a plain CloudFormation template (an SSM parameter holding the stage's greeting)
with config/<stage>.json beside it, committed as packaged.yaml: the build's output for the deploy
actions. Until the emulator's CodeBuild does the build, ``PassThroughBuild`` (the ``passthrough_builds``
fixture) stands in for it: a Build action's job copies its SourceOutput to BuildOutput through S3 as
the build account, which is what a buildspec whose artifacts are the whole tree does.
"""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from emulator.codepipeline import jobs
from tests.emulator.git_helpers import git
from tests.emulator.helpers import (
    BUILD_ACCOUNT,
    PRODUCTION_ACCOUNT,
    STAGING_ACCOUNT,
    deploy_repository_templates,
    outputs,
)
from tests.waiting import wait_for

APP = "orders-api"
PIPELINE = f"{APP}-pipeline"
TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Stage:
    Type: String
    AllowedValues: [staging, production]
  Greeting:
    Type: String
    Default: Hello
Resources:
  Setting:
    Type: AWS::SSM::Parameter
    Properties:
      Name: !Sub "/orders-api/${Stage}/greeting"
      Type: String
      Value: !Ref Greeting
Outputs:
  GreetingParameter:
    Value: !Ref Setting
  Greeting:
    Value: !Ref Greeting
"""


def stage_config(stage: str, greeting: str) -> str:
    return json.dumps({"Parameters": {"Stage": stage, "Greeting": greeting}, "Tags": {"Stage": stage}})


FILES = {
    "packaged.yaml": TEMPLATE,
    "config/staging.json": stage_config("staging", "Hello from the staging file"),
    "config/production.json": stage_config("production", "Hello from the production file"),
}


def deploy_templates(client: Any, **pipeline_parameters: str) -> dict[str, Any]:
    """Both templates deployed at pace 0; return the deploy stacks' outputs by account and the pipeline's."""
    roles, stack = deploy_repository_templates(client, app=APP, **pipeline_parameters)
    assert stack["StackStatus"] == "CREATE_COMPLETE", (stack["StackStatus"], stack.get("StackStatusReason"))
    return {"roles": roles, "pipeline": outputs(stack)}


def push(emulator: str, tmp_path: Path, files: dict[str, str] = FILES, message: str = "Release") -> str:
    """Clone the build account's repository, commit ``files``, push; return the commit id."""
    checkout = tmp_path / f"checkout-{time.monotonic_ns()}"
    url = f"{emulator}/v1/accounts/{BUILD_ACCOUNT}/regions/us-east-1/repos/{APP}"
    git(tmp_path, "clone", "-q", url, checkout.name)
    for name, content in files.items():
        path = checkout / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    git(checkout, "add", ".")
    git(checkout, "commit", "-q", "--allow-empty", "-m", message)  # a release may change nothing
    git(checkout, "push", "-q", "origin", "HEAD:main")
    return git(checkout, "rev-parse", "HEAD").stdout.strip()


class PassThroughBuild:
    """A Build action's work: SourceOutput copied to BuildOutput as the build account, in a thread."""

    def __init__(self, context: jobs.JobContext, s3: Any) -> None:
        self.context = context
        self.result: jobs.Outcome | None = None
        self.lock = threading.Lock()
        threading.Thread(target=self._copy, args=(s3,), daemon=True).start()

    def _copy(self, s3: Any) -> None:
        [source], [output] = self.context.inputs, self.context.outputs
        body = s3.get_object(Bucket=source.bucket, Key=source.key)["Body"].read()
        s3.put_object(Bucket=output.bucket, Key=output.key, Body=body, ServerSideEncryption="aws:kms",
                      SSEKMSKeyId=output.kms_key_id)
        with self.lock:
            self.result = jobs.Outcome(True, time.time(), "Build output is the source tree")
        self.context.wake()

    def outcome(self) -> jobs.Outcome | None:
        with self.lock:
            return self.result

    def abandon(self) -> None:
        pass


# ---- reading the pipeline ----------------------------------------------------------------
def action_state(pipelines: Any, stage: str, action: str) -> dict[str, Any]:
    state = pipelines.get_pipeline_state(name=PIPELINE)
    stage_state = next(s for s in state["stageStates"] if s["stageName"] == stage)
    return next(a for a in stage_state["actionStates"] if a["actionName"] == action).get("latestExecution", {})


def execution_status(pipelines: Any, execution_id: str) -> str:
    return pipelines.get_pipeline_execution(pipelineName=PIPELINE, pipelineExecutionId=execution_id)[
        "pipelineExecution"]["status"]


def latest_execution_id(pipelines: Any) -> str:
    return wait_for(lambda: (pipelines.list_pipeline_executions(pipelineName=PIPELINE)[
        "pipelineExecutionSummaries"] or [{}])[0].get("pipelineExecutionId"), 10, "an execution to start")


def wait_until_ended(pipelines: Any, execution_id: str, timeout: float = 30) -> str:
    def ended() -> str | None:
        status = execution_status(pipelines, execution_id)
        return status if status in ("Succeeded", "Failed", "Stopped", "Superseded") else None

    return wait_for(ended, timeout, f"execution {execution_id} to end",
                    output=lambda: execution_status(pipelines, execution_id))


def approval_token(pipelines: Any, timeout: float = 30) -> str:
    def waiting() -> str | None:
        latest = action_state(pipelines, "ApproveProduction", "Approve")
        return latest.get("token") if latest.get("status") == "InProgress" else None

    return wait_for(waiting, timeout, "the approval to wait")


def action_details(pipelines: Any, execution_id: str, action: str) -> dict[str, Any]:
    runs = pipelines.list_action_executions(pipelineName=PIPELINE, filter={"pipelineExecutionId": execution_id})
    return next(d for d in runs["actionExecutionDetails"] if d["actionName"] == action)


def failure_message(pipelines: Any, stage: str, action: str) -> str:
    latest = action_state(pipelines, stage, action)
    assert latest.get("status") == "Failed", latest
    return str(latest["errorDetails"]["message"])


__all__ = ["APP", "PIPELINE", "PRODUCTION_ACCOUNT", "STAGING_ACCOUNT", "BUILD_ACCOUNT"]
