"""The control API's push (a git push stand-in) and call statistics, over HTTP."""
from __future__ import annotations

import urllib.error

import pytest
from botocore.exceptions import ClientError

from tests.emulator.helpers import control, make_client

PIPELINE_ROLE_TRUST = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
    '"Principal":{"Service":"codepipeline.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
)


def create_pipeline(emulator: str, repository: str, branch: str = "main") -> None:
    iam = make_client(emulator, "iam")
    role = iam.create_role(RoleName="pipeline-role", AssumeRolePolicyDocument=PIPELINE_ROLE_TRUST)["Role"]
    make_client(emulator, "codepipeline").create_pipeline(pipeline={
        "name": "orders-pipeline", "roleArn": role["Arn"], "pipelineType": "V2",
        "artifactStore": {"type": "S3", "location": "artifacts"},
        "stages": [
            {"name": "Source", "actions": [{
                "name": "Source", "runOrder": 1, "outputArtifacts": [{"name": "SourceOutput"}],
                "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeCommit", "version": "1"},
                "configuration": {"RepositoryName": repository, "BranchName": branch,
                                  "PollForSourceChanges": "false"}}]},
            {"name": "Approve", "actions": [{
                "name": "Approve", "runOrder": 1,
                "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}}]},
        ],
    })


def test_push_records_a_commit_and_starts_the_watching_pipeline(emulator):
    make_client(emulator, "codecommit").create_repository(repositoryName="orders")
    create_pipeline(emulator, "orders")

    result = control(emulator, "push", {"repository": "orders", "branch": "main", "message": "Add handler"})

    assert len(result["commitId"]) == 40
    [started] = result["pipelineExecutions"]
    assert started["pipelineName"] == "orders-pipeline"
    execution = make_client(emulator, "codepipeline").get_pipeline_execution(
        pipelineName="orders-pipeline", pipelineExecutionId=started["pipelineExecutionId"])["pipelineExecution"]
    [revision] = execution["artifactRevisions"]
    assert revision["revisionId"] == result["commitId"]
    assert revision["revisionSummary"] == "Add handler"


def test_push_to_an_unknown_repository_is_a_404(emulator):
    with pytest.raises(urllib.error.HTTPError) as raised:
        control(emulator, "push", {"repository": "nowhere", "message": "x"})
    assert raised.value.code == 404


def test_push_without_a_repository_is_a_400(emulator):
    with pytest.raises(urllib.error.HTTPError) as raised:
        control(emulator, "push", {"message": "x"})
    assert raised.value.code == 400


def test_stats_count_calls_per_service_and_action(emulator):
    cfn = make_client(emulator, "cloudformation")
    for _ in range(3):
        cfn.describe_stacks()
    make_client(emulator, "codepipeline").list_pipelines()

    calls = control(emulator, "stats")["calls"]

    assert calls["cloudformation"]["DescribeStacks"] == 3
    assert calls["codepipeline"]["ListPipelines"] == 1
    assert "_emulator" not in str(calls)  # the control API is not counted


def test_stats_count_throttled_calls_and_clear_on_delete(emulator):
    control(emulator, "throttle", {"fraction": 1.0})
    cfn = make_client(emulator, "cloudformation")
    with pytest.raises(ClientError) as refused:
        cfn.describe_stacks()
    assert refused.value.response["Error"]["Code"] == "Throttling"
    assert control(emulator, "stats")["calls"]["cloudformation"]["DescribeStacks"] == 1

    assert control(emulator, "stats", method="DELETE") == {"calls": {}}
