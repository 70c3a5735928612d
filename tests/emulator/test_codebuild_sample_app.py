"""The sample app's real buildspec, run by the emulator's CodeBuild from a git push of the project.

Real go vet / go test / go build, and `aws cloudformation package` uploading the function's code
to the emulator's S3 with the build stack's KMS key, with the project's service-role session.
"""
from __future__ import annotations

import io
import re
import zipfile

import pytest
import yaml

from tests.emulator.codebuild_helpers import BuildProject, execution_of, project_checkout, push

# The first Go build of a run compiles the standard library (minutes on a cold cache, over the 300 s default).
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


class _Loader(yaml.SafeLoader):
    """Reads packaged.yaml's short-form intrinsics (!Sub, !Ref ...) as plain values."""


_Loader.add_multi_constructor("!", lambda loader, suffix, node: None)


def test_the_sample_app_builds_tests_and_packages_into_kms_encrypted_s3(client, emulator, tmp_path):
    stack = BuildProject(client, emulator)
    commit_id = push(project_checkout(tmp_path / "project"), stack.clone_url)
    execution_id = execution_of(stack.pipelines, stack.name, commit_id)

    run = stack.build_run(execution_id)

    assert run["status"] == "Succeeded", run["output"]["executionResult"]
    build_id = run["output"]["executionResult"]["externalExecutionId"]
    build = stack.build(build_id)
    assert build["buildStatus"] == "SUCCEEDED"
    assert build["projectName"] == "orders-api-build"
    assert build["resolvedSourceVersion"] == commit_id
    assert [p["phaseType"] for p in build["phases"]] == [
        "SUBMITTED", "QUEUED", "PROVISIONING", "DOWNLOAD_SOURCE", "INSTALL", "PRE_BUILD", "BUILD", "POST_BUILD",
        "UPLOAD_ARTIFACTS", "FINALIZING", "COMPLETED"]
    assert all(p["phaseStatus"] == "SUCCEEDED" for p in build["phases"][:-1])
    # The Go tests ran for real: the report holds the sample app's test cases, all passed.
    [report] = stack.codebuild.batch_get_reports(reportArns=build["reportArns"])["reports"]
    assert report["reportGroupArn"].endswith(":report-group/orders-api-build-go-tests")
    assert report["status"] == "SUCCEEDED" and report["testSummary"]["total"] >= 5

    artifact = run["output"]["outputArtifacts"][0]["s3location"]
    stored = stack.s3.get_object(Bucket=artifact["bucket"], Key=artifact["key"])
    assert (stored["ServerSideEncryption"], stored["SSEKMSKeyId"]) == ("aws:kms", stack.key_arn)
    archive = zipfile.ZipFile(io.BytesIO(stored["Body"].read()))
    assert sorted(archive.namelist()) == ["config/production.json", "config/staging.json", "packaged.yaml"]

    packaged = yaml.load(archive.read("packaged.yaml"), Loader=_Loader)
    code_uri = packaged["Resources"]["HelloFunction"]["Properties"]["CodeUri"]
    bucket, key = re.fullmatch(r"s3://([^/]+)/(.+)", code_uri).groups()
    assert bucket == stack.bucket
    code = stack.s3.get_object(Bucket=bucket, Key=key)
    assert (code["ServerSideEncryption"], code["SSEKMSKeyId"]) == ("aws:kms", stack.key_arn)
    bootstrap = zipfile.ZipFile(io.BytesIO(code["Body"].read())).read("bootstrap")
    assert bootstrap[:4] == b"\x7fELF" and bootstrap[18] == 0xB7  # e_machine EM_AARCH64: built for arm64

    lines = stack.log_lines(build)
    assert any(re.match(r"\[Container\] \d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{6} Running command make lint test", line)
               for line in lines)
    assert any(line.startswith("ok ") or "PASS" in line for line in lines)  # go test's own output


FAILING_TEST = """package api

import "testing"

func TestGreetingIsPolite(t *testing.T) {
	t.Fatal("greeting forgot to say please")
}
"""


def test_a_pushed_failing_go_test_fails_the_build_with_the_failure_in_summary_log_and_report(
        client, emulator, tmp_path):
    stack = BuildProject(client, emulator)
    checkout = project_checkout(tmp_path / "project")
    (checkout / "sample_app" / "internal" / "api" / "polite_test.go").write_text(FAILING_TEST)
    commit_id = push(checkout, stack.clone_url, "Expect a polite greeting")
    execution_id = execution_of(stack.pipelines, stack.name, commit_id)

    run = stack.build_run(execution_id)

    assert run["status"] == "Failed"
    result = run["output"]["executionResult"]
    assert result["externalExecutionSummary"] == (
        "Build terminated with state: FAILED. Phase: PRE_BUILD, Code: COMMAND_EXECUTION_ERROR, "
        "Message: Error while executing command: make lint test. Reason: exit status 2")
    state = stack.pipelines.get_pipeline_execution(pipelineName=stack.name, pipelineExecutionId=execution_id)
    assert state["pipelineExecution"]["status"] == "Failed"
    build = stack.build(result["externalExecutionId"])
    assert build["buildStatus"] == "FAILED"
    phases = {p["phaseType"]: p for p in build["phases"]}
    assert phases["PRE_BUILD"]["phaseStatus"] == "FAILED"
    assert phases["PRE_BUILD"]["contexts"] == [{"statusCode": "COMMAND_EXECUTION_ERROR", "message": (
        "Error while executing command: make lint test. Reason: exit status 2")}]
    # A failed PRE_BUILD skips to FINALIZING: nothing is built or uploaded.
    assert "BUILD" not in phases and "UPLOAD_ARTIFACTS" not in phases and "FINALIZING" in phases
    lines = stack.log_lines(build)
    assert any("greeting forgot to say please" in line for line in lines)
    assert any(line.endswith("Command did not exit successfully make lint test exit status 2") for line in lines)
    # The JUnit report is read from a failed build too: the failing case is in it.
    [report] = stack.codebuild.batch_get_reports(reportArns=build["reportArns"])["reports"]
    assert report["status"] == "FAILED" and report["testSummary"]["statusCounts"]["FAILED"] >= 1
    failed = stack.codebuild.describe_test_cases(reportArn=report["arn"], filter={"status": "FAILED"})["testCases"]
    assert [c["name"] for c in failed] == ["TestGreetingIsPolite"]
    assert "please" in failed[0]["message"]
