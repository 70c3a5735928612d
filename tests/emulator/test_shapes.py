"""Every CloudFormation response the extension produces conforms to botocore's service model."""
from __future__ import annotations

import pytest

from tests.emulator.helpers import assert_valid_response, control, shape_errors, template, wait_for_status

RESOURCES = {
    "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": {"Ref": "Name"}}},
    "Repo": {"Type": "AWS::CodeCommit::Repository", "Properties": {"RepositoryName": "repo"}},
}
BODY = template(RESOURCES, {"Arn": {"Value": {"Ref": "Topic"}, "Export": {"Name": "topic-arn"},
                                    "Description": "topic"}},
                {"Name": {"Type": "String", "Default": "one", "NoEcho": True}})


def check(cfn, operation, **kwargs):
    method = getattr(cfn, "_".join(
        part.lower() for part in __import__("re").findall("[A-Z][a-z]*", operation)))
    response = method(**kwargs)
    assert_valid_response(cfn, operation, response)
    return response


def read_everything(cfn, stack):
    for operation, kwargs in (
        ("DescribeStacks", {"StackName": stack}), ("DescribeStacks", {}),
        ("DescribeStackEvents", {"StackName": stack}), ("ListStackResources", {"StackName": stack}),
        ("DescribeStackResources", {"StackName": stack}), ("ListStacks", {}),
        ("GetTemplate", {"StackName": stack}), ("ListChangeSets", {"StackName": stack}),
        ("ListExports", {}),
    ):
        check(cfn, operation, **kwargs)


def test_validator_reports_missing_members_bad_types_and_enums(client):
    cfn = client("cloudformation")
    shape = cfn.meta.service_model.operation_model("DescribeStacks").output_shape
    bad = {"Stacks": [{"StackName": 3, "StackStatus": "HAPPY", "Surprise": 1}]}

    errors = shape_errors(bad, shape)

    assert any("missing required member CreationTime" in e for e in errors)
    assert any("StackName: expected string" in e for e in errors)
    assert any("'HAPPY' is not one of" in e for e in errors)
    assert any("unknown member Surprise" in e for e in errors)


def test_stack_lifecycle_responses_match_the_model(client):
    cfn = client("cloudformation")
    check(cfn, "CreateChangeSet", StackName="app", ChangeSetName="create", ChangeSetType="CREATE",
          TemplateBody=BODY)
    read_everything(cfn, "app")
    check(cfn, "DescribeChangeSet", StackName="app", ChangeSetName="create")
    check(cfn, "ExecuteChangeSet", StackName="app", ChangeSetName="create")
    read_everything(cfn, "app")
    check(cfn, "DescribeStackResource", StackName="app", LogicalResourceId="Topic")
    check(cfn, "CreateChangeSet", StackName="app", ChangeSetName="update", ChangeSetType="UPDATE",
          UsePreviousTemplate=True, Parameters=[{"ParameterKey": "Name", "ParameterValue": "two"}])
    check(cfn, "DescribeChangeSet", StackName="app", ChangeSetName="update")
    check(cfn, "CreateChangeSet", StackName="app", ChangeSetName="empty", ChangeSetType="UPDATE",
          UsePreviousTemplate=True, Parameters=[{"ParameterKey": "Name", "UsePreviousValue": True}])
    check(cfn, "DescribeChangeSet", StackName="app", ChangeSetName="empty")
    check(cfn, "UpdateStack", StackName="app", TemplateBody=BODY,
          Parameters=[{"ParameterKey": "Name", "ParameterValue": "three"}])
    read_everything(cfn, "app")
    check(cfn, "DeleteStack", StackName="app")
    check(cfn, "ListStacks")


@pytest.mark.parametrize("pace", [0.0, 0.2])
def test_failed_and_in_progress_stacks_match_the_model(emulator, client, pace):
    cfn = client("cloudformation")
    control(emulator, "pace", {"seconds": pace})
    control(emulator, "failures", {"type": "resource", "logical_id": "Repo", "reason": "no"})

    stack_id = check(cfn, "CreateStack", StackName="app", TemplateBody=BODY)["StackId"]
    read_everything(cfn, "app")

    wait_for_status(cfn, "app", {"ROLLBACK_COMPLETE"})
    read_everything(cfn, stack_id)
    check(cfn, "DeleteStack", StackName="app")
    read_everything(cfn, stack_id)
