"""The seed's whole journey on the emulator, no portal: the two templates deployed through the demo
accounts' roles as templates_cfn/README.md's steps do, a plain ``git push`` of the sample app to the
stack's clone URL, and the pipeline doing its real work: Source zips the commit, Build runs the
buildspec (real ``go test``), staging is deployed, production waits as a change set, the approval
executes it, and both stages' endpoints answer with the function that was built.

A second push, with a failing Go test, stops at Build with the failure in the action's summary.
"""
from __future__ import annotations

import datetime
import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.accounts import BUILD, PRODUCTION, STAGING
from tests.emulator.codebuild_helpers import execution_of, project_checkout, push
from tests.emulator.helpers import TEMPLATES, control, make_client, outputs, params, wait_for_status
from tests.waiting import wait_for

# A cold Go cache compiles the standard library for arm64 twice (tests and build), over the suite's 300 s.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]

APP = "orders-api"
PIPELINE = f"{APP}-pipeline"
PRODUCTION_GREETING = "Welcome to production"
DEMO_ROLE = "OrganizationAccountAccessRole"
ENDED = ("Succeeded", "Failed", "Stopped", "Superseded")
BUILD_DEADLINE = 1200


def demo_clients(emulator: str) -> Any:
    """``clients(service, account)``: the default credentials' session in a demo account's admin role."""
    control(emulator, "demo", {})
    sts = make_client(emulator, "sts")
    sessions: dict[str, dict[str, str]] = {}

    def clients(service: str, account: str) -> Any:
        if account not in sessions:
            creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/{DEMO_ROLE}",
                                    RoleSessionName="seed-journey")["Credentials"]
            sessions[account] = {"aws_access_key_id": creds["AccessKeyId"],
                                 "aws_secret_access_key": creds["SecretAccessKey"],
                                 "aws_session_token": creds["SessionToken"]}
        return make_client(emulator, service, sessions[account], retries=3)

    return clients


def deploy_seed(clients: Any) -> dict[str, str]:
    """templates_cfn/README.md's steps: each deploy account's stack, then the pipeline stack with
    their outputs as parameters; return the pipeline stack's outputs."""
    roles = {}
    for account in (STAGING, PRODUCTION):
        cfn = clients("cloudformation", account)
        cfn.create_stack(StackName=f"{APP}-deploy-dependencies", Capabilities=["CAPABILITY_NAMED_IAM"],
                         TemplateBody=(TEMPLATES / "deploy-dependencies.yaml").read_text(),
                         Parameters=params(ApplicationName=APP, BuildAccountId=BUILD))
        stack = wait_for_status(cfn, f"{APP}-deploy-dependencies", {"CREATE_COMPLETE", "ROLLBACK_COMPLETE",
                                                                    "ROLLBACK_FAILED", "CREATE_FAILED"})
        assert stack["StackStatus"] == "CREATE_COMPLETE", (account, stack.get("StackStatusReason"))
        roles[account] = outputs(stack)
    cfn = clients("cloudformation", BUILD)
    cfn.create_stack(StackName=PIPELINE, Capabilities=["CAPABILITY_NAMED_IAM"],
                     TemplateBody=(TEMPLATES / "build-pipeline.yaml").read_text(), Parameters=params(
                         ApplicationName=APP, StagingAccountId=STAGING, ProductionAccountId=PRODUCTION,
                         ApprovalEmail="approver@example.com", PortalUrl="http://127.0.0.1:8000",
                         StagingDeployRoleArn=roles[STAGING]["DeployRoleArn"],
                         StagingExecutionRoleArn=roles[STAGING]["CloudFormationExecutionRoleArn"],
                         ProductionDeployRoleArn=roles[PRODUCTION]["DeployRoleArn"],
                         ProductionExecutionRoleArn=roles[PRODUCTION]["CloudFormationExecutionRoleArn"],
                         ProductionParameterOverrides=json.dumps({"Greeting": PRODUCTION_GREETING})))
    stack = wait_for_status(cfn, PIPELINE, {"CREATE_COMPLETE", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED",
                                            "CREATE_FAILED"})
    if stack["StackStatus"] != "CREATE_COMPLETE":
        failed = [(e["LogicalResourceId"], e["ResourceStatus"], e.get("ResourceStatusReason"))
                  for e in cfn.describe_stack_events(StackName=PIPELINE)["StackEvents"]
                  if e["ResourceStatus"].endswith("FAILED")]
        raise AssertionError(f"{PIPELINE} is {stack['StackStatus']}: {stack.get('StackStatusReason')}; {failed}")
    return outputs(stack)


# ---- reading the pipeline ----------------------------------------------------------------
def action_runs(pipelines: Any, execution_id: str) -> dict[str, dict[str, Any]]:
    runs = pipelines.list_action_executions(pipelineName=PIPELINE, filter={"pipelineExecutionId": execution_id})
    return {r["actionName"]: r for r in runs["actionExecutionDetails"]}


def ended_run(pipelines: Any, execution_id: str, action: str, timeout: float,
              codebuild: Any = None) -> dict[str, Any]:
    def ended() -> dict[str, Any] | None:
        run = action_runs(pipelines, execution_id).get(action)
        return run if run is not None and run["status"] != "InProgress" else None

    def seen() -> str:
        text = json.dumps(action_runs(pipelines, execution_id), default=str)[:3000]
        if codebuild is not None:  # where a build that never ends stands
            ids = codebuild.list_builds_for_project(projectName=f"{APP}-build")["ids"]
            builds = codebuild.batch_get_builds(ids=ids)["builds"] if ids else []
            text += "\n" + json.dumps([(b["id"], b["currentPhase"], b["buildStatus"], b["phases"]) for b in builds],
                                      default=str)[:3000]
        return text

    return wait_for(ended, timeout, f"{action} of {execution_id} to end", interval=0.5, output=seen)


def approval_token(pipelines: Any, timeout: float) -> str:
    def waiting() -> str | None:
        state = pipelines.get_pipeline_state(name=PIPELINE)["stageStates"]
        stage = next(s for s in state if s["stageName"] == "ApproveProduction")
        approve = next(a for a in stage["actionStates"] if a["actionName"] == "Approve")
        latest = approve.get("latestExecution", {})
        return latest.get("token") if latest.get("status") == "InProgress" else None

    return wait_for(waiting, timeout, "the approval to wait", interval=0.2)


def execution_status(pipelines: Any, execution_id: str, timeout: float) -> str:
    def ended() -> str | None:
        status = pipelines.get_pipeline_execution(pipelineName=PIPELINE, pipelineExecutionId=execution_id)[
            "pipelineExecution"]["status"]
        return status if status in ENDED else None

    return wait_for(ended, timeout, f"execution {execution_id} to end", interval=0.2)


def answer(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=120) as response:
        assert response.status == 200
        return json.loads(response.read())


def timings(pipelines: Any, codebuild: Any, execution_id: str, pushed: datetime.datetime) -> str:
    """Each action's time from ListActionExecutions, the build's phases from BatchGetBuilds."""
    runs = action_runs(pipelines, execution_id)
    order = ["Source", "BuildAndTest", "Deploy", "CreateChangeSet", "Approve", "ExecuteChangeSet"]
    lines = [f"{name}: {(runs[name]['lastUpdateTime'] - runs[name]['startTime']).total_seconds():.1f} s"
             for name in order]
    approved = runs["Approve"]["lastUpdateTime"]
    lines += [f"push to approval waiting: {(runs['Approve']['startTime'] - pushed).total_seconds():.1f} s",
              f"approval to production deployed: "
              f"{(runs['ExecuteChangeSet']['lastUpdateTime'] - approved).total_seconds():.1f} s"]
    build_id = runs["BuildAndTest"]["output"]["executionResult"]["externalExecutionId"]
    [build] = codebuild.batch_get_builds(ids=[build_id])["builds"]
    lines += [f"  {p['phaseType']}: {(p['endTime'] - p['startTime']).total_seconds():.1f} s"
              for p in build["phases"] if "endTime" in p]
    return "\n".join(lines)


FAILING_TEST = """
func TestTheReleaseIsNotReady(t *testing.T) {
	t.Fatal("the greeting is not ready for release")
}
"""


def test_a_pushed_sample_app_is_built_tested_deployed_to_staging_approved_and_answers_in_production(
        emulator, tmp_path: Path):
    clients = demo_clients(emulator)
    stack = deploy_seed(clients)
    assert stack["RepositoryName"] == APP
    clone_url = stack["RepositoryCloneUrlHttp"]
    assert clone_url.startswith(emulator), clone_url  # the emulator's own URL, not AWS's
    pipelines = clients("codepipeline", BUILD)
    codebuild = clients("codebuild", BUILD)

    checkout = project_checkout(tmp_path / "project")
    pushed = datetime.datetime.now(datetime.timezone.utc)
    commit_id = push(checkout, clone_url)
    execution_id = execution_of(pipelines, PIPELINE, commit_id)

    source = ended_run(pipelines, execution_id, "Source", 60)
    assert source["status"] == "Succeeded", source["output"]
    build = ended_run(pipelines, execution_id, "BuildAndTest", BUILD_DEADLINE, codebuild)
    assert build["status"] == "Succeeded", build["output"]["executionResult"]
    [built] = codebuild.batch_get_builds(ids=[build["output"]["executionResult"]["externalExecutionId"]])["builds"]
    assert built["buildStatus"] == "SUCCEEDED" and built["resolvedSourceVersion"] == commit_id
    [report] = codebuild.batch_get_reports(reportArns=built["reportArns"])["reports"]
    assert report["status"] == "SUCCEEDED" and report["testSummary"]["total"] >= 5  # go test ran

    token = approval_token(pipelines, 300)
    staging = clients("cloudformation", STAGING).describe_stacks(StackName=f"{APP}-staging")["Stacks"][0]
    assert staging["StackStatus"] == "CREATE_COMPLETE"
    production_cfn = clients("cloudformation", PRODUCTION)
    change_set = production_cfn.describe_change_set(StackName=f"{APP}-production",
                                                    ChangeSetName=f"{APP}-production-{execution_id}")
    assert (change_set["Status"], change_set["ExecutionStatus"]) == ("CREATE_COMPLETE", "AVAILABLE")
    assert {p["ParameterKey"]: p["ParameterValue"] for p in change_set["Parameters"]}["Greeting"] == \
        PRODUCTION_GREETING
    assert production_cfn.describe_stacks(StackName=f"{APP}-production")["Stacks"][0]["StackStatus"] == \
        "REVIEW_IN_PROGRESS"

    pipelines.put_approval_result(pipelineName=PIPELINE, stageName="ApproveProduction", actionName="Approve",
                                  result={"summary": "Change set reviewed", "status": "Approved"}, token=token)

    assert execution_status(pipelines, execution_id, 300) == "Succeeded"
    production = production_cfn.describe_stacks(StackName=f"{APP}-production")["Stacks"][0]
    assert production["StackStatus"] == "CREATE_COMPLETE"
    print("\n" + timings(pipelines, codebuild, execution_id, pushed))  # the closing note's numbers (pytest -s)

    staged = answer(outputs(staging)["ApiUrl"] + "?name=Ada")
    assert (staged["stage"], staged["message"]) == ("staging", "Hello from staging, Ada!")
    released = answer(outputs(production)["ApiUrl"])
    assert (released["stage"], released["message"]) == ("production", f"{PRODUCTION_GREETING}, World!")

    # A failing Go test: the next release stops at Build, production keeps answering as it was.
    with (checkout / "sample_app" / "internal" / "api" / "handler_test.go").open("a") as test_file:
        test_file.write(FAILING_TEST)
    failing = push(checkout, clone_url, "A test that fails")
    second = execution_of(pipelines, PIPELINE, failing)
    stopped = ended_run(pipelines, second, "BuildAndTest", BUILD_DEADLINE, codebuild)
    assert stopped["status"] == "Failed"
    assert stopped["output"]["executionResult"]["externalExecutionSummary"] == (
        "Build terminated with state: FAILED. Phase: PRE_BUILD, Code: COMMAND_EXECUTION_ERROR, "
        "Message: Error while executing command: make lint test. Reason: exit status 2")
    [failed] = codebuild.batch_get_builds(ids=[stopped["output"]["executionResult"]["externalExecutionId"]])["builds"]
    log = clients("logs", BUILD).get_log_events(logGroupName=failed["logs"]["groupName"], startFromHead=True,
                                                logStreamName=failed["logs"]["streamName"], limit=10000)
    assert any("the greeting is not ready for release" in e["message"] for e in log["events"])
    assert execution_status(pipelines, second, 60) == "Failed"
    assert "Deploy" not in action_runs(pipelines, second)
    assert answer(outputs(production)["ApiUrl"])["message"] == f"{PRODUCTION_GREETING}, World!"

