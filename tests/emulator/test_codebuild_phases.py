"""A buildspec's phases, shell, variables and failure rules, as CodeBuild runs them (small buildspecs, no Go)."""
from __future__ import annotations

import io
import json
import zipfile

import pytest
from botocore import xform_name

from tests.emulator.codebuild_helpers import BUILD_ROLE, PROJECT, BuildProject, execution_of, push_files
from tests.emulator.helpers import DEFAULT_ACCOUNT, REGION, assert_valid_response

PASSING = """\
version: 0.2
env:
  variables:
    STAGE: from-buildspec
    KEPT: buildspec
  exported-variables:
    - IMAGE_TAG
    - CALLER
    - STAGE
phases:
  install:
    commands:
      - cd app
      - COUNT=1
  pre_build:
    commands:
      - test "$(pwd)" = "$CODEBUILD_SRC_DIR/app"
      - COUNT=$((COUNT + 1))
      - export IMAGE_TAG="$(echo "$CODEBUILD_RESOLVED_SOURCE_VERSION" | cut -c 1-7)-$COUNT"
  build:
    commands:
      - CALLER=$(aws sts get-caller-identity --query Arn --output text)
      - |
        mkdir -p out/deep
        echo "$CODEBUILD_BUILD_ID $AWS_REGION $CODEBUILD_BUILD_NUMBER $CODEBUILD_BUILD_SUCCEEDING" > out/ids.txt
        echo "$STAGE $KEPT $FROM_PROJECT" > out/deep/variables.txt
artifacts:
  base-directory: app/out
  files:
    - "**/*"
  discard-paths: yes
"""


def _run_and_build(stack, files, message="Build this", path=None):
    commit_id = push_files(path, stack.clone_url, files, message)
    run = stack.build_run(execution_of(stack.pipelines, stack.name, commit_id), timeout=120)
    build_id = run["output"]["executionResult"]["externalExecutionId"]
    return commit_id, run, stack.build(build_id)


def _contexts(build):
    return {p["phaseType"]: (p.get("phaseStatus"), p.get("contexts")) for p in build["phases"]}


def test_commands_share_one_shell_and_exported_variables_become_the_actions_output(client, emulator, tmp_path):
    stack = BuildProject(client, emulator, buildspec="", project_variables=[
        {"name": "KEPT", "value": "project", "type": "PLAINTEXT"},
        {"name": "FROM_PROJECT", "value": "project", "type": "PLAINTEXT"}],
        action_configuration={"EnvironmentVariables": json.dumps([
            {"name": "STAGE", "value": "from-pipeline", "type": "PLAINTEXT"}])})

    commit_id, run, build = _run_and_build(stack, {"buildspec.yml": PASSING, "app/README": "x\n"},
                                           path=tmp_path / "app")

    assert run["status"] == "Succeeded", run["output"]["executionResult"]
    build_id = build["id"]
    assert build_id.startswith(f"{PROJECT}:") and build["buildNumber"] == 1
    variables = run["output"]["outputVariables"]
    assert variables["IMAGE_TAG"] == f"{commit_id[:7]}-2"  # cd and COUNT carried across commands and phases
    assert variables["STAGE"] == "from-pipeline"  # the start-build call beats project and buildspec
    assert variables["CALLER"].startswith(
        f"arn:aws:sts::{DEFAULT_ACCOUNT}:assumed-role/{BUILD_ROLE}/AWSCodeBuild-{build_id.partition(':')[2]}")
    assert build["exportedEnvironmentVariables"] == [{"name": n, "value": variables[n]}
                                                     for n in ("IMAGE_TAG", "CALLER", "STAGE")]

    artifact = run["output"]["outputArtifacts"][0]["s3location"]
    stored = stack.s3.get_object(Bucket=artifact["bucket"], Key=artifact["key"])
    assert stored["SSEKMSKeyId"] == stack.key_arn
    archive = zipfile.ZipFile(io.BytesIO(stored["Body"].read()))
    assert sorted(archive.namelist()) == ["ids.txt", "variables.txt"]  # discard-paths: yes
    assert archive.read("ids.txt").decode().split() == [build_id, REGION, "1", "1"]
    assert archive.read("variables.txt").decode().split() == ["from-pipeline", "project", "project"]
    logs = build["logs"]
    assert (logs["groupName"], logs["streamName"]) == (f"/aws/codebuild/{PROJECT}", build_id.partition(":")[2])
    assert f"group=/aws/codebuild/{PROJECT};stream={logs['streamName']}" in logs["deepLink"]
    assert stack.codebuild.list_builds_for_project(projectName=PROJECT)["ids"] == [build_id]


FAILING_BUILD = """\
version: 0.2
phases:
  pre_build:
    on-failure: CONTINUE
    commands:
      - echo pre-build fails
      - "false"
      - echo never printed
  build:
    commands:
      - echo building
      - exit 3
      - echo never printed either
    finally:
      - echo finally ran
  post_build:
    commands:
      - echo "post-build sees succeeding=$CODEBUILD_BUILD_SUCCEEDING"
artifacts:
  files:
    - buildspec.yml
"""


def test_a_failed_build_phase_still_runs_finally_post_build_and_the_upload(client, emulator, tmp_path):
    stack = BuildProject(client, emulator, buildspec="")

    _, run, build = _run_and_build(stack, {"buildspec.yml": FAILING_BUILD}, path=tmp_path / "app")

    assert run["status"] == "Failed"
    # The first failure names the build's: PRE_BUILD's, although it went on (CONTINUE).
    assert run["output"]["executionResult"]["externalExecutionSummary"] == (
        "Build terminated with state: FAILED. Phase: PRE_BUILD, Code: COMMAND_EXECUTION_ERROR, "
        "Message: Error while executing command: false. Reason: exit status 1")
    phases = _contexts(build)
    assert phases["PRE_BUILD"][0] == "FAILED"
    assert phases["BUILD"] == ("FAILED", [{"statusCode": "COMMAND_EXECUTION_ERROR", "message":
                                           "Error while executing command: exit 3. Reason: exit status 3"}])
    assert phases["POST_BUILD"] == ("SUCCEEDED", [{"statusCode": "", "message": ""}])
    assert phases["UPLOAD_ARTIFACTS"][0] == "SUCCEEDED"
    lines = stack.log_lines(build)
    assert "finally ran" in lines and "post-build sees succeeding=0" in lines
    assert "never printed" not in lines and "never printed either" not in lines


def test_a_failed_install_skips_to_finalizing(client, emulator, tmp_path):
    stack = BuildProject(client, emulator, buildspec="")
    spec = "version: 0.2\nphases:\n  install:\n    commands:\n      - exit 7\n  post_build:\n    commands:\n" \
           "      - echo post-build ran\n"

    _, run, build = _run_and_build(stack, {"buildspec.yml": spec}, path=tmp_path / "app")

    assert [p["phaseType"] for p in build["phases"]] == [
        "SUBMITTED", "QUEUED", "PROVISIONING", "DOWNLOAD_SOURCE", "INSTALL", "FINALIZING", "COMPLETED"]
    assert "post-build ran" not in stack.log_lines(build)
    assert "Phase: INSTALL" in run["output"]["executionResult"]["externalExecutionSummary"]


def test_a_missing_buildspec_fails_download_source_with_yaml_file_error(client, emulator, tmp_path):
    stack = BuildProject(client, emulator)  # the project names sample_app/buildspec.yaml

    _, run, build = _run_and_build(stack, {"README.md": "no buildspec here\n"}, path=tmp_path / "app")

    summary = run["output"]["executionResult"]["externalExecutionSummary"]
    assert summary.startswith("Build terminated with state: FAILED. Phase: DOWNLOAD_SOURCE, Code: YAML_FILE_ERROR, "
                              "Message: stat ")
    assert summary.endswith("/src/sample_app/buildspec.yaml: no such file or directory")


def test_a_runtime_version_the_host_cannot_honour_is_refused(client, emulator, tmp_path):
    stack = BuildProject(client, emulator, buildspec="")
    spec = "version: 0.2\nphases:\n  install:\n    runtime-versions:\n      golang: 2.0\n    commands:\n" \
           "      - go version\n"

    _, run, _ = _run_and_build(stack, {"buildspec.yml": spec}, path=tmp_path / "app")

    summary = run["output"]["executionResult"]["externalExecutionSummary"]
    assert "Phase: DOWNLOAD_SOURCE, Code: YAML_FILE_ERROR, Message: Unknown runtime version named '2.0' of golang" \
        in summary


def test_no_matching_artifact_fails_the_upload(client, emulator, tmp_path):
    stack = BuildProject(client, emulator, buildspec="")
    spec = "version: 0.2\nphases:\n  build:\n    commands:\n      - echo built\nartifacts:\n  files:\n" \
           "    - dist/*.zip\n"

    _, run, build = _run_and_build(stack, {"buildspec.yml": spec}, path=tmp_path / "app")

    assert _contexts(build)["UPLOAD_ARTIFACTS"] == ("FAILED", [
        {"statusCode": "CLIENT_ERROR", "message": "no matching artifact paths found"}])
    assert run["status"] == "Failed"


REPORTING = """\
version: 0.2
phases:
  build:
    commands:
      - mkdir -p reports
      - |
        cat > reports/junit.xml <<'XML'
        <testsuites><testsuite name="pkg" tests="3" failures="1">
          <testcase classname="example.com/pkg" name="TestOne" time="0.25"/>
          <testcase classname="example.com/pkg" name="TestTwo" time="0.5"><failure message="failed">want 2</failure></testcase>
          <testcase classname="example.com/pkg" name="TestThree" time="0"><skipped message="later"/></testcase>
        </testsuite></testsuites>
        XML
reports:
  unit:
    base-directory: reports
    files:
      - "*.xml"
artifacts:
  files:
    - reports/junit.xml
"""


def test_builds_and_reports_answer_in_botocores_shapes(client, emulator, tmp_path):
    stack = BuildProject(client, emulator, buildspec="")
    _, run, build = _run_and_build(stack, {"buildspec.yml": REPORTING}, path=tmp_path / "app")
    codebuild = stack.codebuild

    def check(operation, **kwargs):
        response = getattr(codebuild, xform_name(operation))(**kwargs)
        assert_valid_response(codebuild, operation, response)
        return response

    assert run["status"] == "Succeeded", run["output"]["executionResult"]  # a failed test case does not fail the build, the command's status does
    check("BatchGetBuilds", ids=[build["id"], f"{PROJECT}:no-such-build"])
    assert check("ListBuildsForProject", projectName=PROJECT)["ids"] == [build["id"]]
    assert check("StopBuild", id=build["id"])["build"]["buildStatus"] == "SUCCEEDED"  # it had ended
    group_arn = f"arn:aws:codebuild:{REGION}:{DEFAULT_ACCOUNT}:report-group/{PROJECT}-unit"
    assert check("ListReportGroups")["reportGroups"] == [group_arn]
    assert check("BatchGetReportGroups", reportGroupArns=[group_arn])["reportGroups"][0]["type"] == "TEST"
    assert check("ListReportsForReportGroup", reportGroupArn=group_arn)["reports"] == build["reportArns"]
    [report] = check("BatchGetReports", reportArns=build["reportArns"])["reports"]
    assert report["status"] == "FAILED"
    assert report["testSummary"] == {"total": 3, "statusCounts": {"SUCCEEDED": 1, "FAILED": 1, "SKIPPED": 1},
                                     "durationInNanoSeconds": 750_000_000}
    cases = check("DescribeTestCases", reportArn=report["arn"])["testCases"]
    assert [(c["prefix"], c["name"], c["status"]) for c in cases] == [
        ("example.com/pkg", "TestOne", "SUCCEEDED"), ("example.com/pkg", "TestTwo", "FAILED"),
        ("example.com/pkg", "TestThree", "SKIPPED")]
    assert cases[1]["message"] == "failed\nwant 2"
    with pytest.raises(codebuild.exceptions.ResourceNotFoundException):
        codebuild.describe_test_cases(reportArn=report["arn"] + "0")
