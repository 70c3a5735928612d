"""Template and parameter validation, and the repository's own templates deployed end to end."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.emulator.helpers import deploy_repository_templates, outputs, params, template

TOPIC = {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": {"Ref": "Name"}}}
NAME = {"Name": {"Type": "String", "AllowedPattern": "^[a-z]+$", "MinLength": 3, "MaxLength": 8,
                 "ConstraintDescription": "must be 3-8 lower-case letters"},
        "Stage": {"Type": "String", "AllowedValues": ["staging", "production"], "Default": "staging"}}


@pytest.mark.parametrize(("body", "parameters", "message"), [
    (template({"Topic": TOPIC}, parameters=NAME), params(Name="ABC"),
     "Parameter Name failed to satisfy constraint: must be 3-8 lower-case letters"),
    (template({"Topic": TOPIC}, parameters=NAME), params(Name="abc", Stage="dev"),
     "Parameter 'Stage' must be one of AllowedValues"),
    (template({"Topic": TOPIC}, parameters=NAME), [], "Parameters: [Name] must have values"),
    (template({"Topic": TOPIC}, parameters=NAME), params(Name="abc", Other="x"),
     "Parameters: [Other] do not exist in the template"),
    (template({}), [], "Template format error: At least one Resources member must be defined."),
    ("Resources: [unclosed", [], None),
    (template({"Topic": {"Properties": {}}}), [],
     "Template format error: [/Resources/Topic] Every Resources object must contain a Type member."),
    ('{"Resources": ', [], None),
    (template({"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": {"Ref": "Nope"}}}}), [],
     "Template format error: Unresolved resource dependencies [Nope] in the Resources block of the template"),
    (template({"A": {"Type": "AWS::SNS::Topic", "DependsOn": "B"},
               "B": {"Type": "AWS::SNS::Topic", "DependsOn": "A"}}), [],
     "Circular dependency between resources: [A, B]"),
])
def test_invalid_template_or_parameters_are_rejected_before_any_resource(client, body, parameters, message):
    cfn = client("cloudformation")

    for call in (lambda: cfn.create_stack(StackName="app", TemplateBody=body, Parameters=parameters),
                 lambda: cfn.create_change_set(StackName="app", ChangeSetName="c", ChangeSetType="CREATE",
                                               TemplateBody=body, Parameters=parameters)):
        with pytest.raises(ClientError) as caught:
            call()
        assert caught.value.response["Error"]["Code"] == "ValidationError"
        if message is None:
            assert caught.value.response["Error"]["Message"].startswith("Template format error: ")
        else:
            assert caught.value.response["Error"]["Message"] == message
    assert cfn.list_stacks()["StackSummaries"] == []


def test_template_rules_are_enforced(client):
    body = template({"Topic": TOPIC}, parameters=NAME)[:-1] + ', "Rules": {"ProdNeedsLongName": {' \
        '"RuleCondition": {"Fn::Equals": [{"Ref": "Stage"}, "production"]}, "Assertions": [{' \
        '"Assert": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Name"}, "abc"]}]}, ' \
        '"AssertDescription": "production needs its own name"}]}}}'
    cfn = client("cloudformation")

    with pytest.raises(ClientError) as caught:
        cfn.create_stack(StackName="app", TemplateBody=body, Parameters=params(Name="abc", Stage="production"))
    assert caught.value.response["Error"]["Message"] == "production needs its own name"

    cfn.create_stack(StackName="app", TemplateBody=body, Parameters=params(Name="abc", Stage="staging"))
    assert cfn.describe_stacks(StackName="app")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"


def test_stack_parameters_show_defaults_and_mask_no_echo(client):
    cfn = client("cloudformation")
    parameters = {**NAME, "Secret": {"Type": "String", "NoEcho": True},
                  "Zones": {"Type": "CommaDelimitedList", "Default": "a,b"}}
    cfn.create_stack(StackName="app", TemplateBody=template({"Topic": TOPIC}, parameters=parameters),
                     Parameters=params(Name="abc", Secret="hunter2"))

    shown = cfn.describe_stacks(StackName="app")["Stacks"][0]["Parameters"]

    assert {p["ParameterKey"]: p["ParameterValue"] for p in shown} == {
        "Name": "abc", "Stage": "staging", "Secret": "****", "Zones": "a,b"}


def test_update_with_same_template_and_parameters_is_no_update(client):
    cfn = client("cloudformation")
    body = template({"Topic": TOPIC}, parameters=NAME)
    cfn.create_stack(StackName="app", TemplateBody=body, Parameters=params(Name="abc"))

    with pytest.raises(ClientError) as caught:
        cfn.update_stack(StackName="app", TemplateBody=body,
                         Parameters=[{"ParameterKey": "Name", "UsePreviousValue": True}])

    assert caught.value.response["Error"]["Message"] == "No updates are to be performed."


def test_repository_templates_deploy_across_accounts(client):
    """deploy-dependencies.yaml into both deploy accounts, then build-pipeline.yaml (docs/contracts.md)."""
    roles, stack = deploy_repository_templates(client)

    assert roles["222222222222"]["DeployRoleArn"] == "arn:aws:iam::222222222222:role/orders-api-deploy-role"
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert set(outputs(stack)) == {"RepositoryName", "RepositoryCloneUrlHttp", "RepositoryCloneUrlSsh",
                                   "PipelineName", "PipelineConsoleUrl", "ArtifactBucketName",
                                   "ArtifactKeyArn", "ApprovalTopicArn", "EventBusArn", "EventQueueUrl",
                                   "EventQueueArn"}
    assert outputs(stack)["ArtifactBucketName"] == "orders-api-artifacts-111111111111-us-east-1"


ROLE = {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                           "Principal": {"Service": "codebuild.amazonaws.com"}}]}}}


@pytest.mark.parametrize(("role", "granted", "needed"), [
    (ROLE, [], "CAPABILITY_IAM"),
    ({**ROLE, "Properties": {**ROLE["Properties"], "RoleName": "named"}}, ["CAPABILITY_IAM"],
     "CAPABILITY_NAMED_IAM"),
])
def test_iam_resources_need_acknowledged_capabilities(client, role, granted, needed):
    cfn = client("cloudformation")

    with pytest.raises(ClientError) as caught:
        cfn.create_change_set(StackName="app", ChangeSetName="c", ChangeSetType="CREATE",
                              TemplateBody=template({"Role": role}), Capabilities=granted)

    assert caught.value.response["Error"]["Code"] == "InsufficientCapabilitiesException"
    assert caught.value.response["Error"]["Message"] == f"Requires capabilities : [{needed}]"
    cfn.create_stack(StackName="app", TemplateBody=template({"Role": role}), Capabilities=[needed])
    assert cfn.describe_stacks(StackName="app")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
