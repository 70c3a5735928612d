"""The Deployer against the emulator: stacks, change sets, empty change sets, big templates."""
from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from tests.worker.conftest import DEFAULT_ACCOUNT, REGION, control
from tests.worker.helpers import topics_template, wait_for_stack
from worker.deployer import (
    ChangeSetEmpty, ChangeSetNotFound, Deployer, StackNotReady, TemplateTooLarge,
)
from worker.sessions import client_config
from worker.staging import INLINE_LIMIT_BYTES, TemplateStaging, bucket_name


@pytest.fixture
def cfn(aws_env):
    return boto3.client("cloudformation", region_name=REGION, config=client_config())


@pytest.fixture
def deployer(cfn):
    s3 = boto3.client("s3", region_name=REGION)
    return Deployer(cfn, TemplateStaging(s3, DEFAULT_ACCOUNT, REGION))


def create_stack(deployer, cfn, name, template, parameters=None):
    ref = deployer.create_change_set(name, "cs-1", template, parameters or {}, {"team": "a"})
    deployer.execute_change_set(name, "cs-1")
    return ref, wait_for_stack(cfn, name)


def test_missing_stack_is_no_stack(deployer):
    assert deployer.describe_stack("nope") is None
    assert deployer.has_stack("nope") is False


def test_review_in_progress_is_no_stack_yet(deployer):
    ref = deployer.create_change_set("fresh", "cs-1", topics_template("Topic"), {}, {})

    assert ref.change_set_type == "CREATE"
    assert deployer.describe_stack("fresh").status == "REVIEW_IN_PROGRESS"
    assert deployer.has_stack("fresh") is False


def test_create_change_set_lists_added_resources(deployer):
    deployer.create_change_set("fresh", "cs-1", topics_template("Alpha", "Beta"), {}, {})

    change_set = deployer.describe_change_set("fresh", "cs-1")

    assert change_set.is_ready
    assert {(c.action, c.logical_id, c.resource_type) for c in change_set.changes} == {
        ("Add", "Alpha", "AWS::SNS::Topic"), ("Add", "Beta", "AWS::SNS::Topic")}


def test_identical_change_set_is_reused_on_rerun(deployer):
    first = deployer.create_change_set("fresh", "cs-1", topics_template("Topic"), {}, {"team": "a"})
    again = deployer.create_change_set("fresh", "cs-1", topics_template("Topic"), {}, {"team": "a"})

    assert again.reused and again.change_set_id == first.change_set_id


def test_changed_inputs_replace_the_change_set_of_that_name(deployer):
    first = deployer.create_change_set("fresh", "cs-1", topics_template("Topic"), {}, {"team": "a"})
    second = deployer.create_change_set("fresh", "cs-1", topics_template("Topic", "Other"), {}, {"team": "a"})

    assert not second.reused and second.change_set_id != first.change_set_id
    assert len(deployer.describe_change_set("fresh", "cs-1").changes) == 2


def test_existing_stack_gets_update_change_set_with_differences_only(deployer, cfn):
    create_stack(deployer, cfn, "app", topics_template("Alpha", parameter=True), {"TopicSuffix": "one"})

    ref = deployer.create_change_set("app", "cs-2", topics_template("Alpha", "Beta", parameter=True),
                                     {"TopicSuffix": "one"}, {"team": "a"})
    changes = deployer.describe_change_set("app", "cs-2").changes

    assert ref.change_set_type == "UPDATE"
    assert [(c.action, c.logical_id) for c in changes] == [("Add", "Beta")]


def test_renamed_resource_shows_replacement(deployer, cfn):
    create_stack(deployer, cfn, "app", topics_template("Alpha", parameter=True), {"TopicSuffix": "one"})

    deployer.create_change_set("app", "cs-2", topics_template("Alpha", parameter=True), {"TopicSuffix": "two"}, {"team": "a"})
    [change] = deployer.describe_change_set("app", "cs-2").changes

    assert (change.action, change.logical_id, change.replacement) == ("Modify", "Alpha", "True")


def test_unchanged_stack_is_up_to_date_not_an_error(deployer, cfn):
    create_stack(deployer, cfn, "app", topics_template("Alpha"))

    # CloudFormation refuses at once (older APIs, moto) or marks the change set FAILED later.
    with pytest.raises(ChangeSetEmpty, match="up to date"):
        deployer.create_change_set("app", "cs-2", topics_template("Alpha"), {}, {"team": "a"})
        deployer.check_change_set("app", "cs-2")


def test_executed_stack_has_outputs_and_tags(deployer, cfn):
    _, status = create_stack(deployer, cfn, "app", topics_template("Alpha"))

    stack = deployer.describe_stack("app")

    assert status == "CREATE_COMPLETE" and deployer.has_stack("app")
    assert stack.outputs["AlphaArn"].startswith("arn:aws:sns:")
    assert {"Key": "team", "Value": "a"} in cfn.describe_stacks(StackName="app")["Stacks"][0]["Tags"]


def test_rollback_complete_stack_must_be_recreated(deployer, cfn, aws_env):
    control(aws_env, "failures", {"type": "resource", "logical_id": "Alpha", "reason": "quota exceeded"})
    _, status = create_stack(deployer, cfn, "broken", topics_template("Alpha"))

    assert status == "ROLLBACK_COMPLETE"
    with pytest.raises(StackNotReady, match="delete and recreate"):
        deployer.has_stack("broken")


def test_executing_twice_reports_the_second_as_already_done(deployer, cfn):
    deployer.create_change_set("app", "cs-1", topics_template("Alpha"), {}, {})
    assert deployer.execute_change_set("app", "cs-1") is True
    wait_for_stack(cfn, "app")

    try:
        again = deployer.execute_change_set("app", "cs-1")
    except ChangeSetNotFound:
        again = False  # CloudFormation may drop an executed change set instead
    assert again is False


def test_missing_change_set_is_reported(deployer):
    deployer.create_change_set("app", "cs-1", topics_template("Alpha"), {}, {})

    with pytest.raises(ChangeSetNotFound, match="nope"):
        deployer.describe_change_set("app", "nope")


def test_template_over_inline_limit_goes_through_s3_staging(deployer, cfn):
    big = topics_template("Alpha", padding=INLINE_LIMIT_BYTES + 1000)
    sent = []
    cfn.meta.events.register("provide-client-params.cloudformation.CreateChangeSet",
                             lambda params, **_: sent.append(dict(params)))

    deployer.create_change_set("big", "cs-1", big, {}, {})
    deployer.execute_change_set("big", "cs-1")

    assert big.size > INLINE_LIMIT_BYTES
    assert "TemplateBody" not in sent[0] and sent[0]["TemplateURL"].startswith(
        f"https://{bucket_name(DEFAULT_ACCOUNT, REGION)}.s3.{REGION}.amazonaws.com/")
    assert wait_for_stack(cfn, "big") == "CREATE_COMPLETE"
    s3 = boto3.client("s3", region_name=REGION)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket_name(DEFAULT_ACCOUNT, REGION))["Contents"]]
    assert keys == [f"change-sets/{big.sha256}/topics.json"]
    assert s3.get_public_access_block(Bucket=bucket_name(DEFAULT_ACCOUNT, REGION))[
        "PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is True


def test_template_over_inline_limit_without_staging_is_refused(cfn):
    with pytest.raises(TemplateTooLarge, match="51200"):
        Deployer(cfn).template_argument(topics_template("Alpha", padding=INLINE_LIMIT_BYTES))


def test_delete_stack_removes_it(deployer, cfn):
    create_stack(deployer, cfn, "app", topics_template("Alpha"))
    stack_id = deployer.describe_stack("app").stack_id

    deployer.delete_stack(stack_id)

    assert wait_for_stack(cfn, stack_id) == "DELETE_COMPLETE"
    assert deployer.has_stack("app") is False


def test_change_set_pages_are_all_read():
    # Stubber: the emulator returns all changes in one page, so NextToken paging is shown here.
    cfn = boto3.client("cloudformation", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    page = {"ChangeSetId": "arn:cs", "StackId": "arn:stack", "Status": "CREATE_COMPLETE", "ExecutionStatus": "AVAILABLE"}

    def change(n):
        return {"Type": "Resource", "ResourceChange": {"Action": "Add", "LogicalResourceId": f"R{n}",
                                                        "ResourceType": "AWS::SNS::Topic"}}

    with Stubber(cfn) as stub:
        stub.add_response("describe_change_set", {**page, "Changes": [change(1), change(2)], "NextToken": "t1"},
                          {"StackName": "app", "ChangeSetName": "cs"})
        stub.add_response("describe_change_set", {**page, "Changes": [change(3)]},
                          {"StackName": "app", "ChangeSetName": "cs", "NextToken": "t1"})
        result = Deployer(cfn).describe_change_set("app", "cs")

    assert [c.logical_id for c in result.changes] == ["R1", "R2", "R3"]
    assert result.stack_id == "arn:stack"
