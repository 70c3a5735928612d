"""Injected and real resource failures: *_FAILED, rollback, and what a failed stack allows."""
from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.emulator.helpers import control, event_trail, outputs, stack_events, template

RESOURCES = {
    "Key": {"Type": "AWS::KMS::Key", "Properties": {"Description": "artifacts"}},
    "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "alerts"}},
    "Group": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "build-logs"}},
}


def fail(emulator, logical_id, **extra):
    control(emulator, "failures", {"type": "resource", "logical_id": logical_id, **extra})


def test_failed_create_rolls_back_created_resources_in_reverse(emulator, client):
    cfn = client("cloudformation")
    fail(emulator, "Group", reason="Log group quota exceeded")

    cfn.create_stack(StackName="app", TemplateBody=template(RESOURCES))

    stack = cfn.describe_stacks(StackName="app")["Stacks"][0]
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    trail = event_trail(cfn, "app")
    assert trail[trail.index(("Group", "CREATE_FAILED")):] == [
        ("Group", "CREATE_FAILED"), ("app", "ROLLBACK_IN_PROGRESS"), ("Group", "DELETE_COMPLETE"),
        ("Topic", "DELETE_IN_PROGRESS"), ("Topic", "DELETE_COMPLETE"),
        ("Key", "DELETE_IN_PROGRESS"), ("Key", "DELETE_COMPLETE"), ("app", "ROLLBACK_COMPLETE"),
    ]
    events = {(e["LogicalResourceId"], e["ResourceStatus"]): e for e in stack_events(cfn, "app")}
    assert events[("Group", "CREATE_FAILED")]["ResourceStatusReason"] == "Log group quota exceeded"
    assert events[("app", "ROLLBACK_IN_PROGRESS")]["ResourceStatusReason"] == (
        "The following resource(s) failed to create: [Group]. Rollback requested by user.")
    assert client("sns").list_topics()["Topics"] == []
    assert client("logs").describe_log_groups()["logGroups"] == []


def test_stack_in_rollback_complete_can_only_be_deleted(emulator, client):
    cfn = client("cloudformation")
    fail(emulator, "Topic", count=1)
    stack_id = cfn.create_stack(StackName="app", TemplateBody=template(RESOURCES))["StackId"]

    with pytest.raises(ClientError) as caught:
        cfn.update_stack(StackName="app", TemplateBody=template({"Topic": RESOURCES["Topic"]}))
    assert caught.value.response["Error"]["Code"] == "ValidationError"
    assert caught.value.response["Error"]["Message"] == (
        f"Stack:{stack_id} is in ROLLBACK_COMPLETE state and can not be updated.")
    with pytest.raises(ClientError):
        cfn.create_change_set(StackName="app", ChangeSetName="retry", ChangeSetType="UPDATE",
                              TemplateBody=template({"Topic": RESOURCES["Topic"]}))

    cfn.delete_stack(StackName="app")
    assert cfn.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"] == "DELETE_COMPLETE"
    cfn.create_stack(StackName="app", TemplateBody=template(RESOURCES))
    assert cfn.describe_stacks(StackName="app")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"


def test_failed_update_restores_previous_template_and_resources(emulator, client):
    cfn = client("cloudformation")
    cfn.create_stack(StackName="app", TemplateBody=template(
        RESOURCES, {"TopicArn": {"Value": {"Ref": "Topic"}}}))
    before = cfn.describe_stacks(StackName="app")["Stacks"][0]
    changed = dict(RESOURCES)
    changed["Topic"] = {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "alarms"}}
    changed["Group"] = {"Type": "AWS::Logs::LogGroup",
                        "Properties": {"LogGroupName": "build-logs", "RetentionInDays": 14}}
    changed["Extra"] = {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "extra"}}
    fail(emulator, "Group", operation="UPDATE", count=1, reason="Throttled by the log service")

    cfn.update_stack(StackName="app", TemplateBody=template(changed, {"TopicArn": {"Value": {"Ref": "Topic"}}}))

    stack = cfn.describe_stacks(StackName="app")["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert outputs(stack) == outputs(before)
    trail = event_trail(cfn, "app")
    assert trail[trail.index(("Group", "UPDATE_FAILED")):] == [
        ("Group", "UPDATE_FAILED"), ("app", "UPDATE_ROLLBACK_IN_PROGRESS"),
        ("Topic", "UPDATE_IN_PROGRESS"), ("Topic", "UPDATE_COMPLETE"),
        ("app", "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"),
        ("Topic", "DELETE_IN_PROGRESS"), ("Topic", "DELETE_COMPLETE"),
        ("app", "UPDATE_ROLLBACK_COMPLETE"),
    ]
    assert [t["TopicArn"].rsplit(":", 1)[1] for t in client("sns").list_topics()["Topics"]] == ["alerts"]
    assert "alarms" not in json.dumps(cfn.get_template(StackName="app")["TemplateBody"])
    # A stack in UPDATE_ROLLBACK_COMPLETE can be updated again.
    cfn.update_stack(StackName="app", TemplateBody=template(changed))
    assert cfn.describe_stacks(StackName="app")["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"


def test_failed_update_deletes_resources_it_added(emulator, client):
    cfn = client("cloudformation")
    cfn.create_stack(StackName="app", TemplateBody=template({"Topic": RESOURCES["Topic"]}))
    fail(emulator, "Broken", operation="CREATE")

    cfn.update_stack(StackName="app", TemplateBody=template({
        "Topic": RESOURCES["Topic"],
        "Added": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "added"}},
        "Broken": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "broken"}, "DependsOn": "Added"},
    }))

    assert cfn.describe_stacks(StackName="app")["Stacks"][0]["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert ("Added", "DELETE_COMPLETE") in event_trail(cfn, "app")
    assert [t["TopicArn"].rsplit(":", 1)[1] for t in client("sns").list_topics()["Topics"]] == ["alerts"]
    assert [r["LogicalResourceId"] for r in
            cfn.list_stack_resources(StackName="app")["StackResourceSummaries"]] == ["Topic"]


def test_unsupported_resource_type_fails_the_stack_loudly(client):
    cfn = client("cloudformation")

    cfn.create_stack(StackName="app", TemplateBody=template({
        "Topic": RESOURCES["Topic"],
        "Bot": {"Type": "AWS::Lex::Bot", "Properties": {"Name": "b"}},
    }))

    assert cfn.describe_stacks(StackName="app")["Stacks"][0]["StackStatus"] == "ROLLBACK_COMPLETE"
    failed = [e for e in stack_events(cfn, "app") if e["ResourceStatus"] == "CREATE_FAILED"]
    assert [(e["LogicalResourceId"], e["ResourceStatusReason"]) for e in failed] == [
        ("Bot", "Resource type AWS::Lex::Bot is not supported by the emulator")]


def test_moto_error_becomes_resource_failure_reason(client):
    cfn = client("cloudformation")

    cfn.create_stack(StackName="app", TemplateBody=template({
        "Sub": {"Type": "AWS::SNS::Subscription", "Properties": {
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:nowhere", "Protocol": "email",
            "Endpoint": "a@b.example"}},
    }))

    failed = [e for e in stack_events(cfn, "app") if e["ResourceStatus"] == "CREATE_FAILED"][0]
    assert failed["ResourceStatusReason"] == 'Resource handler returned message: "Topic does not exist"'


def test_missing_required_property_fails_the_resource(client):
    cfn = client("cloudformation")

    cfn.create_stack(StackName="app", TemplateBody=template({
        "Project": {"Type": "AWS::CodeBuild::Project", "Properties": {"Name": "p"}},
    }))

    failed = [e for e in stack_events(cfn, "app") if e["ResourceStatus"] == "CREATE_FAILED"][0]
    assert failed["ResourceStatusReason"].startswith(
        "Properties validation failed for resource Project with message: #: required key [")


def test_on_failure_do_nothing_keeps_created_resources(emulator, client):
    cfn = client("cloudformation")
    fail(emulator, "Group")

    cfn.create_stack(StackName="app", TemplateBody=template(RESOURCES), OnFailure="DO_NOTHING")

    stack = cfn.describe_stacks(StackName="app")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_FAILED"
    assert stack["StackStatusReason"] == "The following resource(s) failed to create: [Group]. "
    assert len(client("sns").list_topics()["Topics"]) == 1


def test_failed_delete_leaves_stack_delete_failed_and_retry_succeeds(emulator, client):
    cfn = client("cloudformation")
    cfn.create_stack(StackName="app", TemplateBody=template(RESOURCES))
    fail(emulator, "Topic", operation="DELETE", count=1, reason="Topic is in use")

    cfn.delete_stack(StackName="app")

    stack = cfn.describe_stacks(StackName="app")["Stacks"][0]
    assert stack["StackStatus"] == "DELETE_FAILED"
    assert stack["StackStatusReason"] == "The following resource(s) failed to delete: [Topic]. "
    assert [r["LogicalResourceId"] for r in
            cfn.list_stack_resources(StackName="app")["StackResourceSummaries"]] == ["Topic"]

    cfn.delete_stack(StackName="app")
    with pytest.raises(ClientError) as caught:
        cfn.describe_stacks(StackName="app")
    assert caught.value.response["Error"]["Message"] == "Stack with id app does not exist"


def test_failure_rule_scoped_to_another_stack_does_not_fire(emulator, client):
    cfn = client("cloudformation")
    fail(emulator, "Topic", stack_name="other")

    cfn.create_stack(StackName="app", TemplateBody=template(RESOURCES))

    assert cfn.describe_stacks(StackName="app")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"


def test_failure_rule_with_count_fires_that_many_times(emulator, client):
    cfn = client("cloudformation")
    fail(emulator, "Topic", count=1)

    cfn.create_stack(StackName="first", TemplateBody=template({"Topic": RESOURCES["Topic"]}))
    cfn.create_stack(StackName="second", TemplateBody=template(
        {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "other"}}}))

    assert cfn.describe_stacks(StackName="first")["Stacks"][0]["StackStatus"] == "ROLLBACK_COMPLETE"
    assert cfn.describe_stacks(StackName="second")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"


def test_on_failure_delete_removes_the_stack_after_rollback(emulator, client):
    cfn = client("cloudformation")
    fail(emulator, "Group")

    stack_id = cfn.create_stack(StackName="app", TemplateBody=template(RESOURCES), OnFailure="DELETE")["StackId"]

    with pytest.raises(ClientError):
        cfn.describe_stacks(StackName="app")
    assert event_trail(cfn, stack_id)[-3:] == [
        ("app", "ROLLBACK_COMPLETE"), ("app", "DELETE_IN_PROGRESS"), ("app", "DELETE_COMPLETE")]


def test_output_that_cannot_be_evaluated_fails_the_create(client):
    cfn = client("cloudformation")

    cfn.create_stack(StackName="app", TemplateBody=template(
        {"Topic": RESOURCES["Topic"]}, {"Bad": {"Value": {"Fn::Select": ["5", ["only-one"]]}}}))

    stack = cfn.describe_stacks(StackName="app")["Stacks"][0]
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    rollback = [e for e in stack_events(cfn, "app") if e["ResourceStatus"] == "ROLLBACK_IN_PROGRESS"][0]
    assert rollback["ResourceStatusReason"].startswith("Template error: ")
    assert client("sns").list_topics()["Topics"] == []


def test_bad_intrinsic_in_an_update_is_rejected_before_any_change(client):
    cfn = client("cloudformation")
    cfn.create_stack(StackName="app", TemplateBody=template({"Topic": RESOURCES["Topic"]}))

    with pytest.raises(ClientError) as caught:
        cfn.update_stack(StackName="app", TemplateBody=template({"Topic": {
            "Type": "AWS::SNS::Topic",
            "Properties": {"TopicName": "alerts", "DisplayName": {"Fn::Select": ["3", ["a"]]}}}}))

    assert caught.value.response["Error"]["Code"] == "ValidationError"
    assert caught.value.response["Error"]["Message"].startswith("Template error: ")
    assert cfn.describe_stacks(StackName="app")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
