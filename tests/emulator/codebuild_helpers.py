"""Shared by the local CodeBuild tests (no tests here): a build project as the build stack makes it.

``BuildProject`` creates, through the API, what build-pipeline.yaml gives the Build action: the
project ``orders-api-build`` (BuildSpec ``sample_app/buildspec.yaml``, ARTIFACT_BUCKET and
ARTIFACT_KEY_ARN, its log group), its service role trusted by codebuild.amazonaws.com for this
account only, the KMS-encrypted artifact bucket, the repository and the contract's pipeline. The
stage after Build fails by an injected failure, so a test follows the build alone.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from tests.emulator.codepipeline_helpers import ARTIFACT_BUCKET, REPOSITORY, contract_declaration, \
    create_role_and_repository
from tests.emulator.git_helpers import git
from tests.emulator.helpers import DEFAULT_ACCOUNT, REGION, control
from tests.waiting import wait_for

SAMPLE_APP = Path(__file__).resolve().parents[2] / "sample_app"
# Never copied: what the Makefile produces (sample_app/.gitignore keeps them out of commits too).
PRODUCTS = shutil.ignore_patterns("build", "reports", "packaged.yaml", "bootstrap", ".aws-sam")
PROJECT = "orders-api-build"
BUILD_ROLE = "orders-api-build-role"
LOG_GROUP = f"/aws/codebuild/{PROJECT}"


def build_role_trust(account_id: str = DEFAULT_ACCOUNT) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "codebuild.amazonaws.com"}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": account_id}}}]}


class BuildProject:
    """The build stack's Build action, created through the API in the default account."""

    def __init__(self, client: Any, emulator: str, buildspec: str = "sample_app/buildspec.yaml",
                 trust: dict[str, Any] | None = None, timeout_minutes: int = 30,
                 project_variables: list[dict[str, str]] | None = None,
                 action_configuration: dict[str, str] | None = None) -> None:
        self.emulator = emulator
        control(emulator, "failures", {"type": "action", "stage_name": "DeployStaging", "action_name": "Deploy",
                                       "reason": "Not part of this test"})
        create_role_and_repository(client)
        self.key_arn = client("kms").create_key(Description="artifacts")["KeyMetadata"]["Arn"]
        role = client("iam").create_role(RoleName=BUILD_ROLE,
                                         AssumeRolePolicyDocument=json.dumps(trust or build_role_trust()))
        client("logs").create_log_group(logGroupName=LOG_GROUP)
        self.codebuild = client("codebuild")
        self.codebuild.create_project(
            name=PROJECT, serviceRole=role["Role"]["Arn"], encryptionKey=self.key_arn,
            timeoutInMinutes=timeout_minutes,
            source={"type": "CODEPIPELINE", "location": "codepipeline", "buildspec": buildspec},
            artifacts={"type": "CODEPIPELINE", "location": "codepipeline"},
            environment={"type": "ARM_CONTAINER", "computeType": "BUILD_GENERAL1_SMALL",
                         "image": "aws/codebuild/amazonlinux-aarch64-standard:3.0", "environmentVariables": [
                             {"name": "ARTIFACT_BUCKET", "value": ARTIFACT_BUCKET, "type": "PLAINTEXT"},
                             {"name": "ARTIFACT_KEY_ARN", "value": self.key_arn, "type": "PLAINTEXT"},
                             *(project_variables or [])]},
            logsConfig={"cloudWatchLogs": {"status": "ENABLED", "groupName": LOG_GROUP}})
        declaration = contract_declaration()
        declaration["artifactStore"]["encryptionKey"] = {"type": "KMS", "id": self.key_arn}
        declaration["stages"][1]["actions"][0]["configuration"].update(action_configuration or {})
        self.pipelines = client("codepipeline")
        self.pipelines.create_pipeline(pipeline=declaration)
        self.name = declaration["name"]
        self.logs = client("logs")
        self.s3 = client("s3")
        self.clone_url = f"{emulator}/v1/repos/{REPOSITORY}"
        self.bucket = ARTIFACT_BUCKET
        self.region = REGION

    def build_run(self, execution_id: str, timeout: float = 600) -> dict[str, Any]:
        """The Build action's execution record, once it ended."""
        def ended() -> dict[str, Any] | None:
            runs = self.pipelines.list_action_executions(pipelineName=self.name, filter={
                "pipelineExecutionId": execution_id})["actionExecutionDetails"]
            build = next((r for r in runs if r["stageName"] == "Build"), None)
            return build if build is not None and build["status"] != "InProgress" else None

        return wait_for(ended, timeout, "the Build action to end")

    def build(self, build_id: str) -> dict[str, Any]:
        [found] = self.codebuild.batch_get_builds(ids=[build_id])["builds"]
        return found

    def log_lines(self, build: dict[str, Any]) -> list[str]:
        events = self.logs.get_log_events(logGroupName=build["logs"]["groupName"],
                                          logStreamName=build["logs"]["streamName"], startFromHead=True,
                                          limit=10000)["events"]
        return [e["message"] for e in events]


def project_checkout(path: Path) -> Path:
    """A checkout laid out as the project is (the buildspec is sample_app/buildspec.yaml), one commit."""
    shutil.copytree(SAMPLE_APP, path / "sample_app", ignore=PRODUCTS)
    git(path, "init", "-q")
    git(path, "add", ".")
    git(path, "commit", "-q", "-m", "The sample application")
    return path


def push(checkout: Path, clone_url: str, message: str | None = None) -> str:
    """Commit what changed (with ``message``), push to main, return the commit id."""
    if message is not None:
        git(checkout, "add", ".")
        git(checkout, "commit", "-q", "-m", message)
    git(checkout, "push", "-q", clone_url, "HEAD:main")
    return git(checkout, "rev-parse", "HEAD").stdout.strip()


def execution_of(pipelines: Any, name: str, commit_id: str, timeout: float = 20) -> str:
    """The id of the execution the push of ``commit_id`` started."""
    def started() -> str | None:
        for summary in pipelines.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"]:
            if any(r.get("revisionId") == commit_id for r in summary.get("sourceRevisions", [])):
                return str(summary["pipelineExecutionId"])
        return None

    return wait_for(started, timeout, f"an execution of {commit_id[:8]}")


def push_files(path: Path, clone_url: str, files: dict[str, str], message: str = "Build this") -> str:
    """Commit ``files`` into a fresh checkout at ``path``, push it to main, return the commit id."""
    path.mkdir(parents=True)
    for name, content in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(content)
    git(path, "init", "-q")
    git(path, "add", ".")
    git(path, "commit", "-q", "-m", message)
    return push(path, clone_url)
