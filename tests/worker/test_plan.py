"""Plan: change sets in every account with the real templates; nothing executed."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from core.models import OperationKind, OperationStatus, Setup
from tests.worker.conftest import (
    BOOTSTRAP_ROLE, BUILD, DEFAULT_ACCOUNT, PRODUCTION, REGION, STAGING, account_client, assume_role_access, by_stack,
)
from worker import tasks, templates
from worker.sessions import AssumeRoleFailed
from worker.stackspec import SetupIncomplete


def test_plan_creates_one_change_set_per_stack_and_executes_nothing(aws_env, make_setup, run_plan):
    setup_id = make_setup(name="orders-api")

    plan = run_plan(setup_id)

    assert plan.status == OperationStatus.SUCCEEDED.value, plan.error
    stacks = by_stack(plan)
    assert set(stacks) == {f"{STAGING}/orders-api-deploy-dependencies", f"{PRODUCTION}/orders-api-deploy-dependencies",
                           f"{BUILD}/orders-api-pipeline"}
    for record in stacks.values():
        assert (record.action, record.change_set_type, record.phase) == ("create", "CREATE", "done")
        assert record.change_set_name == f"portal-{setup_id}-{plan.id}"
        assert record.changes and all(c["action"] == "Add" for c in record.changes)
        cfn = account_client("cloudformation", record.account_id)
        assert cfn.describe_stacks(StackName=record.stack_name)["Stacks"][0]["StackStatus"] == "REVIEW_IN_PROGRESS"
    deploy = stacks[f"{STAGING}/orders-api-deploy-dependencies"]
    assert {c["logical_id"] for c in deploy.changes} >= {"DeployRole", "CloudFormationExecutionRole"}
    assert deploy.parameters == {"ApplicationName": "orders-api", "BuildAccountId": BUILD, "BuildRegion": REGION}
    build = stacks[f"{BUILD}/orders-api-pipeline"]
    assert build.parameters["StagingDeployRoleArn"] == f"arn:aws:iam::{STAGING}:role/orders-api-deploy-role"
    assert build.parameters["ProductionExecutionRoleArn"] == f"arn:aws:iam::{PRODUCTION}:role/orders-api-cfn-execution-role"
    assert {c["type"] for c in build.changes} >= {"AWS::CodePipeline::Pipeline", "AWS::S3::Bucket"}
    assert plan.detail["templates"] == templates.fingerprints()


def test_plan_carries_setup_and_portal_tags(aws_env, make_setup, run_plan):
    plan = run_plan(make_setup(name="orders-api", tags={"team": "payments", "cost-center": "42"}))

    record = by_stack(plan)[f"{BUILD}/orders-api-pipeline"]
    cfn = account_client("cloudformation", BUILD)
    tags = {t["Key"]: t["Value"] for t in cfn.describe_change_set(
        StackName=record.stack_name, ChangeSetName=record.change_set_name).get("Tags", [])}
    assert tags["team"] == "payments" and tags["cost-center"] == "42"
    assert tags["portal:managed-by"] == "lambda-pipeline-portal" and tags["portal:setup-id"] == str(plan.setup_id)


def test_shared_staging_and_production_account_gets_one_deploy_stack(aws_env, make_setup, run_plan):
    plan = run_plan(make_setup(name="orders-api", production_account_id=STAGING,
                               access=assume_role_access(BUILD, STAGING)))

    assert plan.status == OperationStatus.SUCCEEDED.value, plan.error
    assert sorted(by_stack(plan)) == [f"{BUILD}/orders-api-pipeline", f"{STAGING}/orders-api-deploy-dependencies"]


def test_redelivered_plan_task_reuses_its_change_sets(aws_env, make_setup, make_operation, driver):
    setup_id = make_setup(name="orders-api")
    plan_id = make_operation(setup_id, OperationKind.PLAN)

    tasks.plan_setup(plan_id)
    tasks.plan_setup(plan_id)  # as after a worker died before acknowledging
    plan = driver.run(plan_id)

    assert plan.status == OperationStatus.SUCCEEDED.value, plan.error
    for record in plan.stacks:
        summaries = account_client("cloudformation", record.account_id).list_change_sets(
            StackName=record.stack_name)["Summaries"]
        assert [s["ChangeSetId"] for s in summaries] == [record.change_set_id]


def test_finished_plan_task_run_again_does_nothing(aws_env, make_setup, run_plan, driver):
    plan = run_plan(make_setup(name="orders-api"))

    tasks.plan_setup(plan.id)

    assert driver.queue == []
    assert driver.operation(plan.id).status == OperationStatus.SUCCEEDED.value


def test_incomplete_setup_fails_the_plan_with_the_reason(aws_env, make_setup, make_operation, driver):
    setup_id = make_setup(region=None)
    plan_id = make_operation(setup_id, OperationKind.PLAN)

    with pytest.raises(SetupIncomplete, match="missing region"):
        tasks.plan_setup(plan_id)

    plan = driver.operation(plan_id)
    assert plan.status == OperationStatus.FAILED.value and "missing region" in plan.error


def test_draft_setup_is_not_planned(aws_env, make_setup, make_operation, driver):
    plan_id = make_operation(make_setup(status="draft"), OperationKind.PLAN)

    with pytest.raises(SetupIncomplete, match="finish the wizard"):
        tasks.plan_setup(plan_id)

    assert driver.operation(plan_id).status == OperationStatus.FAILED.value


def test_unreachable_account_fails_the_plan_with_the_reason(aws_env, make_setup, make_operation, driver):
    access = assume_role_access(BUILD, STAGING, PRODUCTION)
    access[PRODUCTION]["role_name"] = "MissingRole"
    plan_id = make_operation(make_setup(access=access), OperationKind.PLAN)

    with pytest.raises(AssumeRoleFailed, match="MissingRole"):
        tasks.plan_setup(plan_id)

    assert "cannot assume arn:aws:iam::333333333333:role/MissingRole" in driver.operation(plan_id).error


def test_self_launched_account_gets_quick_create_link_and_cli_command(aws_env, make_setup, run_plan, monkeypatch):
    monkeypatch.setenv("PORTAL_TEMPLATE_BASE_URL", "https://lpp-public.s3.us-east-1.amazonaws.com/v1")
    access = assume_role_access(BUILD, STAGING, PRODUCTION)
    access[PRODUCTION] = {"method": "self_launch", "role_name": BOOTSTRAP_ROLE}

    plan = run_plan(make_setup(name="orders-api", access=access))

    record = by_stack(plan)[f"{PRODUCTION}/orders-api-deploy-dependencies"]
    assert plan.status == OperationStatus.SUCCEEDED.value, plan.error
    assert record.action == "self_launch" and record.change_set_id == ""
    assert record.detail["quick_create_url"] == (
        "https://us-east-1.console.aws.amazon.com/cloudformation/home?region=us-east-1#/stacks/quickcreate?"
        "templateURL=https%3A%2F%2Flpp-public.s3.us-east-1.amazonaws.com%2Fv1%2Fdeploy-dependencies.yaml"
        "&stackName=orders-api-deploy-dependencies&param_ApplicationName=orders-api"
        f"&param_BuildAccountId={BUILD}&param_BuildRegion=us-east-1"
        # The observer role the stack creates trusts the worker's own identity (moto's default user).
        f"&param_PortalPrincipalArn=arn%3Aaws%3Aiam%3A%3A{DEFAULT_ACCOUNT}%3Auser%2Fmoto")
    command = record.detail["cli_command"]
    assert f"PortalPrincipalArn=arn:aws:iam::{DEFAULT_ACCOUNT}:user/moto" in command
    assert command.startswith("aws cloudformation deploy --region us-east-1 --stack-name orders-api-deploy-dependencies")
    assert f"BuildAccountId={BUILD}" in command and "CAPABILITY_NAMED_IAM" in command
    assert "portal:setup-id=" in command
    # The worker changed nothing in that account.
    cfn = account_client("cloudformation", PRODUCTION)
    assert cfn.list_stacks()["StackSummaries"] == []


def test_plan_of_a_setup_whose_stack_is_busy_fails_clearly(aws_env, make_setup, run_plan, emulator):
    from tests.worker.conftest import control

    setup_id = make_setup(name="orders-api")
    control(emulator, "pace", {"seconds": 2})
    cfn = account_client("cloudformation", STAGING)
    template = templates.load(templates.DEPLOY_TEMPLATE)
    cfn.create_stack(StackName="orders-api-deploy-dependencies", TemplateBody=template.body,
                     Parameters=[{"ParameterKey": "ApplicationName", "ParameterValue": "orders-api"},
                                 {"ParameterKey": "BuildAccountId", "ParameterValue": BUILD}],
                     Capabilities=["CAPABILITY_NAMED_IAM"])

    plan = run_plan(setup_id)

    assert plan.status == OperationStatus.FAILED.value
    assert "CREATE_IN_PROGRESS" in plan.error and "try again when it ends" in plan.error


STAGE_PARAMETERS = {
    "staging": {"LogLevel": "DEBUG", "Greeting": 'Say "hi"', "MemorySize": 256, "LogRetentionInDays": 14},
    "production": {"LogLevel": "INFO", "Greeting": "Hello", "MemorySize": 1024, "LogRetentionInDays": 365},
}


def test_plan_passes_each_stages_parameters_to_the_pipeline(aws_env, make_setup, run_plan):
    plan = run_plan(make_setup(name="orders-api", stage_parameters=STAGE_PARAMETERS))

    assert plan.status == OperationStatus.SUCCEEDED.value, plan.error
    record = by_stack(plan)[f"{BUILD}/orders-api-pipeline"]
    assert record.parameters["StagingParameterOverrides"] == (
        '{"Greeting":"Say \\"hi\\"","LogLevel":"DEBUG","LogRetentionInDays":"14","MemorySize":"256"}')
    assert json.loads(record.parameters["ProductionParameterOverrides"]) == {
        "Greeting": "Hello", "LogLevel": "INFO", "LogRetentionInDays": "365", "MemorySize": "1024"}
    # The change set CloudFormation holds carries the same text.
    change_set = account_client("cloudformation", BUILD).describe_change_set(
        StackName=record.stack_name, ChangeSetName=record.change_set_name)
    passed = {p["ParameterKey"]: p["ParameterValue"] for p in change_set["Parameters"]}
    assert passed["StagingParameterOverrides"] == record.parameters["StagingParameterOverrides"]
    assert passed["ProductionParameterOverrides"] == record.parameters["ProductionParameterOverrides"]


def test_setup_without_stage_parameters_keeps_the_configuration_files_values(aws_env, make_setup, run_plan):
    plan = run_plan(make_setup(name="orders-api"))

    record = by_stack(plan)[f"{BUILD}/orders-api-pipeline"]
    assert plan.status == OperationStatus.SUCCEEDED.value, plan.error
    assert (record.parameters["StagingParameterOverrides"], record.parameters["ProductionParameterOverrides"]) == (
        "{}", "{}")


def test_changed_stage_parameter_replans_as_an_update_of_only_the_pipeline(
        aws_env, make_setup, run_plan, run_apply, worker_db):
    setup_id = make_setup(name="orders-api", stage_parameters=STAGE_PARAMETERS)
    first = run_plan(setup_id)
    assert run_apply(setup_id, first.id).status == OperationStatus.SUCCEEDED.value
    with worker_db() as session:
        setup = session.scalars(select(Setup).where(Setup.id == setup_id)).one()
        setup.stage_parameters = {**STAGE_PARAMETERS,
                                  "production": {**STAGE_PARAMETERS["production"], "MemorySize": 2048}}
        session.commit()

    plan = run_plan(setup_id)

    assert plan.status == OperationStatus.SUCCEEDED.value, plan.error
    stacks = by_stack(plan)
    assert {stacks[f"{account}/orders-api-deploy-dependencies"].action for account in (STAGING, PRODUCTION)} == {
        "unchanged"}
    build = stacks[f"{BUILD}/orders-api-pipeline"]
    assert (build.action, build.change_set_type) == ("update", "UPDATE")
    assert [(c["action"], c["logical_id"]) for c in build.changes] == [("Modify", "Pipeline")]
    assert json.loads(build.parameters["ProductionParameterOverrides"])["MemorySize"] == "2048"
    assert build.parameters["StagingParameterOverrides"] == by_stack(first)[
        f"{BUILD}/orders-api-pipeline"].parameters["StagingParameterOverrides"]

    applied = run_apply(setup_id, plan.id)

    assert applied.status == OperationStatus.SUCCEEDED.value, applied.error
    stages = account_client("codepipeline", BUILD).get_pipeline(name="orders-api-pipeline")["pipeline"]["stages"]
    configuration = {(stage["name"], action["name"]): action["configuration"]
                     for stage in stages for action in stage["actions"]}
    assert json.loads(configuration[("ApproveProduction", "CreateChangeSet")]["ParameterOverrides"])["MemorySize"] == (
        "2048")
    assert configuration[("DeployStaging", "Deploy")]["ParameterOverrides"] == build.parameters[
        "StagingParameterOverrides"]


def test_plan_records_how_each_account_was_reached_and_nothing_else(aws_env, make_setup, run_plan):
    reach = {
        BUILD: {"method": "assume_role", "role_name": BOOTSTRAP_ROLE, "external_id": "portal-7"},
        STAGING: {"method": "self_launch", "role_name": BOOTSTRAP_ROLE},
        # Whatever else an entry might carry is not the plan's to copy.
        PRODUCTION: {"method": "assume_role", "role_name": BOOTSTRAP_ROLE, "aws_secret_access_key": "never"},
    }
    trust = account_client("iam", BUILD).get_role(RoleName=BOOTSTRAP_ROLE)["Role"]["AssumeRolePolicyDocument"]
    statement = {**trust["Statement"][0], "Condition": {"StringEquals": {"sts:ExternalId": "portal-7"}}}
    account_client("iam", BUILD).update_assume_role_policy(
        RoleName=BOOTSTRAP_ROLE, PolicyDocument=json.dumps({**trust, "Statement": [statement]}))

    plan = run_plan(make_setup(name="orders-api", access=reach))

    assert plan.status == OperationStatus.SUCCEEDED.value, plan.error
    stacks = by_stack(plan)
    assert stacks[f"{BUILD}/orders-api-pipeline"].detail["access"] == reach[BUILD]
    assert stacks[f"{STAGING}/orders-api-deploy-dependencies"].detail["access"] == reach[STAGING]
    assert stacks[f"{PRODUCTION}/orders-api-deploy-dependencies"].detail["access"] == {
        "method": "assume_role", "role_name": BOOTSTRAP_ROLE}
