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

pytestmark = pytest.mark.slow


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
