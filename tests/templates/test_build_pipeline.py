"""build-pipeline.yaml: source, artifact bucket and key, build, and the V2 pipeline's stages."""
from __future__ import annotations

import pytest

from .cfn_yaml import as_list, if_branches, statements
from .scenario import APP, BUILD, GITHUB, PORTAL_URL, PRODUCTION, REGION, STAGING, pipeline_parameters, role_arn

CONTRACT_STAGES = [
    ("Source", ["Source"]),
    ("Build", ["BuildAndTest"]),
    ("DeployStaging", ["Deploy"]),
    ("ApproveProduction", ["CreateChangeSet", "Approve"]),
    ("DeployProduction", ["ExecuteChangeSet"]),
]
KEY_ARN = f"arn:aws:kms:{REGION}:{BUILD}:key/ArtifactKey-KEY-ID"
BUCKET = f"{APP}-artifacts-{BUILD}-{REGION}"


@pytest.fixture
def stack(render_pipeline):
    return render_pipeline(**pipeline_parameters())


def pipeline(stack):
    return stack.resources["Pipeline"]["Properties"]


def action(stack, stage_name, action_name):
    (stage,) = [stage for stage in pipeline(stack)["Stages"] if stage["Name"] == stage_name]
    (found,) = [item for item in stage["Actions"] if item["Name"] == action_name]
    return found


def role_policy(stack, logical_id):
    policies = stack.resources[logical_id]["Properties"]["Policies"]
    return {item["Sid"]: item for policy in policies for item in statements(policy["PolicyDocument"]) if "Sid" in item}


def action_names(stage):
    """The stage's action names; a conditional action (the source) has one name in every branch."""
    names = []
    for item in stage["Actions"]:
        branch_names = {branch["Name"] for branch in if_branches(item)}
        assert len(branch_names) == 1, f"{stage['Name']}: alternatives named {branch_names}"
        names.extend(branch_names)
    return names


def test_stages_and_actions_are_named_as_in_the_contract(build_pipeline):
    stages = build_pipeline["Resources"]["Pipeline"]["Properties"]["Stages"]
    assert [(stage["Name"], action_names(stage)) for stage in stages] == CONTRACT_STAGES


def test_pipeline_is_v2_with_the_contract_name(stack):
    assert pipeline(stack)["PipelineType"] == "V2"
    assert pipeline(stack)["Name"] == f"{APP}-pipeline"


def test_artifact_store_is_encrypted_with_the_artifact_key(stack):
    store = pipeline(stack)["ArtifactStore"]
    assert store == {"Type": "S3", "Location": BUCKET, "EncryptionKey": {"Type": "KMS", "Id": KEY_ARN}}


def test_artifact_bucket_is_kms_encrypted_versioned_and_private(stack):
    bucket = stack.resources["ArtifactBucket"]["Properties"]
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": KEY_ARN}
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4


def test_artifact_key_rotates_and_has_the_contract_alias(stack):
    assert stack.resources["ArtifactKey"]["Properties"]["EnableKeyRotation"] is True
    assert stack.resources["ArtifactKeyAlias"]["Properties"]["AliasName"] == f"alias/{APP}-artifacts"


def test_bucket_denies_requests_without_tls(stack):
    document = stack.resources["ArtifactBucketPolicy"]["Properties"]["PolicyDocument"]
    (deny,) = [item for item in statements(document) if item["Effect"] == "Deny"]
    assert deny["Principal"] == "*"
    assert deny["Action"] == "s3:*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert set(deny["Resource"]) == {f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"}


def deploy_account_grant(stack, logical_id, document_property):
    document = stack.resources[logical_id]["Properties"][document_property]
    (grant,) = [item for item in statements(document) if item.get("Sid", "").startswith("AllowDeployRoles")]
    return grant


@pytest.mark.parametrize(
    ("logical_id", "document_property", "actions"),
    [
        ("ArtifactBucketPolicy", "PolicyDocument", ["s3:GetObject", "s3:GetObjectVersion"]),
        ("ArtifactKey", "KeyPolicy", ["kms:Decrypt", "kms:DescribeKey"]),
    ],
)
def test_deploy_and_execution_roles_may_only_read_artifacts(stack, logical_id, document_property, actions):
    grant = deploy_account_grant(stack, logical_id, document_property)
    assert grant["Action"] == actions
    assert grant["Principal"] == {"AWS": [f"arn:aws:iam::{STAGING}:root", f"arn:aws:iam::{PRODUCTION}:root"]}
    assert set(grant["Condition"]["ArnEquals"]["aws:PrincipalArn"]) == {
        role_arn(account, suffix) for account in (STAGING, PRODUCTION) for suffix in ("deploy-role", "cfn-execution-role")
    }


def test_build_project_runs_the_buildspec_on_arm_with_the_key(stack):
    project = stack.resources["BuildProject"]["Properties"]
    assert project["Environment"]["Image"] == "aws/codebuild/amazonlinux-aarch64-standard:3.0"
    assert project["Environment"]["Type"] == "ARM_CONTAINER"
    assert project["Environment"]["PrivilegedMode"] is False
    assert project["EncryptionKey"] == KEY_ARN
    assert project["Source"] == {"Type": "CODEPIPELINE", "BuildSpec": "sample_app/buildspec.yaml"}
    variables = {item["Name"]: item["Value"] for item in project["Environment"]["EnvironmentVariables"]}
    assert variables == {"ARTIFACT_BUCKET": BUCKET, "ARTIFACT_KEY_ARN": KEY_ARN}


@pytest.mark.parametrize(
    ("stage_name", "action_name", "account", "mode", "stack_name", "config"),
    [
        ("DeployStaging", "Deploy", STAGING, "CREATE_UPDATE", f"{APP}-staging", "config/staging.json"),
        ("ApproveProduction", "CreateChangeSet", PRODUCTION, "CHANGE_SET_REPLACE", f"{APP}-production", "config/production.json"),
    ],
)
def test_deploy_actions_run_in_their_account_with_its_roles(stack, stage_name, action_name, account, mode, stack_name, config):
    deploy = action(stack, stage_name, action_name)
    assert deploy["ActionTypeId"]["Provider"] == "CloudFormation"
    assert deploy["RoleArn"] == role_arn(account, "deploy-role")
    configuration = deploy["Configuration"]
    assert configuration["RoleArn"] == role_arn(account, "cfn-execution-role")
    assert configuration["ActionMode"] == mode
    assert configuration["StackName"] == stack_name
    assert configuration["Capabilities"] == "CAPABILITY_IAM,CAPABILITY_AUTO_EXPAND"
    assert configuration["TemplatePath"] == "BuildOutput::packaged.yaml"
    assert configuration["TemplateConfiguration"] == f"BuildOutput::{config}"


def test_production_executes_the_change_set_created_before_approval(stack):
    create = action(stack, "ApproveProduction", "CreateChangeSet")
    approve = action(stack, "ApproveProduction", "Approve")
    execute = action(stack, "DeployProduction", "ExecuteChangeSet")
    assert create["RunOrder"] < approve["RunOrder"]
    # Named per execution: a newer execution entering the stage cannot replace the approved change set.
    assert create["Configuration"]["ChangeSetName"] == f"{APP}-production-#{{codepipeline.PipelineExecutionId}}"
    assert execute["Configuration"] == {
        "ActionMode": "CHANGE_SET_EXECUTE",
        "StackName": create["Configuration"]["StackName"],
        "ChangeSetName": create["Configuration"]["ChangeSetName"],
    }
    assert execute["RoleArn"] == role_arn(PRODUCTION, "deploy-role")
    stage_order = [stage["Name"] for stage in pipeline(stack)["Stages"]]
    assert stage_order.index("ApproveProduction") < stage_order.index("DeployProduction")


def test_staging_and_production_deploy_the_same_build_output(stack):
    build = action(stack, "Build", "BuildAndTest")
    assert build["OutputArtifacts"] == [{"Name": "BuildOutput"}]
    for stage_name, action_name in (("DeployStaging", "Deploy"), ("ApproveProduction", "CreateChangeSet"), ("DeployProduction", "ExecuteChangeSet")):
        assert action(stack, stage_name, action_name)["InputArtifacts"] == [{"Name": "BuildOutput"}]


def test_approval_notifies_and_links_back_to_the_portal(stack):
    approve = action(stack, "ApproveProduction", "Approve")
    assert approve["ActionTypeId"] == {"Category": "Approval", "Owner": "AWS", "Provider": "Manual", "Version": "1"}
    configuration = approve["Configuration"]
    assert configuration["NotificationArn"] == f"arn:aws:sns:{REGION}:{BUILD}:{APP}-approvals"
    # The one setup: application names are unique per build account and region only.
    assert configuration["ExternalEntityLink"] == f"{PORTAL_URL}/approvals/{APP}?account={BUILD}&region={REGION}"
    assert f"{APP}-production-#{{codepipeline.PipelineExecutionId}}" in configuration["CustomData"]
    assert len(configuration["CustomData"]) <= 500  # CodePipeline's limit


def test_approval_topic_is_encrypted_and_only_the_pipeline_publishes(stack):
    assert stack.resources["ApprovalTopic"]["Properties"]["KmsMasterKeyId"] == "alias/aws/sns"
    document = stack.resources["ApprovalTopicPolicy"]["Properties"]["PolicyDocument"]
    allows = [item for item in statements(document) if item["Effect"] == "Allow"]
    assert allows == [{
        "Sid": "AllowPipelineToPublish", "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{BUILD}:role/{APP}-pipeline-role"},
        "Action": "sns:Publish", "Resource": f"arn:aws:sns:{REGION}:{BUILD}:{APP}-approvals",
    }]


@pytest.mark.parametrize(("email", "subscribed"), [("", False), ("approver@example.com", True)])
def test_email_subscription_only_when_an_address_is_given(render_pipeline, email, subscribed):
    resources = render_pipeline(**pipeline_parameters(ApprovalEmail=email)).resources
    assert ("ApprovalEmailSubscription" in resources) is subscribed
    if subscribed:
        assert resources["ApprovalEmailSubscription"]["Properties"]["Endpoint"] == email


def test_codecommit_pushes_on_the_branch_start_the_pipeline_through_eventbridge(render_pipeline):
    stack = render_pipeline(**pipeline_parameters(BranchName="release"))
    source = action(stack, "Source", "Source")
    assert source["ActionTypeId"]["Provider"] == "CodeCommit"
    assert source["Configuration"]["PollForSourceChanges"] == "false"
    assert source["Configuration"]["BranchName"] == "release"
    assert "Triggers" not in pipeline(stack)
    rule = stack.resources["SourceEventRule"]["Properties"]
    assert rule["EventPattern"]["source"] == ["aws.codecommit"]
    assert rule["EventPattern"]["resources"] == [f"arn:aws:codecommit:{REGION}:{BUILD}:{APP}"]
    assert rule["EventPattern"]["detail"]["referenceType"] == ["branch"]
    assert rule["EventPattern"]["detail"]["referenceName"] == ["release"]
    (target,) = rule["Targets"]
    pipeline_arn = f"arn:aws:codepipeline:{REGION}:{BUILD}:{APP}-pipeline"
    assert target["Arn"] == pipeline_arn
    assert target["RoleArn"] == f"arn:aws:iam::{BUILD}:role/{APP}-pipeline-SourceEventRole-GENERATED"
    granted = [
        (item["Action"], item["Resource"])
        for policy in stack.resources["SourceEventRole"]["Properties"]["Policies"]
        for item in statements(policy["PolicyDocument"])
    ]
    assert granted == [("codepipeline:StartPipelineExecution", pipeline_arn)]


def test_github_source_uses_the_connection_and_a_branch_trigger(render_pipeline):
    stack = render_pipeline(**pipeline_parameters(**GITHUB, BranchName="release"))
    source = action(stack, "Source", "Source")
    assert source["ActionTypeId"]["Provider"] == "CodeStarSourceConnection"
    assert source["Configuration"]["ConnectionArn"] == GITHUB["ConnectionArn"]
    assert source["Configuration"]["FullRepositoryId"] == GITHUB["FullRepositoryId"]
    assert pipeline(stack)["Triggers"] == [{
        "ProviderType": "CodeStarSourceConnection",
        "GitConfiguration": {"SourceActionName": "Source", "Push": [{"Branches": {"Includes": ["release"]}}]},
    }]
    assert not {"Repository", "SourceEventRule", "SourceEventRole"} & set(stack.resources)
    use = role_policy(stack, "PipelineRole")["UseGitHubConnection"]
    assert use["Resource"] == GITHUB["ConnectionArn"]
    assert "ReadCodeCommitSource" not in role_policy(stack, "PipelineRole")


def test_pipeline_role_has_the_contract_name_and_assumes_only_deploy_roles(stack):
    assert stack.resources["PipelineRole"]["Properties"]["RoleName"] == f"{APP}-pipeline-role"
    policy = role_policy(stack, "PipelineRole")
    assumes = [item for item in policy.values() if "sts:AssumeRole" in as_list(item["Action"])]
    assert assumes == [policy["AssumeDeployRoles"]]
    assert policy["AssumeDeployRoles"]["Resource"] == [role_arn(STAGING, "deploy-role"), role_arn(PRODUCTION, "deploy-role")]
    assert policy["RunBuilds"]["Resource"] == f"arn:aws:codebuild:{REGION}:{BUILD}:project/{APP}-build"
    assert policy["PublishApprovalRequests"]["Resource"] == f"arn:aws:sns:{REGION}:{BUILD}:{APP}-approvals"


def test_build_role_is_scoped_to_its_logs_bucket_and_key(stack):
    policy = role_policy(stack, "BuildRole")
    log_group = f"arn:aws:logs:{REGION}:{BUILD}:log-group:/aws/codebuild/{APP}-build"
    assert policy["WriteBuildLogs"]["Resource"] == [log_group, f"{log_group}:log-stream:*"]
    assert policy["ReadAndWriteArtifacts"]["Resource"] == f"arn:aws:s3:::{BUCKET}/*"
    assert policy["UseArtifactKey"]["Resource"] == KEY_ARN


def test_codecommit_outputs(stack):
    outputs = stack.outputs
    assert set(outputs) == {
        "RepositoryName", "RepositoryCloneUrlHttp", "RepositoryCloneUrlSsh", "PipelineName",
        "PipelineConsoleUrl", "ArtifactBucketName", "ArtifactKeyArn", "ApprovalTopicArn",
        "EventBusArn", "EventQueueUrl", "EventQueueArn",
    }
    assert outputs["RepositoryName"] == APP
    assert outputs["PipelineName"] == f"{APP}-pipeline"
    assert outputs["ArtifactBucketName"] == BUCKET
    assert f"/pipelines/{APP}-pipeline/" in outputs["PipelineConsoleUrl"]


def test_github_outputs_have_no_ssh_url(render_pipeline):
    outputs = render_pipeline(**pipeline_parameters(**GITHUB)).outputs
    assert "RepositoryCloneUrlSsh" not in outputs
    assert outputs["RepositoryName"] == "acme/orders-api"
    assert outputs["RepositoryCloneUrlHttp"] == "https://github.com/acme/orders-api.git"
