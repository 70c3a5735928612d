"""The other action modes and settings of the CloudFormation deploy action, on the build pipeline's
staging stage: a stack that failed to create is not updated by CREATE_UPDATE but replaced by
REPLACE_ON_FAILURE; DELETE_ONLY deletes the stack, and succeeds when there is none; parameter
overrides read from the build output; a template configuration that is not JSON."""
from __future__ import annotations

import json

from tests.emulator.deploy_action_helpers import (
    APP,
    FILES,
    PIPELINE,
    action_state,
    approval_token,
    deploy_templates,
    failure_message,
    latest_execution_id,
    push,
    wait_until_ended,
)
from tests.emulator.helpers import BUILD_ACCOUNT, STAGING_ACCOUNT

GREETING = "/orders-api/staging/greeting"


def set_staging_mode(pipelines, mode):
    declaration = pipelines.get_pipeline(name=PIPELINE)["pipeline"]
    stage = next(s for s in declaration["stages"] if s["name"] == "DeployStaging")
    stage["actions"][0]["configuration"]["ActionMode"] = mode
    pipelines.update_pipeline(pipeline=declaration)


def stack_status(client):
    """The live staging stack's status; None once deleted (DescribeStacks by name sees no deleted stack)."""
    cfn = client("cloudformation", account=STAGING_ACCOUNT)
    try:
        return cfn.describe_stacks(StackName=f"{APP}-staging")["Stacks"][0]["StackStatus"]
    except cfn.exceptions.ClientError as err:
        assert "does not exist" in str(err)
        return None


def fail_the_first_create(client, emulator, tmp_path, pipelines):
    ssm = client("ssm", account=STAGING_ACCOUNT)
    ssm.put_parameter(Name=GREETING, Value="taken", Type="String")
    push(emulator, tmp_path, message="First release")
    assert wait_until_ended(pipelines, latest_execution_id(pipelines)) == "Failed"
    assert stack_status(client) == "ROLLBACK_COMPLETE"
    ssm.delete_parameter(Name=GREETING)  # the cause is gone; the stack stays rolled back


def test_create_update_does_not_touch_a_stack_that_failed_to_create(client, emulator, tmp_path, passthrough_builds):
    deploy_templates(client)
    pipelines = client("codepipeline", account=BUILD_ACCOUNT)
    fail_the_first_create(client, emulator, tmp_path, pipelines)

    push(emulator, tmp_path, message="Second release")
    assert wait_until_ended(pipelines, latest_execution_id(pipelines)) == "Failed"

    message = failure_message(pipelines, "DeployStaging", "Deploy")
    assert message.startswith("Stack:arn:aws:cloudformation:us-east-1:222222222222:stack/orders-api-staging/")
    assert message.endswith(" is in ROLLBACK_COMPLETE state and can not be updated.")


def test_replace_on_failure_deletes_a_failed_stack_and_creates_it_again(client, emulator, tmp_path,
                                                                        passthrough_builds):
    deploy_templates(client)
    pipelines = client("codepipeline", account=BUILD_ACCOUNT)
    fail_the_first_create(client, emulator, tmp_path, pipelines)
    set_staging_mode(pipelines, "REPLACE_ON_FAILURE")

    push(emulator, tmp_path, message="Second release")
    approval_token(pipelines)

    assert action_state(pipelines, "DeployStaging", "Deploy")["status"] == "Succeeded"
    assert stack_status(client) == "CREATE_COMPLETE"
    assert client("ssm", account=STAGING_ACCOUNT).get_parameter(Name=GREETING)["Parameter"]["Value"] == \
        "Hello from the staging file"


def test_delete_only_deletes_the_stack_and_then_has_nothing_to_delete(client, emulator, tmp_path,
                                                                      passthrough_builds):
    deploy_templates(client)
    pipelines = client("codepipeline", account=BUILD_ACCOUNT)
    push(emulator, tmp_path, message="First release")
    approval_token(pipelines)
    assert stack_status(client) == "CREATE_COMPLETE"
    pipelines.stop_pipeline_execution(pipelineName=PIPELINE, pipelineExecutionId=latest_execution_id(pipelines),
                                      abandon=True)
    set_staging_mode(pipelines, "DELETE_ONLY")

    push(emulator, tmp_path, message="Retire staging")
    approval_token(pipelines)
    assert action_state(pipelines, "DeployStaging", "Deploy")["status"] == "Succeeded"
    assert stack_status(client) is None
    pipelines.stop_pipeline_execution(pipelineName=PIPELINE, pipelineExecutionId=latest_execution_id(pipelines),
                                      abandon=True)

    push(emulator, tmp_path, message="Again")
    approval_token(pipelines)
    latest = action_state(pipelines, "DeployStaging", "Deploy")
    assert latest["status"] == "Succeeded"
    assert latest["summary"] == f"Stack {APP}-staging does not exist; nothing to delete."


def set_staging_configuration(pipelines, **changes):
    declaration = pipelines.get_pipeline(name=PIPELINE)["pipeline"]
    stage = next(s for s in declaration["stages"] if s["name"] == "DeployStaging")
    stage["actions"][0]["configuration"].update(changes)
    pipelines.update_pipeline(pipeline=declaration)


def test_a_parameter_override_may_read_a_json_file_of_the_build_output(client, emulator, tmp_path,
                                                                       passthrough_builds):
    deploy_templates(client)
    pipelines = client("codepipeline", account=BUILD_ACCOUNT)
    set_staging_configuration(pipelines, ParameterOverrides=json.dumps(
        {"Greeting": {"Fn::GetParam": ["BuildOutput", "release.json", "greeting"]}}))

    push(emulator, tmp_path, dict(FILES, **{"release.json": json.dumps({"greeting": "Hello from release.json"})}))
    approval_token(pipelines)

    value = client("ssm", account=STAGING_ACCOUNT).get_parameter(Name=GREETING)["Parameter"]["Value"]
    assert value == "Hello from release.json"


def test_a_template_configuration_that_is_not_json_fails_the_action(client, emulator, tmp_path, passthrough_builds):
    deploy_templates(client)
    pipelines = client("codepipeline", account=BUILD_ACCOUNT)

    push(emulator, tmp_path, dict(FILES, **{"config/staging.json": "Stage: staging\n"}))
    assert wait_until_ended(pipelines, latest_execution_id(pipelines)) == "Failed"

    message = failure_message(pipelines, "DeployStaging", "Deploy")
    assert message.startswith("The template configuration file config/staging.json is not valid JSON: ")
    assert action_state(pipelines, "DeployStaging", "Deploy")["errorDetails"]["code"] == "ConfigurationError"
