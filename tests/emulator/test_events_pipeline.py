"""CodePipeline's failure, retry and stop, as EventBridge events of the pipeline's account."""
from __future__ import annotations

import json

import pytest

from tests.emulator.codepipeline_helpers import PIPELINE, create_contract_pipeline, push
from tests.emulator.events_helpers import collect, queue_for_rule
from tests.emulator.helpers import control

pytestmark = pytest.mark.usefixtures("timed_actions")


@pytest.fixture
def queue(client):
    events = client("events")
    rule_arn = events.put_rule(Name="pipeline-events", EventPattern=json.dumps({"source": ["aws.codepipeline"]}))[
        "RuleArn"]
    url, arn = queue_for_rule(client, None, "pipeline-events", rule_arn)
    events.put_targets(Rule="pipeline-events", Targets=[{"Id": "queue", "Arn": arn}])
    return url


def _trail(events, execution_id):
    return [(e["detail-type"].split()[1], e["detail"].get("stage", ""), e["detail"].get("action", ""),
             e["detail"]["state"]) for e in events if e["detail"]["execution-id"] == execution_id]


def _has(*wanted):
    return lambda events: all(w in [t for e in events for t in _trail([e], e["detail"]["execution-id"])]
                              for w in wanted)


def test_a_failed_action_fails_its_stage_and_execution_then_a_retry_resumes_them(client, emulator, queue):
    control(emulator, "failures", {"type": "action", "stage_name": "Build", "action_name": "BuildAndTest",
                                   "reason": "Unit tests failed", "count": 1})
    pipelines = create_contract_pipeline(client)
    execution_id = push("Break the build").executions[0]["pipelineExecutionId"]
    sqs = client("sqs")

    received = collect(sqs, queue, _has(("Pipeline", "", "", "FAILED")))
    failed = [e for e in received if e["detail"]["execution-id"] == execution_id]
    assert _trail(failed, execution_id)[-3:] == [("Action", "Build", "BuildAndTest", "FAILED"),
                                                 ("Stage", "Build", "", "FAILED"), ("Pipeline", "", "", "FAILED")]
    action = failed[-3]["detail"]
    assert action["execution-result"]["external-execution-summary"] == "Unit tests failed"
    assert action["execution-result"]["external-execution-state"] == "FAILED"
    assert failed[-1]["detail"]["execution-result"]["external-execution-summary"] == (
        "Action BuildAndTest in stage Build failed: Unit tests failed")

    pipelines.retry_stage_execution(pipelineName=PIPELINE, stageName="Build", pipelineExecutionId=execution_id,
                                    retryMode="FAILED_ACTIONS")
    resumed = collect(sqs, queue, _has(("Action", "Build", "BuildAndTest", "SUCCEEDED")))
    assert _trail(resumed, execution_id)[:4] == [
        ("Pipeline", "", "", "RESUMED"), ("Stage", "Build", "", "RESUMED"),
        ("Action", "Build", "BuildAndTest", "STARTED"), ("Action", "Build", "BuildAndTest", "SUCCEEDED")]
    assert resumed[0]["detail"]["pipeline-execution-attempt"] == 2.0


def test_stop_and_abandon_at_the_approval_sends_stopping_abandoned_stopped(client, queue):
    pipelines = create_contract_pipeline(client)
    execution_id = push("Wait").executions[0]["pipelineExecutionId"]
    sqs = client("sqs")
    collect(sqs, queue, _has(("Action", "ApproveProduction", "Approve", "STARTED")))

    pipelines.stop_pipeline_execution(pipelineName=PIPELINE, pipelineExecutionId=execution_id, abandon=True,
                                      reason="Not today")

    received = collect(sqs, queue, _has(("Pipeline", "", "", "STOPPED")))
    assert _trail(received, execution_id) == [
        ("Action", "ApproveProduction", "Approve", "ABANDONED"), ("Pipeline", "", "", "STOPPING"),
        ("Stage", "ApproveProduction", "", "STOPPING"), ("Stage", "ApproveProduction", "", "STOPPED"),
        ("Pipeline", "", "", "STOPPED")]
