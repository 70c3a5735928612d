"""Change sets: planning, execution, outputs and AWS's failure modes."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.emulator.helpers import event_trail, outputs, template

TOPIC = {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": {"Ref": "TopicName"}}}
PARAMS = {"TopicName": {"Type": "String", "Default": "alerts"}}
OUTPUTS = {"TopicArn": {"Value": {"Ref": "Topic"}}, "Name": {"Value": {"Fn::GetAtt": ["Topic", "TopicName"]}}}
EMPTY = ("The submitted information didn't contain changes. "
         "Submit different information to create a change set.")


def create_via_change_set(cfn, name="app", body=None, parameters=()):
    cfn.create_change_set(StackName=name, ChangeSetName="create", ChangeSetType="CREATE",
                          TemplateBody=body or template({"Topic": TOPIC}, OUTPUTS, PARAMS),
                          Parameters=list(parameters))
    cfn.execute_change_set(StackName=name, ChangeSetName="create")
    return cfn.describe_stacks(StackName=name)["Stacks"][0]


def test_create_change_set_leaves_stack_in_review_until_executed(client):
    cfn = client("cloudformation")
    cfn.create_change_set(StackName="app", ChangeSetName="create", ChangeSetType="CREATE",
                          TemplateBody=template({"Topic": TOPIC}, OUTPUTS, PARAMS))

    stack = cfn.describe_stacks(StackName="app")["Stacks"][0]
    change_set = cfn.describe_change_set(StackName="app", ChangeSetName="create")

    assert stack["StackStatus"] == "REVIEW_IN_PROGRESS"
    assert (change_set["Status"], change_set["ExecutionStatus"]) == ("CREATE_COMPLETE", "AVAILABLE")
    assert [(c["ResourceChange"]["Action"], c["ResourceChange"]["LogicalResourceId"])
            for c in change_set["Changes"]] == [("Add", "Topic")]
    assert client("sns").list_topics()["Topics"] == []


def test_executed_create_change_set_reports_outputs(client):
    cfn = client("cloudformation")

    stack = create_via_change_set(cfn)

    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert outputs(stack) == {"TopicArn": "arn:aws:sns:us-east-1:123456789012:alerts", "Name": "alerts"}
    assert cfn.describe_change_set(StackName="app", ChangeSetName="create")["ExecutionStatus"] == "EXECUTE_COMPLETE"


def test_executed_update_change_set_reports_new_outputs(client):
    cfn = client("cloudformation")
    create_via_change_set(cfn)

    cfn.create_change_set(StackName="app", ChangeSetName="rename", ChangeSetType="UPDATE",
                          TemplateBody=template({"Topic": TOPIC}, OUTPUTS, PARAMS),
                          Parameters=[{"ParameterKey": "TopicName", "ParameterValue": "alarms"}])
    cfn.execute_change_set(StackName="app", ChangeSetName="rename")

    stack = cfn.describe_stacks(StackName="app")["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    assert outputs(stack)["Name"] == "alarms"
    assert [t["TopicArn"] for t in client("sns").list_topics()["Topics"]] == [outputs(stack)["TopicArn"]]


def test_change_set_without_changes_fails_with_aws_reason(client):
    cfn = client("cloudformation")
    create_via_change_set(cfn)

    cfn.create_change_set(StackName="app", ChangeSetName="same", ChangeSetType="UPDATE",
                          UsePreviousTemplate=True,
                          Parameters=[{"ParameterKey": "TopicName", "UsePreviousValue": True}])
    change_set = cfn.describe_change_set(StackName="app", ChangeSetName="same")

    assert change_set["Status"] == "FAILED"
    assert change_set["ExecutionStatus"] == "UNAVAILABLE"
    assert change_set["StatusReason"] == EMPTY
    assert change_set["Changes"] == []


def test_executing_failed_change_set_is_invalid_change_set_status(client):
    cfn = client("cloudformation")
    create_via_change_set(cfn)
    cs_id = cfn.create_change_set(StackName="app", ChangeSetName="same", ChangeSetType="UPDATE",
                                  UsePreviousTemplate=True)["Id"]

    with pytest.raises(ClientError) as caught:
        cfn.execute_change_set(StackName="app", ChangeSetName="same")

    assert caught.value.response["Error"]["Code"] == "InvalidChangeSetStatus"
    assert caught.value.response["Error"]["Message"] == (
        f"ChangeSet [{cs_id}] cannot be executed in its current status of [FAILED]")


def test_executed_change_set_cannot_run_twice(client):
    cfn = client("cloudformation")
    create_via_change_set(cfn)

    with pytest.raises(ClientError) as caught:
        cfn.execute_change_set(StackName="app", ChangeSetName="create")

    assert caught.value.response["Error"]["Code"] == "InvalidChangeSetStatus"
    assert "current execution status of [EXECUTE_COMPLETE]" in caught.value.response["Error"]["Message"]


def test_executing_a_change_set_deletes_the_stacks_other_change_sets(client):
    cfn = client("cloudformation")
    create_via_change_set(cfn)
    for name, value in (("a", "one"), ("b", "two")):
        cfn.create_change_set(StackName="app", ChangeSetName=name, ChangeSetType="UPDATE",
                              UsePreviousTemplate=True,
                              Parameters=[{"ParameterKey": "TopicName", "ParameterValue": value}])

    cfn.execute_change_set(StackName="app", ChangeSetName="a")

    with pytest.raises(cfn.exceptions.ChangeSetNotFoundException):
        cfn.describe_change_set(StackName="app", ChangeSetName="b")
    assert [s["ChangeSetName"] for s in cfn.list_change_sets(StackName="app")["Summaries"]] == ["a"]


def test_update_stack_makes_pending_change_sets_obsolete(client):
    cfn = client("cloudformation")
    create_via_change_set(cfn)
    cfn.create_change_set(StackName="app", ChangeSetName="pending", ChangeSetType="UPDATE",
                          UsePreviousTemplate=True,
                          Parameters=[{"ParameterKey": "TopicName", "ParameterValue": "other"}])

    cfn.update_stack(StackName="app", UsePreviousTemplate=True,
                     Parameters=[{"ParameterKey": "TopicName", "ParameterValue": "renamed"}])

    assert cfn.describe_change_set(StackName="app", ChangeSetName="pending")["ExecutionStatus"] == "OBSOLETE"
    with pytest.raises(ClientError) as caught:
        cfn.execute_change_set(StackName="app", ChangeSetName="pending")
    assert "current execution status of [OBSOLETE]" in caught.value.response["Error"]["Message"]


def test_change_set_name_is_taken_until_the_change_set_runs(client):
    cfn = client("cloudformation")
    create_via_change_set(cfn)
    update = {"StackName": "app", "ChangeSetName": "next", "ChangeSetType": "UPDATE",
              "UsePreviousTemplate": True}
    cfn.create_change_set(**update, Parameters=[{"ParameterKey": "TopicName", "ParameterValue": "one"}])

    with pytest.raises(ClientError) as caught:
        cfn.create_change_set(**update, Parameters=[{"ParameterKey": "TopicName", "ParameterValue": "two"}])
    assert caught.value.response["Error"]["Code"] == "AlreadyExistsException"

    cfn.execute_change_set(StackName="app", ChangeSetName="next")
    cfn.create_change_set(**update, Parameters=[{"ParameterKey": "TopicName", "ParameterValue": "two"}])
    assert cfn.describe_change_set(StackName="app", ChangeSetName="next")["Status"] == "CREATE_COMPLETE"


def test_create_change_set_for_existing_stack_is_rejected(client):
    cfn = client("cloudformation")
    create_via_change_set(cfn)

    with pytest.raises(ClientError) as caught:
        cfn.create_change_set(StackName="app", ChangeSetName="again", ChangeSetType="CREATE",
                              TemplateBody=template({"Topic": TOPIC}, OUTPUTS, PARAMS))

    assert "already exists and cannot be created again with the changeSet [again]" in \
        caught.value.response["Error"]["Message"]


def test_update_change_set_for_missing_stack_is_validation_error(client):
    with pytest.raises(ClientError) as caught:
        client("cloudformation").create_change_set(
            StackName="ghost", ChangeSetName="x", ChangeSetType="UPDATE",
            TemplateBody=template({"Topic": TOPIC}, OUTPUTS, PARAMS))

    assert caught.value.response["Error"]["Code"] == "ValidationError"


def test_change_set_marks_name_change_as_replacement(client):
    cfn = client("cloudformation")
    create_via_change_set(cfn)

    cfn.create_change_set(StackName="app", ChangeSetName="rename", ChangeSetType="UPDATE",
                          UsePreviousTemplate=True,
                          Parameters=[{"ParameterKey": "TopicName", "ParameterValue": "alarms"}])
    change = cfn.describe_change_set(StackName="app", ChangeSetName="rename")["Changes"][0]["ResourceChange"]

    assert change["Action"] == "Modify"
    assert change["Replacement"] == "True"
    assert change["PhysicalResourceId"] == "arn:aws:sns:us-east-1:123456789012:alerts"
    assert change["Details"] == [{
        "Target": {"Attribute": "Properties", "Name": "TopicName", "RequiresRecreation": "Always"},
        "Evaluation": "Static", "ChangeSource": "ParameterReference", "CausingEntity": "TopicName",
    }]


def test_change_set_marks_mutable_change_as_no_replacement_and_dependents_conditional(client):
    cfn = client("cloudformation")
    resources = {
        "Topic": TOPIC,
        "Group": {"Type": "AWS::Logs::LogGroup",
                  "Properties": {"LogGroupName": "app-logs", "RetentionInDays": 7}},
        "Sub": {"Type": "AWS::SNS::Subscription",
                "Properties": {"TopicArn": {"Ref": "Topic"}, "Protocol": "email", "Endpoint": "a@b.example"}},
    }
    create_via_change_set(cfn, body=template(resources, OUTPUTS, PARAMS))
    resources["Group"]["Properties"]["RetentionInDays"] = 30
    resources["Topic"] = {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "renamed"}}

    cfn.create_change_set(StackName="app", ChangeSetName="edit", ChangeSetType="UPDATE",
                          TemplateBody=template(resources, OUTPUTS, PARAMS))
    changes = {c["ResourceChange"]["LogicalResourceId"]: c["ResourceChange"]
               for c in cfn.describe_change_set(StackName="app", ChangeSetName="edit")["Changes"]}

    assert changes["Group"]["Replacement"] == "False"
    assert changes["Group"]["Details"][0]["ChangeSource"] == "DirectModification"
    assert changes["Topic"]["Replacement"] == "True"
    assert changes["Sub"]["Replacement"] == "Conditional"
    assert changes["Sub"]["Details"][0]["Evaluation"] == "Dynamic"


def test_change_set_lists_added_and_removed_resources(client):
    cfn = client("cloudformation")
    create_via_change_set(cfn)
    resources = {"Group": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "g"}}}

    cfn.create_change_set(StackName="app", ChangeSetName="swap", ChangeSetType="UPDATE",
                          TemplateBody=template(resources))
    changes = cfn.describe_change_set(StackName="app", ChangeSetName="swap")["Changes"]

    assert sorted((c["ResourceChange"]["Action"], c["ResourceChange"]["LogicalResourceId"]) for c in changes) == [
        ("Add", "Group"), ("Remove", "Topic")]


def test_update_change_set_events_follow_aws_order(client):
    cfn = client("cloudformation")
    create_via_change_set(cfn)

    cfn.create_change_set(StackName="app", ChangeSetName="rename", ChangeSetType="UPDATE",
                          UsePreviousTemplate=True,
                          Parameters=[{"ParameterKey": "TopicName", "ParameterValue": "alarms"}])
    cfn.execute_change_set(StackName="app", ChangeSetName="rename")

    trail = event_trail(cfn, "app")
    update = trail[trail.index(("app", "UPDATE_IN_PROGRESS")):]
    assert update == [
        ("app", "UPDATE_IN_PROGRESS"), ("Topic", "UPDATE_IN_PROGRESS"), ("Topic", "UPDATE_IN_PROGRESS"),
        ("Topic", "UPDATE_COMPLETE"), ("app", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"),
        ("Topic", "DELETE_IN_PROGRESS"), ("Topic", "DELETE_COMPLETE"), ("app", "UPDATE_COMPLETE"),
    ]
    resources = cfn.list_stack_resources(StackName="app")["StackResourceSummaries"]
    assert [(r["LogicalResourceId"], r["ResourceStatus"], r["PhysicalResourceId"]) for r in resources] == [
        ("Topic", "UPDATE_COMPLETE", "arn:aws:sns:us-east-1:123456789012:alarms")]


def test_update_reports_outputs_of_the_new_template(client):
    cfn = client("cloudformation")
    create_via_change_set(cfn)
    new_outputs = {**OUTPUTS, "Upper": {"Value": {"Fn::Join": ["-", [{"Ref": "TopicName"}, "x"]]}}}

    cfn.update_stack(StackName="app", TemplateBody=template({"Topic": TOPIC}, new_outputs, PARAMS))

    assert outputs(cfn.describe_stacks(StackName="app")["Stacks"][0])["Upper"] == "alerts-x"
