"""The CodeCommit Source action's work: the pushed commit's tree, zipped, KMS-encrypted in the artifact bucket."""
from __future__ import annotations

import io
import zipfile

import pytest

from tests.emulator.codepipeline_helpers import (
    ARTIFACT_BUCKET,
    PIPELINE,
    REPOSITORY,
    contract_declaration,
    create_role_and_repository,
)
from tests.emulator.git_helpers import commit_file, git

FILES = {"main.go": "package main\n", "config/staging.json": '{"Stage": "staging"}\n',
         "sample_app/buildspec.yaml": "version: 0.2\n"}


def create_pipeline(client, encryption_key=None, bucket=ARTIFACT_BUCKET, **changes):
    create_role_and_repository(client)
    declaration = contract_declaration()
    declaration["artifactStore"] = {"type": "S3", "location": bucket}
    if encryption_key:
        declaration["artifactStore"]["encryptionKey"] = {"type": "KMS", "id": encryption_key}
    declaration["stages"][0]["actions"][0]["configuration"].update(changes)
    pipelines = client("codepipeline")
    pipelines.create_pipeline(pipeline=declaration)
    return pipelines


def push_files(emulator, tmp_path, files=FILES, message="Add the application"):
    git(tmp_path, "clone", "-q", f"{emulator}/v1/repos/{REPOSITORY}", "checkout")
    checkout = tmp_path / "checkout"
    for name, content in files.items():
        path = checkout / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    git(checkout, "add", ".")
    git(checkout, "commit", "-q", "-m", message)
    git(checkout, "push", "-q", "origin", "main")
    return checkout, git(checkout, "rev-parse", "HEAD").stdout.strip()


def source_run(pipelines, execution_id=None):
    """The latest Source action execution (of ``execution_id`` when given)."""
    kwargs = {"filter": {"pipelineExecutionId": execution_id}} if execution_id else {}
    runs = pipelines.list_action_executions(pipelineName=PIPELINE, **kwargs)["actionExecutionDetails"]
    return next(r for r in runs if r["stageName"] == "Source")


def latest_execution_id(pipelines):
    return pipelines.list_pipeline_executions(pipelineName=PIPELINE)["pipelineExecutionSummaries"][0][
        "pipelineExecutionId"]


def test_source_zips_the_pushed_commit_into_the_bucket_with_the_pipelines_key(emulator, client, tmp_path):
    key_arn = client("kms").create_key(Description="artifacts")["KeyMetadata"]["Arn"]
    pipelines = create_pipeline(client, encryption_key=key_arn)

    _, commit_id = push_files(emulator, tmp_path)

    run = source_run(pipelines, latest_execution_id(pipelines))
    assert run["status"] == "Succeeded"
    assert run["output"]["outputVariables"]["CommitId"] == commit_id
    [artifact] = run["output"]["outputArtifacts"]
    location = artifact["s3location"]
    assert location["bucket"] == ARTIFACT_BUCKET
    stored = client("s3").get_object(Bucket=location["bucket"], Key=location["key"])
    assert stored["ServerSideEncryption"] == "aws:kms"
    assert stored["SSEKMSKeyId"] == key_arn
    archive = zipfile.ZipFile(io.BytesIO(stored["Body"].read()))
    assert sorted(n for n in archive.namelist() if not n.endswith("/")) == sorted(FILES)
    for name, content in FILES.items():
        assert archive.read(name).decode() == content


def test_source_of_a_later_push_holds_that_commits_tree(emulator, client, tmp_path):
    pipelines = create_pipeline(client)
    checkout, _ = push_files(emulator, tmp_path)
    first_key = source_run(pipelines, latest_execution_id(pipelines))["output"]["outputArtifacts"][0]["s3location"]
    git(checkout, "rm", "-q", "main.go")
    commit_file(checkout, "handler.go", "package handler\n", "Move the handler")
    git(checkout, "push", "-q", "origin", "main")

    location = source_run(pipelines, latest_execution_id(pipelines))["output"]["outputArtifacts"][0]["s3location"]

    assert location["key"] != first_key["key"]  # each execution has its own artifact
    body = client("s3").get_object(Bucket=location["bucket"], Key=location["key"])["Body"].read()
    names = zipfile.ZipFile(io.BytesIO(body)).namelist()
    assert "handler.go" in names and "main.go" not in names


def test_source_without_a_key_in_the_store_uses_the_aws_managed_s3_key(emulator, client, tmp_path):
    pipelines = create_pipeline(client)
    push_files(emulator, tmp_path)

    location = source_run(pipelines)["output"]["outputArtifacts"][0]["s3location"]
    stored = client("s3").head_object(Bucket=location["bucket"], Key=location["key"])
    assert stored["ServerSideEncryption"] == "aws:kms"
    default_key = client("kms").describe_key(KeyId="alias/aws/s3")["KeyMetadata"]["Arn"]
    assert stored["SSEKMSKeyId"] == default_key


def failed_source_summary(pipelines):
    run = source_run(pipelines, latest_execution_id(pipelines))
    assert run["status"] == "Failed"
    execution = pipelines.get_pipeline_execution(pipelineName=PIPELINE,
                                                 pipelineExecutionId=latest_execution_id(pipelines))
    assert execution["pipelineExecution"]["status"] == "Failed"
    return run["output"]["executionResult"]["externalExecutionSummary"]


def test_source_fails_without_the_artifact_bucket(emulator, client, tmp_path):
    pipelines = create_pipeline(client, bucket="nobody-made-this-bucket")
    push_files(emulator, tmp_path)
    assert failed_source_summary(pipelines) == "The artifact bucket nobody-made-this-bucket does not exist."


def test_source_fails_when_the_stores_key_is_disabled_or_unknown(emulator, client, tmp_path):
    kms = client("kms")
    key = kms.create_key()["KeyMetadata"]
    key_arn = key["Arn"]
    kms.disable_key(KeyId=key["KeyId"])  # (moto's DisableKey fails with a 500 when given the ARN)
    pipelines = create_pipeline(client, encryption_key=key_arn)
    push_files(emulator, tmp_path)
    assert failed_source_summary(pipelines) == (
        f"The artifact store's KMS key {key_arn} is Disabled, so it cannot encrypt the source artifact.")

    kms.enable_key(KeyId=key["KeyId"])
    declaration = pipelines.get_pipeline(name=PIPELINE)["pipeline"]
    missing = key_arn.rsplit("/", 1)[0] + "/11111111-2222-3333-4444-555555555555"
    declaration["artifactStore"]["encryptionKey"]["id"] = missing
    pipelines.update_pipeline(pipeline=declaration)
    pipelines.start_pipeline_execution(name=PIPELINE)
    assert "was not found in account" in failed_source_summary(pipelines)


def test_source_of_an_unknown_commit_fails(emulator, client, tmp_path):
    pipelines = create_pipeline(client)
    push_files(emulator, tmp_path)
    pipelines.start_pipeline_execution(name=PIPELINE, sourceRevisions=[
        {"actionName": "Source", "revisionType": "COMMIT_ID", "revisionValue": "a" * 40}])
    assert failed_source_summary(pipelines) == f"The commit {'a' * 40} does not exist in repository {REPOSITORY}."


@pytest.mark.parametrize("output_format", ["CODEBUILD_CLONE_REF"])
def test_source_refuses_an_artifact_format_it_does_not_produce(emulator, client, tmp_path, output_format):
    pipelines = create_pipeline(client, OutputArtifactFormat=output_format)
    push_files(emulator, tmp_path)
    assert failed_source_summary(pipelines) == (
        f"The emulator produces CODE_ZIP source artifacts only, not {output_format}.")
