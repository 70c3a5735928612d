"""The approval's worker side against the emulator over HTTP: the review read, and decisions sent exactly once.

The execution waits at the contract pipeline's manual approval (the emulator's CodePipeline gives it a
token). Until the pipeline's CloudFormation actions do real work in the emulator, the test creates the
production change set ``APP-production-<execution id>`` itself, in the production account, as the
CreateChangeSet action will (as that account's admin: no deploy role exists without an apply); the
worker reads it the same whoever created it. PutApprovalResult calls are counted by /_emulator/stats.
"""
from __future__ import annotations

import json
import threading
from typing import Any

import pytest
import redis
from sqlalchemy import select

from core import approvals as rules
from core.models import ApprovalDecision, ApprovalReview, AuditEntry, PipelineSnapshot, Setup
from emulator.client import control
from portal import accounts, create_app
from portal import db as portal_db
from portal.db import get_session
from tests.accounts import join_default_team
from tests.portal.helpers import PASSWORD, AuthActions, csrf_token, portal_config
from tests.waiting import wait_for
from tests.worker.conftest import BUILD, PRODUCTION, STAGING, account_client
from tests.worker import test_pipeline_dashboard as dashboard
from tests.worker.test_pipeline_dashboard import codepipeline_calls, push, read_now
from worker import approval_review, approvals

# The two-browser test queues decisions here: not the portal tests' database 9, which runs meanwhile.
OWN_BROKER = "redis://127.0.0.1:6379/5"

# Timed stand-ins for the actions: these tests are about the approval, and a real deploy fails without a build.
pytestmark = [pytest.mark.both_databases, pytest.mark.usefixtures("timed_actions")]

BEFORE = {"Resources": {
    "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 7}},
    "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "{app}-data-one"}},
    "Topic": {"Type": "AWS::SNS::Topic", "Properties": {}}}}
AFTER = {"Resources": {
    "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 30}},
    "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "{app}-data-two"}},
    "Alerts": {"Type": "AWS::SNS::Topic", "Properties": {}}}}
STAGING_TEMPLATE = {"Resources": {"Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {}}},
                    "Outputs": {"ApiUrl": {"Value": "https://staging.example.com/", "Description": "The endpoint"}}}


def template(body: dict[str, Any], app: str) -> str:
    return json.dumps(body).replace("{app}", app)


def create_production_change_set(app: str, execution_id: str) -> None:
    """The production stack as deployed before, and the change set CreateChangeSet makes for ``execution_id``."""
    cfn = account_client("cloudformation", PRODUCTION)
    stack = rules.production_stack_name(app)
    cfn.create_stack(StackName=stack, TemplateBody=template(BEFORE, app))
    wait_for(lambda: cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE", 20,
             "the production stack")
    name = rules.production_change_set_name(app, execution_id)
    cfn.create_change_set(StackName=stack, ChangeSetName=name, TemplateBody=template(AFTER, app),
                          ChangeSetType="UPDATE")
    wait_for(lambda: cfn.describe_change_set(StackName=stack, ChangeSetName=name)["Status"] == "CREATE_COMPLETE", 20,
             "the change set")


def create_staging_stack(app: str) -> None:
    cfn = account_client("cloudformation", STAGING)
    stack = rules.staging_stack_name(app)
    cfn.create_stack(StackName=stack, TemplateBody=json.dumps(STAGING_TEMPLATE))
    wait_for(lambda: cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE", 20,
             "the staging stack")


deployed = dashboard.deployed  # the dashboard's fixture, extended below


@pytest.fixture
def waiting(deployed, database_url):
    """The deployed pipeline with a pushed execution waiting at the approval, as the snapshot shows it."""
    control(deployed["emulator"], "pace", {"seconds": 0.05})
    execution_id = push(deployed, "Add the orders endpoint")
    row = wait_for(lambda: (r := read_now(deployed)).approval and r, 20, "the approval to wait")
    assert row.approval["execution_id"] == execution_id
    return {**deployed, "execution_id": execution_id, "database_url": database_url}


def review(env: dict[str, Any]) -> ApprovalReview:
    with env["factory"]() as session:
        row = session.scalar(select(ApprovalReview).where(ApprovalReview.setup_id == env["setup_id"]))
        if row is None:
            row = ApprovalReview(setup_id=env["setup_id"], execution_id=env["execution_id"])
            session.add(row)
        else:
            row.status = "pending"
        session.commit()
        review_id = row.id
    assert approval_review.read(env["factory"], review_id)
    with env["factory"]() as session:
        return session.get(ApprovalReview, review_id)


def approval_run_id(env: dict[str, Any]) -> str:
    row = read_now(env)
    stage = next(s for s in row.stages if s["name"] == "ApproveProduction")
    return next(a for a in stage["actions"] if a["name"] == "Approve")["action_execution_id"]


def record(env: dict[str, Any], decision: str, user: str = "approver", comment: str = "", **fields: Any) -> int:
    """The decision as the portal records it (portal/approvals/service.py)."""
    with env["factory"]() as session:
        row = ApprovalDecision(setup_id=env["setup_id"], execution_id=env["execution_id"],
                               approval_run_id=fields.pop("run_id", None) or approval_run_id(env),
                               stage="ApproveProduction", action="Approve", decision=decision, decided_by=user,
                               comment=comment, commit_id="c" * 40, **fields)
        session.add(row)
        session.commit()
        return row.id


def decision(env: dict[str, Any], decision_id: int) -> ApprovalDecision:
    with env["factory"]() as session:
        return session.get(ApprovalDecision, decision_id)


def newest(env: dict[str, Any]) -> dict[str, Any]:
    return read_now(env).executions[0]


def approval_state(env: dict[str, Any]) -> dict[str, Any]:
    state = account_client("codepipeline", BUILD).get_pipeline_state(name=env["pipeline"])
    stage = next(s for s in state["stageStates"] if s["stageName"] == "ApproveProduction")
    return next(a for a in stage["actionStates"] if a["actionName"] == "Approve")["latestExecution"]


def test_the_review_lists_every_production_change_staging_and_custom_data(waiting):
    create_staging_stack(waiting["app"])
    create_production_change_set(waiting["app"], waiting["execution_id"])
    row = review(waiting)
    changes = {c["logical_id"]: c for c in row.change_set["changes"]}
    assert row.complete and row.change_set_problem == "" and row.change_set["status"] == "CREATE_COMPLETE"
    assert row.change_set_name == f"{waiting['app']}-production-{waiting['execution_id']}"
    assert {k: (c["action"], c["replacement"]) for k, c in changes.items()} == {
        "Logs": ("Modify", "False"), "Bucket": ("Modify", "True"), "Alerts": ("Add", ""), "Topic": ("Remove", "")}
    assert row.staging["status"] == "CREATE_COMPLETE"
    assert row.staging["outputs"] == [{"key": "ApiUrl", "value": "https://staging.example.com/",
                                       "description": "The endpoint"}]
    assert row.custom_data == "Review the production change set"


def test_a_change_set_not_created_yet_leaves_the_review_incomplete(waiting):
    create_staging_stack(waiting["app"])
    row = review(waiting)
    assert not row.complete and row.change_set == {} and "does not exist (yet)" in row.change_set_problem
    create_production_change_set(waiting["app"], waiting["execution_id"])
    assert review(waiting).complete


def test_a_production_account_the_worker_cannot_read_is_said_not_failed(waiting):
    with waiting["factory"]() as session:
        setup = session.get(Setup, waiting["setup_id"])
        setup.access = {**setup.access, PRODUCTION: {"method": "self_launch"}}
        session.commit()
    create_production_change_set(waiting["app"], waiting["execution_id"])
    row = review(waiting)
    assert row.status == "read" and not row.complete and row.change_set == {}
    assert f"cannot read the production account {PRODUCTION}" in row.change_set_problem


def test_approving_lets_the_execution_finish(waiting):
    decision_id = record(waiting, "approve", comment="Ship it")
    approvals.run(waiting["factory"], decision_id)
    sent = decision(waiting, decision_id)
    assert sent.status == "sent", sent.message
    latest = approval_state(waiting)
    assert latest["status"] == "Succeeded" and latest["summary"] == "Approved in the portal by approver: Ship it"
    assert latest["lastUpdatedBy"].endswith("/portal-approver")  # CloudTrail's view: the session names the user
    done = wait_for(lambda: (e := newest(waiting))["status"] == "Succeeded" and e, 20, "the execution to finish")
    assert done["id"] == waiting["execution_id"]
    with waiting["factory"]() as session:
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "production.approve")).all()
    assert (entry.actor, entry.outcome) == ("approver", "success")
    assert entry.detail["execution_id"] == waiting["execution_id"] and entry.detail["commit_id"] == "c" * 40
    assert entry.detail["comment"] == "Ship it" and entry.detail["aws_answer"]["approvedAt"]


def test_rejecting_fails_the_execution_with_the_comment(waiting):
    decision_id = record(waiting, "reject", user="admin", comment="The endpoint answers 500 on staging")
    approvals.run(waiting["factory"], decision_id)
    assert decision(waiting, decision_id).status == "sent"
    failed = wait_for(lambda: (e := newest(waiting))["status"] == "Failed" and e, 20, "the execution to fail")
    assert "The endpoint answers 500 on staging" in failed["status_summary"]


def test_the_two_person_rule_names_both_approvers_in_the_summary(waiting):
    decision_id = record(waiting, "approve", user="april", comment="Second look", first_approver="approver")
    approvals.run(waiting["factory"], decision_id)
    assert approval_state(waiting)["summary"] == ("Approved in the portal by april (first approval by approver): "
                                                 "Second look")


def test_a_redelivered_decision_is_sent_once(waiting):
    decision_id = record(waiting, "approve")
    threads = [threading.Thread(target=approvals.run, args=(waiting["factory"], decision_id)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    approvals.run(waiting["factory"], decision_id)
    assert codepipeline_calls(waiting).get("PutApprovalResult") == 1
    assert decision(waiting, decision_id).status == "sent"


def test_an_approval_decided_in_the_console_is_not_sent_again(waiting):
    token = approval_state(waiting)["token"]
    account_client("codepipeline", BUILD).put_approval_result(
        pipelineName=waiting["pipeline"], stageName="ApproveProduction", actionName="Approve",
        result={"summary": "Done in the console", "status": "Approved"}, token=token)
    decision_id = record(waiting, "reject", comment="Too late")
    approvals.run(waiting["factory"], decision_id)
    late = decision(waiting, decision_id)
    assert late.status == "completed" and "approved already" in late.message and "Done in the console" in late.message
    assert codepipeline_calls(waiting).get("PutApprovalResult") == 1  # the console's only


def test_a_stopped_execution_is_said_and_nothing_is_sent(waiting):
    account_client("codepipeline", BUILD).stop_pipeline_execution(
        pipelineName=waiting["pipeline"], pipelineExecutionId=waiting["execution_id"], abandon=True, reason="wrong")
    decision_id = record(waiting, "approve")
    approvals.run(waiting["factory"], decision_id)
    gone = decision(waiting, decision_id)
    assert gone.status == "completed" and "stopped" in gone.message
    assert "PutApprovalResult" not in codepipeline_calls(waiting)


def test_a_stale_stored_token_is_never_sent(waiting):
    with waiting["factory"]() as session:
        session.query(PipelineSnapshot).update({"approval_token": "stale-token-from-an-old-read"})
        session.commit()
    decision_id = record(waiting, "approve")
    approvals.run(waiting["factory"], decision_id)
    assert decision(waiting, decision_id).status == "sent"


def test_a_retried_approval_is_a_new_approval(waiting):
    """Rejected, then its stage retried: the new run waits with a new token, and the old decision is no answer."""
    first = record(waiting, "reject", comment="Not yet")
    approvals.run(waiting["factory"], first)
    wait_for(lambda: newest(waiting)["status"] == "Failed", 20, "the rejection")
    account_client("codepipeline", BUILD).retry_stage_execution(
        pipelineName=waiting["pipeline"], stageName="ApproveProduction", pipelineExecutionId=waiting["execution_id"],
        retryMode="FAILED_ACTIONS")
    wait_for(lambda: read_now(waiting).approval, 20, "the approval to wait again")
    second = record(waiting, "approve", comment="Now")
    assert decision(waiting, second).approval_run_id != decision(waiting, first).approval_run_id
    approvals.run(waiting["factory"], second)
    assert decision(waiting, second).status == "sent"


def test_two_approvers_in_two_browsers_at_once_send_one_result(waiting):
    """Two approvers post Approve in the same instant through the real portal: one decision, one PutApprovalResult."""
    app = create_app(portal_config(waiting["database_url"], CELERY_BROKER_URL=OWN_BROKER))
    with app.app_context():
        for name in ("approver", "april"):
            join_default_team(get_session(), accounts.create_user(get_session(), name, PASSWORD, "approver").id,
                              "approver")
        get_session().commit()
    try:
        clients = [app.test_client() for _ in range(2)]
        for client, name in zip(clients, ("approver", "april")):
            AuthActions(client).login(name)
        url = f"/pipelines/{waiting['setup_id']}/approval"
        tokens = [csrf_token(client, url) for client in clients]
        gate = threading.Barrier(len(clients))
        answers: list[int] = []

        def approve(client: Any, token: str) -> None:
            gate.wait()
            answers.append(client.post(url, data={"decision": "approve", "comment": "Go", "csrf_token": token,
                                                  "execution_id": waiting["execution_id"]}).status_code)

        threads = [threading.Thread(target=approve, args=pair) for pair in zip(clients, tokens)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        portal_db.dispose(app)
        redis.Redis.from_url(OWN_BROKER).delete("celery")
    assert answers == [302, 302]
    with waiting["factory"]() as session:
        ids = session.scalars(select(ApprovalDecision.id)).all()
    assert len(ids) == 1
    runners = [threading.Thread(target=approvals.run, args=(waiting["factory"], ids[0])) for _ in range(2)]
    for runner in runners:
        runner.start()
    for runner in runners:
        runner.join()
    assert codepipeline_calls(waiting).get("PutApprovalResult") == 1
    assert decision(waiting, ids[0]).status == "sent"


def test_review_and_approval_converge_with_a_fifth_of_the_calls_throttled(waiting):
    """Botocore's standard retries carry every read and the one PutApprovalResult through 20% throttling."""
    create_staging_stack(waiting["app"])
    create_production_change_set(waiting["app"], waiting["execution_id"])
    decision_id = record(waiting, "approve", comment="Through the throttle")
    control(waiting["emulator"], "throttle", {"fraction": 0.2})
    try:
        for _ in range(5):  # five reads of the review, each of several calls, all complete
            row = review(waiting)
            assert row.complete and row.change_set_problem == "", row.change_set_problem
        approvals.run(waiting["factory"], decision_id)
    finally:
        control(waiting["emulator"], "throttle", {"fraction": 0.0})
    sent = decision(waiting, decision_id)
    assert sent.status == "sent", sent.message
    assert approval_state(waiting)["summary"] == "Approved in the portal by approver: Through the throttle"
    wait_for(lambda: newest(waiting)["status"] == "Succeeded", 20, "the execution to finish")
    with waiting["factory"]() as session:
        outcomes = session.scalars(select(AuditEntry.outcome).where(AuditEntry.action == "production.approve")).all()
    assert outcomes == ["success"]
