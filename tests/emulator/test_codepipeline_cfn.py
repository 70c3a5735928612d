"""AWS::CodePipeline::Pipeline in the emulator's CloudFormation: create, update, delete."""
from __future__ import annotations

import copy
import json
from typing import Any

from emulator.codepipeline.cfn_resource import to_declaration
from tests.emulator.helpers import outputs, wait_for_status
from tests.waiting import wait_for

STACK = "orders-api-pipeline"
TRUST = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "codepipeline.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


def _template(custom_data: str = "Review the change set", name: str | None = "orders-api-pipeline") -> dict[str, Any]:
    pipeline: dict[str, Any] = {
        "RoleArn": {"Fn::GetAtt": ["PipelineRole", "Arn"]},
        "PipelineType": "V2",
        "ArtifactStore": {"Type": "S3", "Location": "orders-api-artifacts"},
        "Stages": [
            {"Name": "Source", "Actions": [{
                "Name": "Source", "RunOrder": 1,
                "ActionTypeId": {"Category": "Source", "Owner": "AWS", "Provider": "CodeCommit", "Version": "1"},
                "Configuration": {"RepositoryName": {"Fn::GetAtt": ["Repository", "Name"]},
                                  "BranchName": "main", "PollForSourceChanges": False},
                "OutputArtifacts": [{"Name": "SourceOutput"}]}]},
            {"Name": "ApproveProduction", "Actions": [{
                "Name": "Approve", "RunOrder": 1,
                "ActionTypeId": {"Category": "Approval", "Owner": "AWS", "Provider": "Manual", "Version": "1"},
                "Configuration": {"CustomData": custom_data}}]},
        ],
        "Tags": [{"Key": "app", "Value": "orders-api"}],
    }
    if name:
        pipeline["Name"] = name
    return {
        "Resources": {
            "PipelineRole": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": TRUST}},
            "Repository": {"Type": "AWS::CodeCommit::Repository", "Properties": {"RepositoryName": "orders-api"}},
            "Pipeline": {"Type": "AWS::CodePipeline::Pipeline", "Properties": pipeline},
        },
        "Outputs": {
            "PipelineName": {"Value": {"Ref": "Pipeline"}},
            "PipelineVersion": {"Value": {"Fn::GetAtt": ["Pipeline", "Version"]}},
        },
    }


SETTLED = {"CREATE_COMPLETE", "CREATE_FAILED", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "UPDATE_COMPLETE",
           "UPDATE_ROLLBACK_COMPLETE", "UPDATE_ROLLBACK_FAILED"}


def _settled(cloudformation: Any) -> dict[str, Any]:
    return wait_for_status(cloudformation, STACK, SETTLED)


def test_stack_creates_pipeline_and_starts_an_execution(client):
    cloudformation, pipelines = client("cloudformation"), client("codepipeline")

    cloudformation.create_stack(StackName=STACK, TemplateBody=json.dumps(_template()), Capabilities=["CAPABILITY_IAM"])

    stack = _settled(cloudformation)
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert outputs(stack) == {"PipelineName": "orders-api-pipeline", "PipelineVersion": "1"}
    declaration = pipelines.get_pipeline(name="orders-api-pipeline")["pipeline"]
    source = declaration["stages"][0]["actions"][0]
    assert source["configuration"] == {"RepositoryName": "orders-api", "BranchName": "main",
                                       "PollForSourceChanges": "false"}
    assert source["outputArtifacts"] == [{"name": "SourceOutput"}]
    [execution] = pipelines.list_pipeline_executions(pipelineName="orders-api-pipeline")["pipelineExecutionSummaries"]
    assert execution["trigger"]["triggerType"] == "CreatePipeline"
    arn = pipelines.get_pipeline(name="orders-api-pipeline")["metadata"]["pipelineArn"]
    assert pipelines.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "app", "value": "orders-api"}]


def test_stack_update_changes_pipeline_in_place_and_bumps_its_version(client):
    cloudformation, pipelines = client("cloudformation"), client("codepipeline")
    cloudformation.create_stack(StackName=STACK, TemplateBody=json.dumps(_template()), Capabilities=["CAPABILITY_IAM"])
    _settled(cloudformation)

    cloudformation.update_stack(StackName=STACK, TemplateBody=json.dumps(_template("Check the diff")),
                                Capabilities=["CAPABILITY_IAM"])

    stack = _settled(cloudformation)
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    assert outputs(stack)["PipelineVersion"] == "2"
    declaration = pipelines.get_pipeline(name="orders-api-pipeline")["pipeline"]
    assert declaration["stages"][1]["actions"][0]["configuration"] == {"CustomData": "Check the diff"}
    # In place: the execution started at creation is still in the history.
    assert len(pipelines.list_pipeline_executions(pipelineName="orders-api-pipeline")
               ["pipelineExecutionSummaries"]) == 1


def test_stack_delete_removes_the_pipeline(client):
    cloudformation, pipelines = client("cloudformation"), client("codepipeline")
    cloudformation.create_stack(StackName=STACK, TemplateBody=json.dumps(_template()), Capabilities=["CAPABILITY_IAM"])
    _settled(cloudformation)

    cloudformation.delete_stack(StackName=STACK)

    wait_for(lambda: pipelines.list_pipelines()["pipelines"] == [], 15, "the stack's pipeline to be deleted")


def test_stack_without_a_name_gets_a_generated_one_that_updates_keep(client):
    cloudformation, pipelines = client("cloudformation"), client("codepipeline")
    cloudformation.create_stack(StackName=STACK, TemplateBody=json.dumps(_template(name=None)),
                                Capabilities=["CAPABILITY_IAM"])
    generated = outputs(_settled(cloudformation))["PipelineName"]

    cloudformation.update_stack(StackName=STACK, TemplateBody=json.dumps(_template("again", name=None)),
                                Capabilities=["CAPABILITY_IAM"])

    assert outputs(_settled(cloudformation))["PipelineName"] == generated
    assert generated.startswith(f"{STACK}-Pipeline-")
    assert [p["name"] for p in pipelines.list_pipelines()["pipelines"]] == [generated]


def test_cloudformation_properties_become_the_api_declaration():
    properties = copy.deepcopy(_template()["Resources"]["Pipeline"]["Properties"])
    properties["RoleArn"] = "arn:aws:iam::111111111111:role/r"
    properties["ArtifactStores"] = [{"Region": "eu-west-1",
                                     "ArtifactStore": {"Type": "S3", "Location": "b-eu",
                                                       "EncryptionKey": {"Id": "k", "Type": "KMS"}}}]
    properties["RestartExecutionOnUpdate"] = True

    declaration = to_declaration("p", properties)

    assert declaration["name"] == "p" and declaration["pipelineType"] == "V2"
    assert declaration["artifactStores"] == {"eu-west-1": {"type": "S3", "location": "b-eu",
                                                           "encryptionKey": {"id": "k", "type": "KMS"}}}
    action = declaration["stages"][0]["actions"][0]
    assert action["actionTypeId"] == {"category": "Source", "owner": "AWS", "provider": "CodeCommit", "version": "1"}
    assert action["configuration"]["PollForSourceChanges"] == "false"
    assert action["runOrder"] == 1
    assert "tags" not in declaration and "restartExecutionOnUpdate" not in declaration
