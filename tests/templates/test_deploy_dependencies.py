"""deploy-dependencies.yaml: the deploy role and the CloudFormation execution role of a deploy account."""
from __future__ import annotations

import fnmatch

import pytest

from .cfn_yaml import as_list, statements
from .scenario import APP, BUILD, REGION, STAGING

STACK_ARN = f"arn:aws:cloudformation:{REGION}:{STAGING}:stack"
TRANSFORM_ARN = f"arn:aws:cloudformation:{REGION}:aws:transform/Serverless-2016-10-31"


def role_statements(stack, logical_id):
    policies = stack.resources[logical_id]["Properties"]["Policies"]
    return [statement for policy in policies for statement in statements(policy["PolicyDocument"])]


def statement(stack, logical_id, sid):
    (found,) = [item for item in role_statements(stack, logical_id) if item.get("Sid") == sid]
    return found


def test_roles_have_the_contract_names(render_deploy):
    resources = render_deploy().resources
    assert resources["DeployRole"]["Properties"]["RoleName"] == f"{APP}-deploy-role"
    assert resources["CloudFormationExecutionRole"]["Properties"]["RoleName"] == f"{APP}-cfn-execution-role"


def test_outputs_are_the_contract_outputs(render_deploy):
    outputs = render_deploy().outputs
    assert outputs == {
        "DeployRoleArn": f"arn:aws:iam::{STAGING}:role/{APP}-deploy-role",
        "CloudFormationExecutionRoleArn": f"arn:aws:iam::{STAGING}:role/{APP}-cfn-execution-role",
    }


def test_deploy_role_trusts_only_the_pipeline_role_by_principal_arn(render_deploy):
    trust = render_deploy().resources["DeployRole"]["Properties"]["AssumeRolePolicyDocument"]
    (only,) = statements(trust)
    assert only["Effect"] == "Allow"
    assert only["Action"] == "sts:AssumeRole"
    # The pipeline role does not exist yet: trust its account, narrowed to its deterministic ARN.
    assert only["Principal"] == {"AWS": f"arn:aws:iam::{BUILD}:root"}
    assert only["Condition"] == {"ArnEquals": {"aws:PrincipalArn": f"arn:aws:iam::{BUILD}:role/{APP}-pipeline-role"}}


def test_execution_role_is_assumed_by_cloudformation_only(render_deploy):
    trust = render_deploy().resources["CloudFormationExecutionRole"]["Properties"]["AssumeRolePolicyDocument"]
    (only,) = statements(trust)
    assert only["Principal"] == {"Service": "cloudformation.amazonaws.com"}


def test_deploy_role_passes_the_execution_role_only_to_cloudformation(render_deploy):
    stack = render_deploy()
    passes = [item for item in role_statements(stack, "DeployRole") if "iam:PassRole" in as_list(item["Action"])]
    assert passes == [statement(stack, "DeployRole", "PassExecutionRoleToCloudFormation")]
    assert passes[0]["Resource"] == f"arn:aws:iam::{STAGING}:role/{APP}-cfn-execution-role"
    assert passes[0]["Condition"] == {"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}}


def test_deploy_role_drives_only_the_application_stacks(render_deploy):
    stack = render_deploy()
    manage = statement(stack, "DeployRole", "ManageApplicationStacks")
    assert {
        "cloudformation:CreateStack", "cloudformation:UpdateStack", "cloudformation:DescribeStacks",
        "cloudformation:CreateChangeSet", "cloudformation:DescribeChangeSet",
        "cloudformation:ExecuteChangeSet", "cloudformation:DeleteChangeSet",
    } <= set(manage["Action"])
    assert "cloudformation:DeleteStack" not in manage["Action"]
    assert set(manage["Resource"]) == {
        f"{STACK_ARN}/{APP}-staging/*",
        f"{STACK_ARN}/{APP}-production/*",
        f"arn:aws:cloudformation:{REGION}:{STAGING}:changeSet/{APP}-production-*/*",
    }


def test_only_read_only_template_validation_is_unscoped(render_deploy):
    stack = render_deploy()
    for logical_id in ("DeployRole", "CloudFormationExecutionRole"):
        for item in role_statements(stack, logical_id):
            if "*" in as_list(item["Resource"]):
                assert as_list(item["Action"]) == ["cloudformation:ValidateTemplate"], item


def test_both_roles_may_use_the_serverless_transform(render_deploy):
    stack = render_deploy()
    for logical_id, sid in (("DeployRole", "UseServerlessTransform"), ("CloudFormationExecutionRole", "ExpandServerlessTransform")):
        found = statement(stack, logical_id, sid)
        assert found["Action"] == "cloudformation:CreateChangeSet"
        assert found["Resource"] == TRANSFORM_ARN


@pytest.mark.parametrize(
    "arn",
    [
        f"arn:aws:lambda:{REGION}:{STAGING}:function:{APP}-staging-HelloFunction-AbC123",
        f"arn:aws:iam::{STAGING}:role/{APP}-production-HelloFunctionRole-AbC123",
        f"arn:aws:logs:{REGION}:{STAGING}:log-group:/aws/lambda/{APP}-staging-hello",
    ],
)
def test_execution_role_reaches_application_resources(render_deploy, arn):
    patterns = [pattern for item in role_statements(render_deploy(), "CloudFormationExecutionRole") for pattern in as_list(item["Resource"])]
    assert any(fnmatch.fnmatchcase(arn, pattern) for pattern in patterns)


@pytest.mark.parametrize(
    "arn",
    [
        f"arn:aws:lambda:{REGION}:{STAGING}:function:other-app-staging-fn",
        f"arn:aws:iam::{STAGING}:role/{APP}-deploy-role",
        f"arn:aws:iam::{STAGING}:role/{APP}-cfn-execution-role",
        f"arn:aws:iam::{STAGING}:role/OrganizationAccountAccessRole",
        f"arn:aws:logs:{REGION}:{STAGING}:log-group:/aws/lambda/other-app",
    ],
)
def test_execution_role_cannot_touch_other_resources(render_deploy, arn):
    service = arn.split(":")[2]
    patterns = [
        pattern
        for item in role_statements(render_deploy(), "CloudFormationExecutionRole")
        if any(action.startswith(f"{service}:") and action != "logs:DescribeLogGroups" for action in as_list(item["Action"]))
        for pattern in as_list(item["Resource"])
    ]
    assert not any(fnmatch.fnmatchcase(arn, pattern) for pattern in patterns)


def test_execution_role_passes_function_roles_only_to_lambda(render_deploy):
    found = statement(render_deploy(), "CloudFormationExecutionRole", "PassFunctionRolesToLambda")
    assert found["Condition"] == {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}
    assert all(f"role/{APP}-staging-" in arn or f"role/{APP}-production-" in arn for arn in found["Resource"])


def test_execution_role_attaches_only_lambda_managed_policies(render_deploy):
    found = statement(render_deploy(), "CloudFormationExecutionRole", "AttachOnlyLambdaManagedPolicies")
    allowed = found["Condition"]["ArnEquals"]["iam:PolicyARN"]
    assert "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole" in allowed
    assert not any("Administrator" in arn or "FullAccess" in arn for arn in allowed)


def artifact_read(stack):
    policy = stack.resources["ArtifactReadPolicy"]["Properties"]
    return policy["Roles"], {item["Sid"]: item for item in statements(policy["PolicyDocument"])}


def test_both_roles_only_read_the_pipeline_artifacts(render_deploy):
    roles, found = artifact_read(render_deploy())
    assert roles == [f"{APP}-deploy-role", f"{APP}-cfn-execution-role"]
    assert set(found) == {"ReadPipelineArtifacts", "DecryptPipelineArtifacts"}
    assert found["ReadPipelineArtifacts"]["Action"] == ["s3:GetObject", "s3:GetObjectVersion"]
    assert found["ReadPipelineArtifacts"]["Resource"] == f"arn:aws:s3:::{APP}-artifacts-{BUILD}-{REGION}/*"
    assert found["DecryptPipelineArtifacts"]["Action"] == ["kms:Decrypt", "kms:DescribeKey"]


def test_artifact_key_is_identified_by_its_alias(render_deploy):
    _, found = artifact_read(render_deploy())
    decrypt = found["DecryptPipelineArtifacts"]
    # The key ARN is unknown when this stack is created: any key of the build account, if aliased so.
    assert decrypt["Resource"] == f"arn:aws:kms:{REGION}:{BUILD}:key/*"
    assert decrypt["Condition"] == {"ForAnyValue:StringEquals": {"kms:ResourceAliases": f"alias/{APP}-artifacts"}}


def test_build_region_names_the_bucket_and_key_region(render_deploy):
    _, found = artifact_read(render_deploy(BuildRegion="us-east-1"))
    assert found["ReadPipelineArtifacts"]["Resource"] == f"arn:aws:s3:::{APP}-artifacts-{BUILD}-us-east-1/*"
    assert found["DecryptPipelineArtifacts"]["Resource"] == f"arn:aws:kms:us-east-1:{BUILD}:key/*"
