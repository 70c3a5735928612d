"""Faults in the cross-account wiring fail the deploy action they would fail on AWS, with AWS's message:
the deploy role's trust, the artifact bucket's policy, the artifact key's policy; and a stack that
fails to create fails its action with CloudFormation's reason."""
from __future__ import annotations

import json

from tests.emulator.deploy_action_helpers import (
    APP,
    FILES,
    action_state,
    approval_token,
    deploy_templates,
    failure_message,
    latest_execution_id,
    push,
    wait_until_ended,
)
from tests.emulator.helpers import BUILD_ACCOUNT, PRODUCTION_ACCOUNT, STAGING_ACCOUNT

PIPELINE_ROLE = f"arn:aws:iam::{BUILD_ACCOUNT}:role/{APP}-pipeline-role"
STAGING_DEPLOY_ROLE = f"arn:aws:iam::{STAGING_ACCOUNT}:role/{APP}-deploy-role"
PRODUCTION_DEPLOY_ROLE = f"arn:aws:iam::{PRODUCTION_ACCOUNT}:role/{APP}-deploy-role"


def without(principals, role_arn):
    """A policy statement's aws:PrincipalArn list without ``role_arn``."""
    return [arn for arn in principals if arn != role_arn]


def run_until_failed(client, emulator, tmp_path):
    pipelines = client("codepipeline", account=BUILD_ACCOUNT)
    push(emulator, tmp_path)
    execution_id = latest_execution_id(pipelines)
    assert wait_until_ended(pipelines, execution_id) == "Failed"
    return pipelines


def test_a_deploy_role_whose_trust_does_not_name_the_pipeline_role_fails_the_staging_deploy(
        client, emulator, tmp_path, passthrough_builds):
    deploy_templates(client)
    iam = client("iam", account=STAGING_ACCOUNT)
    trust = json.loads(json.dumps(iam.get_role(RoleName=f"{APP}-deploy-role")["Role"]["AssumeRolePolicyDocument"]))
    trust["Statement"][0]["Condition"]["ArnEquals"]["aws:PrincipalArn"] = \
        f"arn:aws:iam::{BUILD_ACCOUNT}:role/some-other-pipeline-role"
    iam.update_assume_role_policy(RoleName=f"{APP}-deploy-role", PolicyDocument=json.dumps(trust))

    pipelines = run_until_failed(client, emulator, tmp_path)

    assert failure_message(pipelines, "DeployStaging", "Deploy") == (
        f"{PIPELINE_ROLE} is not authorized to perform AssumeRole on role {STAGING_DEPLOY_ROLE}")
    assert action_state(pipelines, "DeployStaging", "Deploy")["errorDetails"]["code"] == "PermissionError"
    cfn = client("cloudformation", account=STAGING_ACCOUNT)
    assert [s["StackName"] for s in cfn.list_stacks()["StackSummaries"]] == [f"{APP}-deploy-dependencies"]


def test_a_bucket_policy_that_omits_the_production_deploy_role_fails_the_production_change_set(
        client, emulator, tmp_path, passthrough_builds):
    setup = deploy_templates(client)
    s3 = client("s3", account=BUILD_ACCOUNT)
    bucket = setup["pipeline"]["ArtifactBucketName"]
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    grant = next(s for s in policy["Statement"] if s["Sid"] == "AllowDeployRolesToReadArtifacts")
    condition = grant["Condition"]["ArnEquals"]
    condition["aws:PrincipalArn"] = without(condition["aws:PrincipalArn"], PRODUCTION_DEPLOY_ROLE)
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))

    pipelines = run_until_failed(client, emulator, tmp_path)

    assert action_state(pipelines, "DeployStaging", "Deploy")["status"] == "Succeeded"  # staging still may read
    message = failure_message(pipelines, "ApproveProduction", "CreateChangeSet")
    assert message.startswith("Insufficient permissions The provided role does not have permissions to perform "
                              "this action. Underlying error: Access Denied (Service: Amazon S3; Status Code: 403; "
                              "Error Code: AccessDenied; Request ID: ")
    assert action_state(pipelines, "ApproveProduction", "Approve") == {}  # never reached
    production = client("cloudformation", account=PRODUCTION_ACCOUNT)
    assert f"{APP}-production" not in [s["StackName"] for s in production.list_stacks()["StackSummaries"]]


def test_a_key_policy_that_does_not_let_the_staging_deploy_role_decrypt_fails_the_staging_deploy(
        client, emulator, tmp_path, passthrough_builds):
    setup = deploy_templates(client)
    kms = client("kms", account=BUILD_ACCOUNT)
    key_arn = setup["pipeline"]["ArtifactKeyArn"]
    policy = json.loads(kms.get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"])
    grant = next(s for s in policy["Statement"] if s["Sid"] == "AllowDeployRolesToDecryptArtifacts")
    condition = grant["Condition"]["ArnEquals"]
    condition["aws:PrincipalArn"] = without(condition["aws:PrincipalArn"], STAGING_DEPLOY_ROLE)
    kms.put_key_policy(KeyId=key_arn, PolicyName="default", Policy=json.dumps(policy))

    pipelines = run_until_failed(client, emulator, tmp_path)

    message = failure_message(pipelines, "DeployStaging", "Deploy")
    assert message.startswith(
        "Insufficient permissions The provided role does not have permissions to perform this action. "
        f"Underlying error: User: arn:aws:sts::{STAGING_ACCOUNT}:assumed-role/{APP}-deploy-role/")
    assert (f" is not authorized to perform: kms:Decrypt on resource: {key_arn} because no resource-based "
            "policy allows the kms:Decrypt action (Service: Amazon S3; Status Code: 403; Error Code: AccessDenied;"
            ) in message


def test_the_key_policy_as_the_template_writes_it_lets_the_deploy_roles_decrypt(client, emulator, tmp_path,
                                                                                passthrough_builds):
    deploy_templates(client)
    pipelines = client("codepipeline", account=BUILD_ACCOUNT)
    push(emulator, tmp_path)
    approval_token(pipelines)  # both deploy roles read the build output: staging deployed, change set made
    assert action_state(pipelines, "ApproveProduction", "CreateChangeSet")["status"] == "Succeeded"


def test_a_stack_that_fails_to_create_fails_the_action_with_cloudformations_reason(
        client, emulator, tmp_path, passthrough_builds):
    deploy_templates(client)
    # The parameter's name is taken in staging already: CloudFormation cannot create it.
    client("ssm", account=STAGING_ACCOUNT).put_parameter(Name="/orders-api/staging/greeting", Value="taken",
                                                        Type="String")

    pipelines = run_until_failed(client, emulator, tmp_path)

    message = failure_message(pipelines, "DeployStaging", "Deploy")
    assert message.startswith(f"Stack {APP}-staging is in ROLLBACK_COMPLETE state. The first resource to fail "
                              "was Setting (AWS::SSM::Parameter), CREATE_FAILED: ")
    stack = client("cloudformation", account=STAGING_ACCOUNT).describe_stacks(StackName=f"{APP}-staging")["Stacks"][0]
    events = client("cloudformation", account=STAGING_ACCOUNT).describe_stack_events(StackName=f"{APP}-staging")
    failed = next(e for e in events["StackEvents"] if e["ResourceStatus"] == "CREATE_FAILED")
    assert message.endswith(failed["ResourceStatusReason"])
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"


def test_a_template_configuration_naming_an_unknown_parameter_fails_with_cloudformations_message(
        client, emulator, tmp_path, passthrough_builds):
    deploy_templates(client, StagingParameterOverrides=json.dumps({"Colour": "blue"}))

    pipelines = run_until_failed(client, emulator, tmp_path)

    assert failure_message(pipelines, "DeployStaging", "Deploy") == \
        "Parameters: [Colour] do not exist in the template"


def test_a_template_path_missing_from_the_build_output_fails_the_action(client, emulator, tmp_path,
                                                                        passthrough_builds):
    deploy_templates(client)
    files = {k: v for k, v in FILES.items() if k != "packaged.yaml"}

    pipelines = client("codepipeline", account=BUILD_ACCOUNT)
    push(emulator, tmp_path, files)
    assert wait_until_ended(pipelines, latest_execution_id(pipelines)) == "Failed"

    assert failure_message(pipelines, "DeployStaging", "Deploy") == \
        "The file packaged.yaml does not exist in the input artifact BuildOutput."
