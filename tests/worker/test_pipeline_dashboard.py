"""The dashboard's worker side against the emulator over HTTP: reading pipelines, releases, retries, stops.

The pipeline is the contract's (docs/contracts.md), created in the demo build account; pushes come
through the emulator's control API, failures are injected there, and AWS calls are counted by its
/_emulator/stats.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any, Callable

import pytest

from core.models import (AuditEntry, Operation, PipelineRequest, PipelineSnapshot, Setup, utcnow)
from emulator.client import control
from tests.emulator.codepipeline_helpers import contract_declaration
from tests.waiting import wait_for
from tests.worker.conftest import BUILD, account_client
from worker import pipeline_actions, pipeline_refresh

# About what the worker stores of executions, not the actions' work: actions are timed stand-ins.
pytestmark = [pytest.mark.both_databases, pytest.mark.usefixtures("timed_actions")]

ROLE = "app-pipeline-role"


def create_pipeline(app: str) -> str:
    """The contract's pipeline of ``app`` in the build account, with its role, repository and bucket."""
    iam = account_client("iam", BUILD)
    trust = ('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
             '"Principal": {"Service": "codepipeline.amazonaws.com"}, "Action": "sts:AssumeRole"}]}')
    iam.create_role(RoleName=f"{app}-{ROLE}", AssumeRolePolicyDocument=trust)
    account_client("codecommit", BUILD).create_repository(repositoryName=app)
    bucket = f"{app}-artifacts-{BUILD}-us-east-1"
    account_client("s3", BUILD).create_bucket(Bucket=bucket)
    declaration = contract_declaration(name=f"{app}-pipeline", repository=app)
    declaration["roleArn"] = f"arn:aws:iam::{BUILD}:role/{app}-{ROLE}"
    declaration["artifactStore"]["location"] = bucket
    account_client("codepipeline", BUILD).create_pipeline(pipeline=declaration)
    return f"{app}-pipeline"


@pytest.fixture
def deployed(aws_env: str, worker_db: Any, make_setup: Callable[..., int]) -> dict[str, Any]:
    """A setup with a succeeded apply and its pipeline in the emulator; no execution yet."""
    setup_id = make_setup()
    with worker_db() as session:
        setup = session.get(Setup, setup_id)
        name = create_pipeline(setup.name)
        session.add(Operation(setup_id=setup_id, kind="apply", status="succeeded", requested_by="alice",
                              detail={"pipeline_name": name}))
        session.commit()
        app = setup.name
    control(aws_env, "stats", method="DELETE")
    return {"setup_id": setup_id, "app": app, "pipeline": name, "emulator": aws_env, "factory": worker_db}


def push(env: dict[str, Any], message: str) -> str:
    answer = control(env["emulator"], "push", {"repository": env["app"], "account_id": BUILD, "message": message})
    return answer["pipelineExecutions"][0]["pipelineExecutionId"]


def read_now(env: dict[str, Any]) -> PipelineSnapshot:
    """Sync the rows, then read the pipeline as a due tick would; return the stored snapshot."""
    factory = env["factory"]
    with factory() as session:
        pipeline_refresh.sync_rows(session)
    with factory() as session:  # due now, whatever the cadence said
        session.query(PipelineSnapshot).filter_by(setup_id=env["setup_id"]).update({"next_read_at": None})
        session.commit()
    assert pipeline_refresh.refresh(factory, snapshot(env).id)
    return snapshot(env)


def snapshot(env: dict[str, Any]) -> PipelineSnapshot:
    with env["factory"]() as session:
        return session.query(PipelineSnapshot).filter_by(setup_id=env["setup_id"]).one()


def stage(row: PipelineSnapshot, name: str) -> dict[str, Any]:
    return next(s for s in row.stages if s["name"] == name)


def codepipeline_calls(env: dict[str, Any]) -> dict[str, int]:
    return control(env["emulator"], "stats")["calls"].get("codepipeline", {})


def request(env: dict[str, Any], kind: str, **fields: Any) -> int:
    with env["factory"]() as session:
        row = PipelineRequest(setup_id=env["setup_id"], kind=kind, requested_by="olga", **fields)
        session.add(row)
        session.commit()
        return row.id


def finished(env: dict[str, Any], request_id: int) -> PipelineRequest:
    with env["factory"]() as session:
        return session.get(PipelineRequest, request_id)


def test_a_read_stores_stages_actions_executions_and_the_commit(deployed):
    control(deployed["emulator"], "pace", {"seconds": 0.05})
    execution_id = push(deployed, "Add the orders endpoint")
    wait_for(lambda: stage(read_now(deployed), "ApproveProduction")["status"] == "InProgress"
             and read_now(deployed).approval, 20, "the approval to wait")
    row = read_now(deployed)

    assert [s["name"] for s in row.stages] == ["Source", "Build", "DeployStaging", "ApproveProduction",
                                              "DeployProduction"]
    for name in ("Source", "Build", "DeployStaging"):
        assert (stage(row, name)["status"], stage(row, name)["execution_id"]) == ("Succeeded", execution_id)
    build = stage(row, "Build")["actions"][0]
    assert build["name"] == "BuildAndTest" and build["status"] == "Succeeded"
    assert build["started_at"] and build["updated_at"] and build["started_at"] <= build["updated_at"]
    assert "codebuild" in build["external_url"]
    newest = row.executions[0]
    assert (newest["id"], newest["status"], newest["trigger"]) == (execution_id, "InProgress", "CloudWatchEvent")
    assert newest["revisions"][0]["message"] == "Add the orders endpoint"
    assert len(newest["revisions"][0]["commit_id"]) == 40
    assert row.active and row.read_at is not None and row.read_error == ""
    assert row.approval["execution_id"] == execution_id and row.approval["expires"] > row.approval["since"]
    # The token is kept, in its own column, and nowhere in what a presenter reads.
    assert row.approval_token and row.approval_token not in repr((row.stages, row.executions, row.approval))


def test_a_read_costs_two_or_three_calls(deployed):
    push(deployed, "First")
    read_now(deployed)
    calls = codepipeline_calls(deployed)
    assert calls == {"GetPipelineState": 1, "ListPipelineExecutions": 1, "ListActionExecutions": 1}


def test_only_a_due_pipeline_is_read_and_only_once_at_a_time(deployed):
    read_now(deployed)
    row = snapshot(deployed)
    # Nobody watches: the next read is the slow background one, minutes away.
    assert row.next_read_at - row.read_at > timedelta(minutes=4)
    assert not pipeline_refresh.refresh(deployed["factory"], row.id)
    # A claimed read is not claimed twice.
    later = utcnow() + timedelta(hours=1)
    assert pipeline_refresh.claim(deployed["factory"], row.id, later)
    assert not pipeline_refresh.claim(deployed["factory"], row.id, later)


def test_a_watched_pipeline_with_an_execution_running_is_read_within_seconds(deployed):
    control(deployed["emulator"], "pace", {"seconds": 1})
    push(deployed, "First")
    factory = deployed["factory"]
    read_now(deployed)
    with factory() as session:
        session.query(PipelineSnapshot).filter_by(setup_id=deployed["setup_id"]).update(
            {"watched_until": utcnow() + timedelta(seconds=30)})
        session.commit()
    row = read_now(deployed)
    assert timedelta(seconds=2) <= row.next_read_at - row.read_at <= timedelta(seconds=4)


def test_a_page_opened_during_a_read_gets_the_watched_cadence(deployed, monkeypatch):
    """The interleaving of a read and a page opening, made certain by a wrapper around the read (a real
    read is too quick to open a page during it reliably); the read itself still goes to the emulator."""
    read_now(deployed)
    factory = deployed["factory"]
    real_read = pipeline_refresh.read_pipeline

    def read_while_a_page_opens(*args, **kwargs):
        found = real_read(*args, **kwargs)
        with factory() as session:  # what portal.pipelines.service.record_interest writes
            session.query(PipelineSnapshot).filter_by(setup_id=deployed["setup_id"]).update(
                {"watched_until": utcnow() + timedelta(seconds=30), "next_read_at": utcnow()})
            session.commit()
        return found

    monkeypatch.setattr(pipeline_refresh, "read_pipeline", read_while_a_page_opens)
    row = read_now(deployed)
    assert row.next_read_at - row.read_at <= timedelta(seconds=4)


def test_a_throttled_read_keeps_the_older_snapshot_and_says_why(deployed, monkeypatch):
    push(deployed, "First")
    first = read_now(deployed)
    monkeypatch.setenv("PORTAL_AWS_MAX_ATTEMPTS", "1")  # no retries: every throttled call fails
    from worker import context
    context.clear_cache()
    control(deployed["emulator"], "throttle", {"fraction": 1.0})
    try:
        row = read_now(deployed)
    finally:
        control(deployed["emulator"], "throttle", {"fraction": 0.0})
    assert "throttled" in row.read_error
    assert row.read_at == first.read_at and row.stages == first.stages
    assert row.version == first.version + 1


def test_reads_converge_with_a_fifth_of_the_calls_throttled(deployed):
    control(deployed["emulator"], "pace", {"seconds": 0.05})
    control(deployed["emulator"], "throttle", {"fraction": 0.2})
    try:
        execution_id = push(deployed, "First")
        row = wait_for(lambda: (r := read_now(deployed)).approval and r, 30, "the approval, throttled")
    finally:
        control(deployed["emulator"], "throttle", {"fraction": 0.0})
    assert row.read_error == "" and stage(row, "DeployStaging")["execution_id"] == execution_id


def executions_started(env: dict[str, Any]) -> int:
    pipelines = account_client("codepipeline", BUILD)
    return len(pipelines.list_pipeline_executions(pipelineName=env["pipeline"])["pipelineExecutionSummaries"])


def test_a_release_starts_one_execution_even_when_sent_twice(deployed):
    before = executions_started(deployed)  # creating a pipeline starts one, as on AWS
    request_id = request(deployed, "release")
    pipeline_actions.run(deployed["factory"], request_id)
    first = finished(deployed, request_id)
    assert first.status == "succeeded" and first.execution_id
    # A re-delivered message finds the request finished and does nothing.
    pipeline_actions.run(deployed["factory"], request_id)
    assert codepipeline_calls(deployed).get("StartPipelineExecution") == 1
    # Re-sent after its worker died (stale running): the client request token gives the same execution.
    with deployed["factory"]() as session:
        row = session.get(PipelineRequest, request_id)
        row.status, row.started_at = "running", utcnow() - timedelta(minutes=10)
        session.commit()
    pipeline_actions.run(deployed["factory"], request_id)
    assert finished(deployed, request_id).execution_id == first.execution_id
    assert executions_started(deployed) == before + 1
    with deployed["factory"]() as session:
        audit = session.query(AuditEntry).filter_by(action="pipeline.release").all()
    assert [a.actor for a in audit] == ["olga", "olga"] and {a.outcome for a in audit} == {"success"}
    assert snapshot_due(deployed)


def snapshot_due(env: dict[str, Any]) -> bool:
    with env["factory"]() as session:
        pipeline_refresh.sync_rows(session)
    return snapshot(env).id in pipeline_refresh.due(env["factory"], utcnow())


def test_a_retried_build_recovers(deployed):
    control(deployed["emulator"], "pace", {"seconds": 0.05})
    control(deployed["emulator"], "failures", {"type": "action", "stage_name": "Build", "action_name": "BuildAndTest",
                                               "reason": "Unit tests failed", "count": 1})
    execution_id = push(deployed, "Broken test")
    row = wait_for(lambda: (r := read_now(deployed)).executions[0]["status"] == "Failed" and r, 20, "the failure")
    build = stage(row, "Build")
    assert build["status"] == "Failed"
    assert build["actions"][0]["error"]["message"] == "Unit tests failed"

    request_id = request(deployed, "retry", stage="Build", execution_id=execution_id)
    pipeline_actions.run(deployed["factory"], request_id)
    assert finished(deployed, request_id).status == "succeeded"
    row = wait_for(lambda: (r := read_now(deployed)).approval and r, 20, "the retried execution to reach the approval")
    assert stage(row, "Build")["status"] == "Succeeded" and stage(row, "Build")["retry_attempt"] == 1


def test_retrying_a_stage_that_did_not_fail_is_refused_with_aws_message(deployed):
    control(deployed["emulator"], "pace", {"seconds": 0.05})
    execution_id = push(deployed, "Fine")
    wait_for(lambda: read_now(deployed).approval, 20, "the approval")
    request_id = request(deployed, "retry", stage="Build", execution_id=execution_id)
    pipeline_actions.run(deployed["factory"], request_id)
    refused = finished(deployed, request_id)
    assert refused.status == "failed"
    assert refused.message.startswith("AWS refused: StageNotRetryableException")
    with deployed["factory"]() as session:
        [audit] = session.query(AuditEntry).filter_by(action="pipeline.retry").all()
    assert audit.outcome == "failed" and "StageNotRetryableException" in audit.message


def test_a_stopped_execution_shows_the_reason(deployed):
    control(deployed["emulator"], "pace", {"seconds": 0.05})
    execution_id = push(deployed, "Wrong branch")
    wait_for(lambda: read_now(deployed).approval, 20, "the approval")
    request_id = request(deployed, "stop", execution_id=execution_id, reason="Released the wrong branch")
    pipeline_actions.run(deployed["factory"], request_id)
    assert finished(deployed, request_id).status == "succeeded"
    row = wait_for(lambda: (r := read_now(deployed)).executions[0]["status"] in ("Stopped", "Stopping") and r, 20,
                   "the execution to stop")
    assert row.executions[0]["stop_reason"] == "Released the wrong branch"
    # Stopping it again: AWS refuses, and the request says so.
    again = request(deployed, "stop", execution_id=execution_id, reason="twice")
    pipeline_actions.run(deployed["factory"], again)
    assert finished(deployed, again).message.startswith("AWS refused: ")


def test_a_torn_down_setup_loses_its_snapshot(deployed):
    read_now(deployed)
    with deployed["factory"]() as session:
        session.add(Operation(setup_id=deployed["setup_id"], kind="teardown", status="running", requested_by="alice"))
        session.commit()
        pipeline_refresh.sync_rows(session)
        assert session.query(PipelineSnapshot).count() == 0
