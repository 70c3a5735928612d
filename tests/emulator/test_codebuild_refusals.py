"""A Build action that cannot build fails as on AWS; a stopped pipeline stops its build's processes."""
from __future__ import annotations

import os
import time

from tests.emulator.codebuild_helpers import PROJECT, BuildProject, build_role_trust, execution_of, push_files
from tests.emulator.codepipeline_helpers import PIPELINE, create_contract_pipeline
from tests.emulator.helpers import DEFAULT_ACCOUNT, REGION
from tests.waiting import wait_for


def _build_action(pipelines, execution_id, ended=True):
    def found():
        runs = pipelines.list_action_executions(pipelineName=PIPELINE, filter={
            "pipelineExecutionId": execution_id})["actionExecutionDetails"]
        build = next((r for r in runs if r["stageName"] == "Build"), None)
        return build if build and (not ended or build["status"] != "InProgress") else None

    return wait_for(found, 60, "the Build action")


def test_a_project_that_does_not_exist_fails_the_action_with_start_builds_error(client, emulator, tmp_path):
    pipelines = create_contract_pipeline(client)  # names orders-api-build, which nobody created
    commit_id = push_files(tmp_path / "app", f"{emulator}/v1/repos/orders-api", {"buildspec.yml": "version: 0.2\n"})

    run = _build_action(pipelines, execution_of(pipelines, PIPELINE, commit_id))

    assert run["status"] == "Failed"
    summary = run["output"]["executionResult"]["externalExecutionSummary"]
    assert summary.startswith(f"Error calling startBuild: Project cannot be found: arn:aws:codebuild:{REGION}:"
                              f"{DEFAULT_ACCOUNT}:project/{PROJECT} (Service: AWSCodeBuild; Status Code: 400; "
                              "Error Code: ResourceNotFoundException; Request ID: ")


def test_a_service_role_that_does_not_trust_codebuild_for_this_account_fails_provisioning(client, emulator, tmp_path):
    stack = BuildProject(client, emulator, buildspec="", trust=build_role_trust("999999999999"))
    commit_id = push_files(tmp_path / "app", stack.clone_url, {"buildspec.yml": "version: 0.2\n"})

    run = stack.build_run(execution_of(stack.pipelines, stack.name, commit_id), timeout=60)

    assert run["status"] == "Failed"
    assert run["output"]["executionResult"]["externalExecutionSummary"] == (
        "Build terminated with state: FAILED. Phase: PROVISIONING, Code: CLIENT_ERROR, Message: CodeBuild is not "
        f"authorized to perform: sts:AssumeRole on arn:aws:iam::{DEFAULT_ACCOUNT}:role/orders-api-build-role")
    build = stack.build(run["output"]["executionResult"]["externalExecutionId"])
    assert build["buildStatus"] == "FAILED" and build["phases"][-1]["phaseType"] == "COMPLETED"


SLOW = """\
version: 0.2
phases:
  build:
    commands:
      - echo starting
      - sleep 300 & echo "waiting on $!"; echo $$ $! > "$CODEBUILD_SRC_DIR/../tmp/pid"; wait
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_stopping_the_execution_with_abandon_kills_the_build(client, emulator, tmp_path):
    stack = BuildProject(client, emulator, buildspec="")
    commit_id = push_files(tmp_path / "app", stack.clone_url, {"buildspec.yml": SLOW})
    execution_id = execution_of(stack.pipelines, stack.name, commit_id)
    run = _build_action(stack.pipelines, execution_id, ended=False)
    build_id = run["output"]["executionResult"]["externalExecutionId"]

    def running_pids():
        build = stack.build(build_id)
        if build["currentPhase"] != "BUILD":
            return None
        source = [line for line in stack.log_lines(build) if "CODEBUILD_SRC_DIR=" in line][0].split("=", 1)[1]
        path = os.path.join(os.path.dirname(source), "tmp", "pid")
        pids = open(path).read().split() if os.path.exists(path) else []
        return [int(p) for p in pids] if len(pids) == 2 else None

    pids = wait_for(running_pids, 30, "the build's commands to run")
    # What a running command printed is in the log already (flushed within half a second).
    wait_for(lambda: any(line.startswith("waiting on ") for line in stack.log_lines(stack.build(build_id))), 5,
             "the running command's output in the log")
    started = time.time()
    stack.pipelines.stop_pipeline_execution(pipelineName=stack.name, pipelineExecutionId=execution_id,
                                            abandon=True, reason="Wrong commit")

    build = wait_for(lambda: (b := stack.build(build_id))["buildStatus"] != "IN_PROGRESS" and b, 15,
                     "the build to stop")
    assert build["buildStatus"] == "STOPPED"
    assert {p["phaseType"]: p["phaseStatus"] for p in build["phases"][:-1]}["BUILD"] == "STOPPED"
    assert not any(_alive(pid) for pid in pids)  # the command's shell and its background sleep
    assert time.time() - started < 10
    assert _build_action(stack.pipelines, execution_id)["status"] == "Abandoned"


def test_stop_build_stops_a_running_build_and_fails_its_action(client, emulator, tmp_path):
    stack = BuildProject(client, emulator, buildspec="")
    commit_id = push_files(tmp_path / "app", stack.clone_url, {"buildspec.yml": SLOW})
    execution_id = execution_of(stack.pipelines, stack.name, commit_id)
    build_id = _build_action(stack.pipelines, execution_id, ended=False)["output"]["executionResult"][
        "externalExecutionId"]
    wait_for(lambda: stack.build(build_id)["currentPhase"] == "BUILD", 30, "the build phase")

    stopped = stack.codebuild.stop_build(id=build_id)["build"]

    assert stopped["buildStatus"] == "STOPPED" and stopped["buildComplete"] is True
    run = _build_action(stack.pipelines, execution_id)
    assert run["status"] == "Failed"
    assert run["output"]["executionResult"]["externalExecutionSummary"] == "Build terminated with state: STOPPED"
