"""Resource types beyond stock moto, and in-place updates where moto would recreate."""
from __future__ import annotations

import json

import pytest

from tests.emulator.helpers import outputs, template

ROLE_TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "codebuild.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


def deploy(cfn, body, name="app"):
    """Create or update a stack and return it (pace 0: done at once)."""
    existing = [s for s in cfn.list_stacks()["StackSummaries"]
                if s["StackName"] == name and s["StackStatus"] != "DELETE_COMPLETE"]
    if existing:
        cfn.update_stack(StackName=name, TemplateBody=body, Capabilities=["CAPABILITY_NAMED_IAM"])
    else:
        cfn.create_stack(StackName=name, TemplateBody=body, Capabilities=["CAPABILITY_NAMED_IAM"])
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    assert stack["StackStatus"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE"), stack
    return stack


def test_codecommit_repository_exposes_attributes_and_ref_is_its_id(client, emulator):
    stack = deploy(client("cloudformation"), template(
        {"Repo": {"Type": "AWS::CodeCommit::Repository",
                  "Properties": {"RepositoryName": "orders-api", "RepositoryDescription": "Orders"}}},
        {"Id": {"Value": {"Ref": "Repo"}}, "Arn": {"Value": {"Fn::GetAtt": ["Repo", "Arn"]}},
         "Http": {"Value": {"Fn::GetAtt": ["Repo", "CloneUrlHttp"]}},
         "Ssh": {"Value": {"Fn::GetAtt": ["Repo", "CloneUrlSsh"]}},
         "Name": {"Value": {"Fn::GetAtt": ["Repo", "Name"]}}}))

    repo = client("codecommit").get_repository(repositoryName="orders-api")["repositoryMetadata"]
    assert outputs(stack) == {
        "Id": repo["repositoryId"], "Arn": "arn:aws:codecommit:us-east-1:123456789012:orders-api",
        "Http": f"{emulator}/v1/repos/orders-api",  # the emulator serves the repository's git
        "Ssh": "ssh://git-codecommit.us-east-1.amazonaws.com/v1/repos/orders-api", "Name": "orders-api"}
    assert repo["repositoryDescription"] == "Orders"


def test_codecommit_rename_keeps_repository_id(client):
    cfn = client("cloudformation")
    resource = {"Type": "AWS::CodeCommit::Repository", "Properties": {"RepositoryName": "old-name"}}
    before = deploy(cfn, template({"Repo": resource}, {"Id": {"Value": {"Ref": "Repo"}}}))

    resource["Properties"]["RepositoryName"] = "new-name"
    after = deploy(cfn, template({"Repo": resource}, {"Id": {"Value": {"Ref": "Repo"}}}))

    codecommit = client("codecommit")
    assert outputs(after) == outputs(before)
    assert codecommit.get_repository(repositoryName="new-name")["repositoryMetadata"]["repositoryId"] == \
        outputs(before)["Id"]
    with pytest.raises(codecommit.exceptions.RepositoryDoesNotExistException):
        codecommit.get_repository(repositoryName="old-name")


def test_codebuild_project_is_created_with_its_settings(client):
    resources = {
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": ROLE_TRUST}},
        "Project": {"Type": "AWS::CodeBuild::Project", "Properties": {
            "Name": "orders-build", "ServiceRole": {"Fn::GetAtt": ["Role", "Arn"]},
            "EncryptionKey": "arn:aws:kms:us-east-1:123456789012:key/abc",
            "Source": {"Type": "CODEPIPELINE", "BuildSpec": "buildspec.yaml"},
            "Artifacts": {"Type": "CODEPIPELINE"},
            "Environment": {"Type": "ARM_CONTAINER", "ComputeType": "BUILD_GENERAL1_SMALL",
                            "Image": "aws/codebuild/amazonlinux-aarch64-standard:3.0",
                            "EnvironmentVariables": [{"Name": "STAGE", "Value": "build"}]}}},
    }
    stack = deploy(client("cloudformation"), template(
        resources, {"Name": {"Value": {"Ref": "Project"}}, "Arn": {"Value": {"Fn::GetAtt": ["Project", "Arn"]}}}))

    project = client("codebuild").batch_get_projects(names=["orders-build"])["projects"][0]
    assert outputs(stack) == {"Name": "orders-build",
                              "Arn": "arn:aws:codebuild:us-east-1:123456789012:project/orders-build"}
    assert project["source"] == {"type": "CODEPIPELINE", "buildspec": "buildspec.yaml"}
    assert project["environment"]["environmentVariables"] == [{"name": "STAGE", "value": "build"}]
    assert project["encryptionKey"] == "arn:aws:kms:us-east-1:123456789012:key/abc"
    assert project["serviceRole"].endswith(":role/" + client("iam").list_roles()["Roles"][0]["RoleName"])


def test_bucket_policy_is_put_on_the_bucket_and_removed_with_it(client):
    policy = {"Version": "2012-10-17", "Statement": [{
        "Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [{"Fn::Sub": "${Bucket.Arn}"}, {"Fn::Sub": "${Bucket.Arn}/*"}],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}
    cfn = client("cloudformation")
    deploy(cfn, template({
        "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {
            "BucketName": "artifacts-bucket", "VersioningConfiguration": {"Status": "Enabled"},
            "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                               "IgnorePublicAcls": True, "RestrictPublicBuckets": True}}},
        "Policy": {"Type": "AWS::S3::BucketPolicy",
                   "Properties": {"Bucket": {"Ref": "Bucket"}, "PolicyDocument": policy}},
    }))
    s3 = client("s3")

    stored = json.loads(s3.get_bucket_policy(Bucket="artifacts-bucket")["Policy"])
    assert stored["Statement"][0]["Resource"] == [
        "arn:aws:s3:::artifacts-bucket", "arn:aws:s3:::artifacts-bucket/*"]
    assert s3.get_bucket_versioning(Bucket="artifacts-bucket")["Status"] == "Enabled"
    assert s3.get_public_access_block(Bucket="artifacts-bucket")["PublicAccessBlockConfiguration"][
        "BlockPublicPolicy"] is True

    cfn.delete_stack(StackName="app")
    assert s3.list_buckets()["Buckets"] == []


def test_topic_policy_and_subscription_are_applied(client):
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "codestar-notifications.amazonaws.com"},
        "Action": "sns:Publish", "Resource": {"Ref": "Topic"}}]}
    stack = deploy(client("cloudformation"), template({
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "approvals"}},
        "Policy": {"Type": "AWS::SNS::TopicPolicy",
                   "Properties": {"Topics": [{"Ref": "Topic"}], "PolicyDocument": policy}},
        "Sub": {"Type": "AWS::SNS::Subscription", "Properties": {
            "TopicArn": {"Ref": "Topic"}, "Protocol": "email", "Endpoint": "approver@example.com"}},
    }, {"Sub": {"Value": {"Ref": "Sub"}}}))
    sns = client("sns")
    arn = "arn:aws:sns:us-east-1:123456789012:approvals"

    attributes = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert json.loads(attributes["Policy"])["Statement"][0]["Principal"] == {
        "Service": "codestar-notifications.amazonaws.com"}
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
    assert [(s["Endpoint"], s["SubscriptionArn"]) for s in subscriptions] == [
        ("approver@example.com", outputs(stack)["Sub"])]


def test_events_rule_and_log_group_are_created(client):
    deploy(client("cloudformation"), template({
        "Group": {"Type": "AWS::Logs::LogGroup",
                  "Properties": {"LogGroupName": "/aws/codebuild/orders", "RetentionInDays": 30}},
        "Rule": {"Type": "AWS::Events::Rule", "Properties": {
            "Name": "orders-source-changed",
            "EventPattern": {"source": ["aws.codecommit"], "detail-type": ["CodeCommit Repository State Change"]},
            "Targets": [{"Id": "pipeline", "Arn": "arn:aws:codepipeline:us-east-1:123456789012:orders"}]}},
    }))

    groups = client("logs").describe_log_groups()["logGroups"]
    assert [(g["logGroupName"], g["retentionInDays"]) for g in groups] == [("/aws/codebuild/orders", 30)]
    events = client("events")
    assert json.loads(events.describe_rule(Name="orders-source-changed")["EventPattern"])["source"] == [
        "aws.codecommit"]
    assert [t["Id"] for t in events.list_targets_by_rule(Rule="orders-source-changed")["Targets"]] == ["pipeline"]


def test_kms_key_policy_update_keeps_the_key(client):
    cfn = client("cloudformation")
    key = {"Type": "AWS::KMS::Key", "Properties": {"Description": "artifacts"}}
    alias = {"Type": "AWS::KMS::Alias", "Properties": {"AliasName": "alias/orders-artifacts",
                                                       "TargetKeyId": {"Ref": "Key"}}}
    body = template({"Key": key, "Alias": alias}, {"Arn": {"Value": {"Fn::GetAtt": ["Key", "Arn"]}}})
    before = outputs(deploy(cfn, body))["Arn"]
    key["Properties"]["KeyPolicy"] = {"Version": "2012-10-17", "Statement": [{
        "Sid": "DeployAccounts", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*",
        "Principal": {"AWS": "arn:aws:iam::222222222222:root"}}]}

    after = outputs(deploy(cfn, template({"Key": key, "Alias": alias},
                                         {"Arn": {"Value": {"Fn::GetAtt": ["Key", "Arn"]}}})))["Arn"]

    kms = client("kms")
    assert after == before
    policy = json.loads(kms.get_key_policy(KeyId=after, PolicyName="default")["Policy"])
    assert policy["Statement"][0]["Sid"] == "DeployAccounts"
    assert kms.describe_key(KeyId="alias/orders-artifacts")["KeyMetadata"]["Arn"] == after


def test_kms_key_without_policy_gets_the_default_policy(client):
    stack = deploy(client("cloudformation"), template(
        {"Key": {"Type": "AWS::KMS::Key"}}, {"Id": {"Value": {"Ref": "Key"}}}))

    policy = json.loads(client("kms").get_key_policy(KeyId=outputs(stack)["Id"], PolicyName="default")["Policy"])
    assert policy["Statement"][0]["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}


def test_role_update_changes_trust_and_policies_in_place(client):
    cfn = client("cloudformation")
    role = {"Type": "AWS::IAM::Role", "Properties": {
        "RoleName": "orders-deploy-role", "AssumeRolePolicyDocument": ROLE_TRUST,
        "Policies": [{"PolicyName": "read", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}}]}}
    deploy(cfn, template({"Role": role}))
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"}, "Action": "sts:AssumeRole"}]}
    role["Properties"]["AssumeRolePolicyDocument"] = trust
    role["Properties"]["Policies"] = [{"PolicyName": "write", "PolicyDocument": {
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}]}}]
    iam = client("iam")
    read_only = iam.create_policy(PolicyName="ReadOnly", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]}))
    role["Properties"]["ManagedPolicyArns"] = [read_only["Policy"]["Arn"]]

    deploy(cfn, template({"Role": role}))

    got = iam.get_role(RoleName="orders-deploy-role")["Role"]
    assert got["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"AWS": "arn:aws:iam::111111111111:root"}
    assert iam.list_role_policies(RoleName="orders-deploy-role")["PolicyNames"] == ["write"]
    assert [p["PolicyName"] for p in iam.list_attached_role_policies(RoleName="orders-deploy-role")[
        "AttachedPolicies"]] == ["ReadOnly"]

    cfn.delete_stack(StackName="app")
    assert iam.list_roles()["Roles"] == []


def test_managed_policy_update_adds_a_version_and_delete_removes_it(client):
    cfn = client("cloudformation")
    role = {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "r", "AssumeRolePolicyDocument": ROLE_TRUST}}
    policy = {"Type": "AWS::IAM::ManagedPolicy", "Properties": {
        "ManagedPolicyName": "orders-artifacts-read", "Roles": [{"Ref": "Role"}],
        "PolicyDocument": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}}}
    arn = outputs(deploy(cfn, template({"Role": role, "Policy": policy}, {"Arn": {"Value": {"Ref": "Policy"}}})))["Arn"]
    policy["Properties"]["PolicyDocument"]["Statement"][0]["Action"] = "s3:*"

    deploy(cfn, template({"Role": role, "Policy": policy}, {"Arn": {"Value": {"Ref": "Policy"}}}))

    iam = client("iam")
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v2"
    assert [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName="r")["AttachedPolicies"]] == [arn]
    cfn.delete_stack(StackName="app")
    assert iam.list_policies(Scope="Local")["Policies"] == []


def test_resources_in_another_account_are_created_there(client):
    cfn = client("cloudformation", account="222222222222")

    stack = deploy(cfn, template({"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "t"}}},
                                 {"Arn": {"Value": {"Ref": "Topic"}}}))

    assert outputs(stack)["Arn"] == "arn:aws:sns:us-east-1:222222222222:t"
    assert stack["StackId"].startswith("arn:aws:cloudformation:us-east-1:222222222222:stack/app/")
    assert client("cloudformation").list_stacks()["StackSummaries"] == []


def test_get_att_spells_arns_as_aws_does(client):
    stack = deploy(client("cloudformation"), template({
        "Group": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "build"}},
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "approvals"}},
    }, {"GroupArn": {"Value": {"Fn::GetAtt": ["Group", "Arn"]}},
        "TopicArn": {"Value": {"Fn::GetAtt": ["Topic", "TopicArn"]}},
        "TopicRef": {"Value": {"Fn::Sub": "${Topic}"}}}))

    assert outputs(stack) == {
        "GroupArn": "arn:aws:logs:us-east-1:123456789012:log-group:build:*",
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:approvals",
        "TopicRef": "arn:aws:sns:us-east-1:123456789012:approvals"}
