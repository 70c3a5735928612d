"""A failed build's log tail, read by the worker from a real build of the emulator's local CodeBuild.

The pipeline is the contract's, in the demo build account; its Build action runs a CodeBuild project
whose inline buildspec prints lines and exits 1 (no toolchain, a few seconds). The reads go through
the dashboard's refresh (worker/pipeline_refresh.py), and AWS calls are counted by /_emulator/stats.
"""
from __future__ import annotations

import json
from typing import Any, Callable

import boto3
import pytest
from botocore.config import Config

from core.models import Operation, PipelineSnapshot, Setup
from emulator.client import control
from tests.emulator.codepipeline_helpers import contract_declaration
from tests.waiting import wait_for
from tests.worker.conftest import BOOTSTRAP_ROLE, BUILD, REGION, account_client
from worker import build_logs, pipeline_refresh

pytestmark = pytest.mark.both_databases

LONG = "x" * 700
FAILING = """\
version: 0.2
phases:
  build:
    commands:
      - for i in $(seq 1 70); do echo "test line $i"; done
      - echo "%s"
      - echo '<script>alert("log")</script>'
      - echo "FAIL orders_test.go:12 expected 200, got 500"
      - exit 1
""" % LONG


def create_pipeline(app: str) -> str:
    """The contract's pipeline of ``app`` whose Build action runs ``APP-build`` (the failing buildspec)."""
    iam = account_client("iam", BUILD)
    pipeline_trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "codepipeline.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    build_trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "codebuild.amazonaws.com"}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": BUILD}}}]}
    iam.create_role(RoleName=f"{app}-pipeline-role", AssumeRolePolicyDocument=json.dumps(pipeline_trust))
    build_role = iam.create_role(RoleName=f"{app}-build-role", AssumeRolePolicyDocument=json.dumps(build_trust))
    account_client("codecommit", BUILD).create_repository(repositoryName=app)
    bucket = f"{app}-artifacts-{BUILD}-{REGION}"
    account_client("s3", BUILD).create_bucket(Bucket=bucket)
    account_client("codebuild", BUILD).create_project(
        name=f"{app}-build", serviceRole=build_role["Role"]["Arn"],
        source={"type": "CODEPIPELINE", "location": "codepipeline", "buildspec": FAILING},
        artifacts={"type": "CODEPIPELINE", "location": "codepipeline"},
        environment={"type": "ARM_CONTAINER", "computeType": "BUILD_GENERAL1_SMALL",
                     "image": "aws/codebuild/amazonlinux-aarch64-standard:3.0"},
        logsConfig={"cloudWatchLogs": {"status": "ENABLED", "groupName": f"/aws/codebuild/{app}-build"}})
    declaration = contract_declaration(name=f"{app}-pipeline", repository=app)
    declaration["roleArn"] = f"arn:aws:iam::{BUILD}:role/{app}-pipeline-role"
    declaration["artifactStore"]["location"] = bucket
    declaration["stages"][1]["actions"][0]["configuration"]["ProjectName"] = f"{app}-build"
    account_client("codepipeline", BUILD).create_pipeline(pipeline=declaration)
    return f"{app}-pipeline"


@pytest.fixture
def failed_build(aws_env: str, worker_db: Any, make_setup: Callable[..., int]) -> dict[str, Any]:
    """A deployed setup whose pipeline ran once and whose build failed; nothing read yet."""
    setup_id = make_setup()
    with worker_db() as session:
        app = session.get(Setup, setup_id).name
        name = create_pipeline(app)
        session.add(Operation(setup_id=setup_id, kind="apply", status="succeeded", requested_by="alice",
                              detail={"pipeline_name": name}))
        session.commit()
    pipelines = account_client("codepipeline", BUILD)
    # The execution creating the pipeline started found an empty repository; a push starts one that builds.
    control(aws_env, "push", {"repository": app, "account_id": BUILD, "message": "Break the tests"})

    def build_stage() -> dict[str, Any] | None:
        stages = {s["stageName"]: s for s in pipelines.get_pipeline_state(name=name)["stageStates"]}
        latest = (stages["Build"].get("latestExecution") or {})
        return stages["Build"] if latest.get("status") == "Failed" else None

    stage = wait_for(build_stage, 60, "the build to fail",
                     output=lambda: json.dumps(pipelines.get_pipeline_state(name=name)["stageStates"], default=str))
    build_id = stage["actionStates"][0]["latestExecution"]["externalExecutionId"]
    control(aws_env, "stats", method="DELETE")
    return {"setup_id": setup_id, "app": app, "build_id": build_id, "emulator": aws_env, "factory": worker_db}


def read_now(env: dict[str, Any]) -> PipelineSnapshot:
    factory = env["factory"]
    with factory() as session:
        pipeline_refresh.sync_rows(session)
        session.query(PipelineSnapshot).filter_by(setup_id=env["setup_id"]).update({"next_read_at": None})
        session.commit()
    with factory() as session:
        row_id = session.query(PipelineSnapshot.id).filter_by(setup_id=env["setup_id"]).scalar()
    assert pipeline_refresh.refresh(factory, row_id)
    with factory() as session:
        return session.query(PipelineSnapshot).filter_by(setup_id=env["setup_id"]).one()


def build_action(row: PipelineSnapshot) -> dict[str, Any]:
    return next(s for s in row.stages if s["name"] == "Build")["actions"][0]


def calls(env: dict[str, Any], service: str) -> dict[str, int]:
    return control(env["emulator"], "stats")["calls"].get(service, {})


def test_a_failed_build_keeps_the_last_fifty_lines_of_its_log_read_once(failed_build):
    row = read_now(failed_build)
    action = build_action(row)
    tail = action["log_tail"]

    assert action["status"] == "Failed" and tail["build_id"] == failed_build["build_id"] == action["external_id"]
    assert tail["error"] == "" and tail["group"] == f"/aws/codebuild/{failed_build['app']}-build"
    assert tail["stream"] == failed_build["build_id"].partition(":")[2]
    assert "#logEvent:group=" in tail["deep_link"]
    assert calls(failed_build, "codebuild") == {"BatchGetBuilds": 1}
    assert calls(failed_build, "logs") == {"GetLogEvents": 1}
    lines = tail["lines"]
    assert len(lines) == build_logs.TAIL_LINES
    # The newest lines, oldest first: the commands' last output, then the agent's closing lines.
    commands = [line for line in lines if not line.startswith("[Container]")]
    assert commands[-3:] == [LONG[:build_logs.LINE_CHARS - 1] + "…", '<script>alert("log")</script>',
                             "FAIL orders_test.go:12 expected 200, got 500"]
    assert commands[0].startswith("test line ") and "test line 1" not in lines
    assert any("exit 1" in line and "[Container]" in line for line in lines)
    assert all(len(line) <= build_logs.LINE_CHARS for line in lines)
    assert sum(len(line.encode()) + 1 for line in lines) <= build_logs.TAIL_BYTES
    # The same lines as CloudWatch Logs holds at the end of the stream.
    logs = account_client("logs", BUILD)
    everything = [e["message"] for e in logs.get_log_events(
        logGroupName=tail["group"], logStreamName=tail["stream"], startFromHead=True, limit=10000)["events"]]
    assert [build_logs.clip(m.rstrip("\n")) for m in everything[-50:]] == lines

    # Later reads keep the tail and do not read it again.
    control(failed_build["emulator"], "stats", method="DELETE")
    again = read_now(failed_build)
    assert build_action(again)["log_tail"] == tail and again.version == row.version
    assert calls(failed_build, "codebuild") == {} and calls(failed_build, "logs") == {}
    assert set(calls(failed_build, "codepipeline")) <= {"GetPipelineState", "ListPipelineExecutions",
                                                        "ListActionExecutions"}


def test_a_refused_log_read_is_recorded_and_the_refresh_still_stores_the_state(failed_build):
    account_client("logs", BUILD).delete_log_group(logGroupName=f"/aws/codebuild/{failed_build['app']}-build")
    row = read_now(failed_build)
    tail = build_action(row)["log_tail"]
    assert row.read_error == "" and row.executions[0]["status"] == "Failed"
    assert tail["lines"] == [] and tail["error"].startswith("log not readable: ")
    assert "does not exist" in tail["error"]  # CloudWatch Logs' own words
    # A refusal is what AWS keeps answering: not asked again at every read.
    control(failed_build["emulator"], "stats", method="DELETE")
    read_now(failed_build)
    assert calls(failed_build, "logs") == {}


def clients_without_retries(service: str) -> Any:
    """Clients in the build account that give up at the first throttle (botocore would retry 10 times)."""
    sts = boto3.client("sts", region_name=REGION)
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{BUILD}:role/{BOOTSTRAP_ROLE}",
                            RoleSessionName="test-admin")["Credentials"]
    return boto3.client(service, region_name=REGION, aws_access_key_id=creds["AccessKeyId"],
                        aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"],
                        config=Config(retries={"mode": "standard", "max_attempts": 1}))


def test_a_throttled_log_read_says_so_and_is_tried_again_at_the_next_read(failed_build):
    clients = {service: clients_without_retries(service) for service in ("codebuild", "logs")}
    read = read_now(failed_build)
    stages = [dict(s, actions=[{k: v for k, v in a.items() if k != "log_tail"} for a in s["actions"]])
              for s in read.stages]
    control(failed_build["emulator"], "throttle", {"fraction": 1.0})
    try:
        assert build_logs.attach_tails(stages, [], read.executions[0]["id"], clients.__getitem__) == 1
    finally:
        control(failed_build["emulator"], "throttle", {"fraction": 0.0})
    throttled = next(s for s in stages if s["name"] == "Build")["actions"][0]["log_tail"]
    assert throttled["lines"] == [] and throttled["retry"] is True
    assert throttled["error"].startswith("log not readable: ") and "ate exceeded" in throttled["error"]

    again = [dict(s, actions=[{k: v for k, v in a.items() if k != "log_tail"} for a in s["actions"]])
             for s in stages]
    assert build_logs.attach_tails(again, stages, read.executions[0]["id"], clients.__getitem__) == 1
    tail = next(s for s in again if s["name"] == "Build")["actions"][0]["log_tail"]
    assert tail["error"] == "" and len(tail["lines"]) == build_logs.TAIL_LINES
