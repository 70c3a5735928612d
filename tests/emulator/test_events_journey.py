"""The templates' event path, deployed into the demo accounts: a deploy account's stack and the
pipeline's executions reach the build account's queue in order, with AWS's shapes, and a bus policy
that does not name the sending account drops its events."""
from __future__ import annotations

import json

import pytest

from tests.emulator.events_helpers import collect, drain, statuses
from tests.emulator.helpers import (BUILD_ACCOUNT, PRODUCTION_ACCOUNT, STAGING_ACCOUNT, control,
                                    deploy_repository_templates, outputs, template)
from tests.waiting import wait_for

APP = "orders-api"
TOPIC = {"Topic": {"Type": "AWS::SNS::Topic"}}
pytestmark = pytest.mark.usefixtures("timed_actions")  # about the events of executions, not the deploys' work


@pytest.fixture
def setup(client):
    _, stack = deploy_repository_templates(client, app=APP)
    queue_url = outputs(stack)["EventQueueUrl"]
    sqs = client("sqs", account=BUILD_ACCOUNT)
    drain(sqs, queue_url)  # the build stack's own creation
    return stack, sqs, queue_url


def _stack_done(name):
    def done(events):
        return any(e["detail-type"] == "CloudFormation Stack Status Change" and f"/{name}/" in e["detail"]["stack-id"]
                   and e["detail"]["status-details"]["status"] == "CREATE_COMPLETE" for e in events)
    return done


def test_the_build_stack_s_own_events_reach_the_queue(client):
    _, stack = deploy_repository_templates(client, app=APP)
    received = collect(client("sqs", account=BUILD_ACCOUNT), outputs(stack)["EventQueueUrl"],
                       _stack_done(f"{APP}-pipeline"))
    trail = statuses(received)
    # The queue and its rule exist only part way through the stack's creation: the events from then on arrive.
    assert trail[-1] == ("stack", "CREATE_COMPLETE")
    assert ("EventQueuePolicy", "CREATE_COMPLETE") in trail
    assert {e["account"] for e in received} == {BUILD_ACCOUNT}


def test_a_deploy_account_s_application_stack_arrives_in_order_in_the_build_queue(client, setup):
    _, sqs, queue_url = setup
    staging = client("cloudformation", account=STAGING_ACCOUNT)
    staging.create_stack(StackName="unrelated", TemplateBody=template(TOPIC))  # not this application's
    stack_id = staging.create_stack(StackName=f"{APP}-staging", TemplateBody=template(TOPIC))["StackId"]

    received = collect(sqs, queue_url, _stack_done(f"{APP}-staging"))

    assert statuses(received) == [("stack", "CREATE_IN_PROGRESS"), ("Topic", "CREATE_IN_PROGRESS"),
                                  ("Topic", "CREATE_IN_PROGRESS"), ("Topic", "CREATE_COMPLETE"),
                                  ("stack", "CREATE_COMPLETE")]
    assert {(e["account"], e["source"], e["detail"]["stack-id"]) for e in received} == {
        (STAGING_ACCOUNT, "aws.cloudformation", stack_id)}
    resource = received[3]
    assert resource["detail-type"] == "CloudFormation Resource Status Change"
    assert set(resource["detail"]) == {"stack-id", "logical-resource-id", "physical-resource-id", "status-details",
                                       "resource-type", "client-request-token"}
    assert resource["resources"] == [stack_id]


def _pipeline_events(events):
    return [(e["detail-type"].split()[1], e["detail"].get("stage", ""), e["detail"].get("action", ""),
             e["detail"]["state"]) for e in events if e["source"] == "aws.codepipeline"]


def test_a_pipeline_execution_arrives_in_order_in_the_build_queue(client, emulator, setup):
    stack, sqs, queue_url = setup
    name = outputs(stack)["PipelineName"]
    control(emulator, "pace", {"seconds": 0.05})
    pushed = control(emulator, "push", {"repository": outputs(stack)["RepositoryName"], "account_id": BUILD_ACCOUNT,
                                        "message": "First release"})
    [started] = pushed["pipelineExecutions"]
    execution_id = started["pipelineExecutionId"]

    def approval_waits(events):
        return ("Action", "ApproveProduction", "Approve", "STARTED") in [
            p for p, e in zip(_pipeline_events(events), events) if e["detail"]["execution-id"] == execution_id]

    # Nobody reads the pipeline: the events alone show it advance.
    received = collect(sqs, queue_url, approval_waits, what="the execution to wait for its approval")
    token = client("codepipeline", account=BUILD_ACCOUNT).get_pipeline_state(name=name)
    approve = next(a for s in token["stageStates"] if s["stageName"] == "ApproveProduction"
                   for a in s["actionStates"] if a["actionName"] == "Approve")["latestExecution"]["token"]
    client("codepipeline", account=BUILD_ACCOUNT).put_approval_result(
        pipelineName=name, stageName="ApproveProduction", actionName="Approve",
        result={"summary": "ok", "status": "Approved"}, token=approve)
    received += collect(sqs, queue_url, lambda events: ("Pipeline", "", "", "SUCCEEDED") in _pipeline_events(events),
                        what="the execution to succeed")

    mine = [e for e in received if e["source"] == "aws.codepipeline" and e["detail"]["execution-id"] == execution_id]
    trail = _pipeline_events(mine)
    assert trail[0] == ("Pipeline", "", "", "STARTED") and trail[-1] == ("Pipeline", "", "", "SUCCEEDED")
    stages = [(stage, state) for kind, stage, _, state in trail if kind == "Stage"]
    assert stages == [(s, state) for s in ("Source", "Build", "DeployStaging", "ApproveProduction", "DeployProduction")
                      for state in ("STARTED", "SUCCEEDED")]
    assert [a for a in trail if a[0] == "Action" and a[1] == "ApproveProduction"] == [
        ("Action", "ApproveProduction", "CreateChangeSet", "STARTED"),
        ("Action", "ApproveProduction", "CreateChangeSet", "SUCCEEDED"),
        ("Action", "ApproveProduction", "Approve", "STARTED"),
        ("Action", "ApproveProduction", "Approve", "SUCCEEDED")]
    times = [e["time"] for e in mine]
    assert times == sorted(times)

    first = mine[0]
    assert first["detail-type"] == "CodePipeline Pipeline Execution State Change"
    assert (first["account"], first["resources"]) == (
        BUILD_ACCOUNT, [f"arn:aws:codepipeline:us-east-1:{BUILD_ACCOUNT}:{name}"])
    assert first["detail"]["execution-trigger"]["trigger-type"] == "CloudWatchEvent"
    assert {"pipeline", "execution-id", "start-time", "state", "version", "pipeline-execution-attempt"} <= set(
        first["detail"])
    build = next(e for e in mine if e["detail"].get("action") == "BuildAndTest" and e["detail"]["state"] == "SUCCEEDED")
    assert build["detail"]["type"] == {"owner": "AWS", "provider": "CodeBuild", "category": "Build", "version": "1"}
    assert build["detail"]["region"] == "us-east-1" and build["detail"]["stage"] == "Build"
    assert [a["name"] for a in build["detail"]["input-artifacts"]] == ["SourceOutput"]
    assert "external-execution-id" in build["detail"]["execution-result"]


def test_a_bus_policy_without_the_sending_account_drops_its_events(client, emulator, setup):
    _, sqs, queue_url = setup
    bus = f"{APP}-events"
    events = client("events", account=BUILD_ACCOUNT)
    events.remove_permission(EventBusName=bus, RemoveAllPermissions=True)
    events.put_permission(EventBusName=bus, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "OnlyProduction", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{PRODUCTION_ACCOUNT}:root"},
        "Action": "events:PutEvents", "Resource": f"arn:aws:events:us-east-1:{BUILD_ACCOUNT}:event-bus/{bus}"}]}))
    control(emulator, "events", method="DELETE")

    client("cloudformation", account=STAGING_ACCOUNT).create_stack(StackName=f"{APP}-staging",
                                                                   TemplateBody=template(TOPIC))
    client("cloudformation", account=PRODUCTION_ACCOUNT).create_stack(StackName=f"{APP}-production",
                                                                      TemplateBody=template(TOPIC))

    received = collect(sqs, queue_url, _stack_done(f"{APP}-production"))
    assert {e["account"] for e in received} == {PRODUCTION_ACCOUNT}  # delivered in time order: staging's came first
    dropped = wait_for(lambda: (d := control(emulator, "events")["dropped"]) and len(d) >= 5 and d, 10,
                       "the staging events to be dropped")
    assert {d["target"] for d in dropped} == {f"arn:aws:events:us-east-1:{BUILD_ACCOUNT}:event-bus/{bus}"}
    assert all("does not allow it" in d["reason"] for d in dropped)
