"""The approve-to-production button in Chromium: an approver follows the pipeline's approval link, sees what
production will change, approves, and watches the execution finish.

Everything is real: the emulator over HTTP, a ``celery -A worker.celery_app worker`` subprocess (its timer reads
the pipeline, it reads the review and sends PutApprovalResult), the portal on a real HTTP server, one SQLite file.
Until the pipeline's CloudFormation actions do real work in the emulator, the test deploys the staging stack and
creates the production change set ``APP-production-<execution id>`` itself, as DeployStaging and CreateChangeSet
will; the worker reads them the same whoever made them.
"""
from __future__ import annotations

import json
import re

import boto3
import pytest
from playwright.sync_api import Page, expect

from core import approvals
from core.db import make_engine, make_session_factory
from emulator.client import control
from portal import accounts
from tests.accounts import BUILD, PRODUCTION, STAGING, join_default_team
from tests.portal.helpers import PASSWORD
from tests.system.wizard import start_setup
from tests.waiting import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BROKER = "redis://127.0.0.1:6379/12"  # this module's own database on the local Redis
SHOTS = "/tmp/shots/approval-{}-{}.png"
SLOW = 120_000  # an apply of three stacks on a busy 2-core machine
APP = "appr-api"
PRODUCTION_BEFORE = {"Resources": {
    "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 7}},
    "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": f"{APP}-data-one"}},
    "Topic": {"Type": "AWS::SNS::Topic", "Properties": {}}}}
PRODUCTION_AFTER = {"Resources": {
    "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 30}},
    "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": f"{APP}-data-two"}},
    "Alerts": {"Type": "AWS::SNS::Topic", "Properties": {}}}}
STAGING_TEMPLATE = {"Resources": {"Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {}}},
                    "Outputs": {"ApiUrl": {"Value": "https://staging.example.com/orders", "Description": "Endpoint"}}}


@pytest.fixture(scope="module", autouse=True)
def _timed_actions(emulator: str) -> None:
    """The actions as timed stand-ins: nothing is built to deploy here, so the test makes the staging stack and
    the production change set itself (the real actions' work is tests/emulator/test_deploy_action_journey.py)."""
    control(emulator, "actions", {"simulate": True})


def client(emulator: str, service: str, account: str):
    """A client acting in a demo account as its admin (the bootstrap role)."""
    base = dict(endpoint_url=emulator, region_name="us-east-1", aws_access_key_id="testing",
                aws_secret_access_key="testing")
    creds = boto3.client("sts", **base).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole", RoleSessionName="test-admin")["Credentials"]
    return boto3.client(service, **{**base, "aws_access_key_id": creds["AccessKeyId"],
                                    "aws_secret_access_key": creds["SecretAccessKey"],
                                    "aws_session_token": creds["SessionToken"]})


def waiting_execution(emulator: str) -> str | None:
    state = client(emulator, "codepipeline", BUILD).get_pipeline_state(name=f"{APP}-pipeline")
    stage = next(s for s in state["stageStates"] if s["stageName"] == "ApproveProduction")
    action = next(a for a in stage["actionStates"] if a["actionName"] == "Approve")
    if (action.get("latestExecution") or {}).get("status") == "InProgress":
        return stage["latestExecution"]["pipelineExecutionId"]
    return None


def stack_ready(cfn, name: str) -> bool:
    return cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"].endswith("_COMPLETE")


def deploy_staging_and_change_set(emulator: str, execution_id: str) -> None:
    staging = client(emulator, "cloudformation", STAGING)
    staging.create_stack(StackName=approvals.staging_stack_name(APP), TemplateBody=json.dumps(STAGING_TEMPLATE))
    production = client(emulator, "cloudformation", PRODUCTION)
    stack = approvals.production_stack_name(APP)
    production.create_stack(StackName=stack, TemplateBody=json.dumps(PRODUCTION_BEFORE))
    wait_for(lambda: stack_ready(staging, approvals.staging_stack_name(APP)) and stack_ready(production, stack), 30,
             "the staging and production stacks")
    name = approvals.production_change_set_name(APP, execution_id)
    production.create_change_set(StackName=stack, ChangeSetName=name, TemplateBody=json.dumps(PRODUCTION_AFTER),
                                 ChangeSetType="UPDATE")
    wait_for(lambda: production.describe_change_set(StackName=stack, ChangeSetName=name)["Status"] == "CREATE_COMPLETE",
             30, "the production change set")


def add_approver(database: str, name: str) -> None:
    engine = make_engine(database)
    with make_session_factory(engine)() as session:
        join_default_team(session, accounts.create_user(session, name, PASSWORD, "approver").id, "approver")
        session.commit()
    engine.dispose()


def deploy(page: Page, name: str) -> None:
    start_setup(page, name)
    page.click("button:has-text('Next')")
    page.click("button:has-text('Request the plan')")
    expect(page.locator("#plan-status")).to_have_text("succeeded", timeout=SLOW)
    page.click("button:has-text('Apply this plan')")
    expect(page.locator("#operation-status")).to_have_text("succeeded", timeout=SLOW)


def sign_in(page: Page, name: str) -> None:
    page.click("button:has-text('Sign out')")
    page.fill("#username", name)
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")


def shoot(page: Page, step: str) -> None:
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=SHOTS.format(step, width), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_an_approver_reviews_the_production_changes_and_approves(page: Page, emulator: str, database: str):
    deploy(page, APP)
    page.click(f"text=← {APP}")
    page.click("#setup-pipeline-link")
    expect(page.locator("#pipeline-stages [data-stage]")).to_have_count(5, timeout=SLOW)
    control(emulator, "push", {"repository": APP, "account_id": BUILD, "message": "Add the orders endpoint"})
    expect(page.locator("#pipeline-waiting")).to_contain_text("Approval pending for", timeout=SLOW)
    execution_id = waiting_execution(emulator)
    assert execution_id
    deploy_staging_and_change_set(emulator, execution_id)

    add_approver(database, "avery")
    sign_in(page, "avery")
    page.goto(f"/approvals/{APP}")  # the pipeline's approval action links here (ExternalEntityLink)
    expect(page).to_have_url(re.compile(r"/pipelines/\d+/approval$"))
    expect(page.locator("h1")).to_have_text(f"Production approval: {APP}")
    expect(page.locator("#approval-waiting")).to_contain_text(execution_id)
    expect(page.locator("#approval-waiting")).to_contain_text("Add the orders endpoint")
    # The worker reads the review once the page asks; the page reloads itself when it is stored.
    expect(page.locator("#change-counts")).to_have_text("1 to add · 2 to modify (1 replaced) · 1 to remove",
                                                        timeout=SLOW)
    rows = page.locator("#change-rows tbody tr")
    expect(rows).to_have_count(4)
    expect(page.locator('[data-logical-id="Bucket"]')).to_contain_text("Replaced")
    expect(page.locator("#staging-outputs")).to_contain_text("https://staging.example.com/orders")
    # The template's CustomData names the change set through #{codepipeline.PipelineExecutionId}: shown resolved.
    expect(page.locator("#approval-custom-data")).to_contain_text(f"{APP}-production-{execution_id}")
    assert page.problems == []
    shoot(page, "1-review")

    page.on("dialog", lambda dialog: dialog.accept())
    page.fill("#comment", "Staging answers; the bucket rename is expected")
    page.click("button:has-text('Approve')")
    expect(page.locator(".flash-success")).to_contain_text("Approval recorded")
    expect(page.locator("#decision-status")).to_have_text("sent", timeout=SLOW)
    expect(page.locator("#decision-message")).to_contain_text("Approved: AWS took the result")
    # The execution moves on: production deploys and the execution succeeds, shown without a manual reload.
    expect(page.locator("#latest-status")).to_have_text("Succeeded", timeout=SLOW)
    expect(page.locator('#approval-stages [data-stage="DeployProduction"]')).to_contain_text("Succeeded")
    expect(page.locator("#production-deployed")).to_contain_text("Production is deployed")
    expect(page.locator("#decision-message")).to_contain_text("Approved: AWS took the result")
    assert page.problems == []
    shoot(page, "2-approved")
