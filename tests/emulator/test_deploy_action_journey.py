"""The pipeline's CloudFormation actions deploy for real: staging by CREATE_UPDATE, production by a
change set created before the approval and executed after it, each in its own account as its
deploy role, from the build output in the build account's KMS-encrypted bucket."""
from __future__ import annotations

import io
import json
import zipfile

from tests.emulator.deploy_action_helpers import (
    APP,
    FILES,
    PIPELINE,
    action_details,
    action_state,
    approval_token,
    deploy_templates,
    execution_status,
    latest_execution_id,
    push,
    stage_config,
    wait_until_ended,
)
from tests.emulator.helpers import BUILD_ACCOUNT, PRODUCTION_ACCOUNT, STAGING_ACCOUNT, control

STAGING_OVERRIDES = json.dumps({"Greeting": "Hello from the staging overrides"})


def parameters(stack):
    return {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}


def test_staging_is_deployed_then_production_waits_as_a_change_set_and_is_deployed_once_approved(
        client, emulator, tmp_path, passthrough_builds):
    setup = deploy_templates(client, StagingParameterOverrides=STAGING_OVERRIDES)
    control(emulator, "pace", {"seconds": 0.02})  # every stack event and timed action 20 ms apart
    pipelines = client("codepipeline", account=BUILD_ACCOUNT)
    staging = client("cloudformation", account=STAGING_ACCOUNT)
    production = client("cloudformation", account=PRODUCTION_ACCOUNT)

    push(emulator, tmp_path, message="First release")
    execution_id = latest_execution_id(pipelines)
    token = approval_token(pipelines)

    # Staging: the template configuration's parameters and tags, the overrides on top, the
    # execution role as the stack's service role.
    stack = staging.describe_stacks(StackName=f"{APP}-staging")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert parameters(stack) == {"Stage": "staging", "Greeting": "Hello from the staging overrides"}
    assert {t["Key"]: t["Value"] for t in stack["Tags"]} == {"Stage": "staging"}
    assert stack["RoleARN"] == setup["roles"][STAGING_ACCOUNT]["CloudFormationExecutionRoleArn"]
    greeting = client("ssm", account=STAGING_ACCOUNT).get_parameter(Name="/orders-api/staging/greeting")
    assert greeting["Parameter"]["Value"] == "Hello from the staging overrides"
    deploy = action_details(pipelines, execution_id, "Deploy")
    assert deploy["status"] == "Succeeded"
    assert deploy["output"]["outputVariables"] == {"GreetingParameter": "/orders-api/staging/greeting",
                                                   "Greeting": "Hello from the staging overrides"}

    # Production: while the approval waits, the change set of this execution exists, unexecuted.
    change_set_name = f"{APP}-production-{execution_id}"
    change_set = production.describe_change_set(StackName=f"{APP}-production", ChangeSetName=change_set_name)
    assert (change_set["Status"], change_set["ExecutionStatus"]) == ("CREATE_COMPLETE", "AVAILABLE")
    assert parameters(change_set) == {"Stage": "production", "Greeting": "Hello from the production file"}
    assert [c["ResourceChange"]["LogicalResourceId"] for c in change_set["Changes"]] == ["Setting"]
    assert production.describe_stacks(StackName=f"{APP}-production")["Stacks"][0]["StackStatus"] == \
        "REVIEW_IN_PROGRESS"
    assert execution_status(pipelines, execution_id) == "InProgress"

    pipelines.put_approval_result(pipelineName=PIPELINE, stageName="ApproveProduction", actionName="Approve",
                                  result={"summary": "Change set reviewed", "status": "Approved"}, token=token)

    assert wait_until_ended(pipelines, execution_id) == "Succeeded"
    stack = production.describe_stacks(StackName=f"{APP}-production")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert parameters(stack) == {"Stage": "production", "Greeting": "Hello from the production file"}
    assert stack["RoleARN"] == setup["roles"][PRODUCTION_ACCOUNT]["CloudFormationExecutionRoleArn"]
    assert action_state(pipelines, "DeployProduction", "ExecuteChangeSet")["status"] == "Succeeded"
    executed = action_details(pipelines, execution_id, "ExecuteChangeSet")
    assert executed["output"]["outputVariables"]["Greeting"] == "Hello from the production file"


def test_a_second_release_updates_staging_and_replaces_the_production_change_set(
        client, emulator, tmp_path, passthrough_builds):
    deploy_templates(client)
    pipelines = client("codepipeline", account=BUILD_ACCOUNT)
    push(emulator, tmp_path, message="First release")
    first = latest_execution_id(pipelines)
    approval_token(pipelines)
    pipelines.stop_pipeline_execution(pipelineName=PIPELINE, pipelineExecutionId=first, abandon=True,
                                      reason="Superseded by the next release")

    changed = dict(FILES, **{"config/staging.json": stage_config("staging", "Hello again"),
                             "config/production.json": stage_config("production", "Hello again")})
    push(emulator, tmp_path, changed, message="Second release")
    second = latest_execution_id(pipelines)
    assert second != first
    approval_token(pipelines)

    staging = client("cloudformation", account=STAGING_ACCOUNT)
    stack = staging.describe_stacks(StackName=f"{APP}-staging")["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    assert parameters(stack)["Greeting"] == "Hello again"
    production = client("cloudformation", account=PRODUCTION_ACCOUNT)
    change_sets = production.list_change_sets(StackName=f"{APP}-production")["Summaries"]
    names = {c["ChangeSetName"] for c in change_sets}
    assert f"{APP}-production-{second}" in names
    current = production.describe_change_set(StackName=f"{APP}-production",
                                             ChangeSetName=f"{APP}-production-{second}")
    assert parameters(current)["Greeting"] == "Hello again"


def test_an_unchanged_release_leaves_staging_as_it_is_and_succeeds(client, emulator, tmp_path, passthrough_builds):
    deploy_templates(client)
    pipelines = client("codepipeline", account=BUILD_ACCOUNT)
    push(emulator, tmp_path, message="First release")
    first = latest_execution_id(pipelines)
    approval_token(pipelines)
    pipelines.stop_pipeline_execution(pipelineName=PIPELINE, pipelineExecutionId=first, abandon=True)

    push(emulator, tmp_path, dict(FILES, **{"README.md": "Only the documentation changed\n"}), message="Docs")
    second = latest_execution_id(pipelines)
    approval_token(pipelines)

    deploy = action_details(pipelines, second, "Deploy")
    assert deploy["status"] == "Succeeded"
    assert deploy["output"]["executionResult"]["externalExecutionSummary"] == "No updates are to be performed."
    stack = client("cloudformation", account=STAGING_ACCOUNT).describe_stacks(StackName=f"{APP}-staging")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"  # not updated


def test_output_file_name_puts_the_stack_outputs_in_the_output_artifact(client, emulator, tmp_path,
                                                                         passthrough_builds):
    deploy_templates(client)
    pipelines = client("codepipeline", account=BUILD_ACCOUNT)
    declaration = pipelines.get_pipeline(name=PIPELINE)["pipeline"]
    staging_stage = next(s for s in declaration["stages"] if s["name"] == "DeployStaging")
    action = staging_stage["actions"][0]
    action["configuration"]["OutputFileName"] = "staging-outputs.json"
    action["outputArtifacts"] = [{"name": "StagingOutputs"}]
    action["namespace"] = "StagingVariables"
    pipelines.update_pipeline(pipeline=declaration)

    push(emulator, tmp_path)
    execution_id = latest_execution_id(pipelines)
    approval_token(pipelines)

    [artifact] = action_details(pipelines, execution_id, "Deploy")["output"]["outputArtifacts"]
    location = artifact["s3location"]
    body = client("s3", account=BUILD_ACCOUNT).get_object(Bucket=location["bucket"], Key=location["key"])
    written = json.loads(zipfile.ZipFile(io.BytesIO(body["Body"].read())).read("staging-outputs.json"))
    assert written == {"GreetingParameter": "/orders-api/staging/greeting", "Greeting": "Hello from the staging file"}
