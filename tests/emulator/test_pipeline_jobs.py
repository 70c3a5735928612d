"""The engine's seam for actions that do real work (emulator.codepipeline.jobs).

The jobs here are the test's own: they end when the test says so, which lets it check what the
engine does with a job (ending on the job's clock, failing the stage, abandoning, moving on
without a read, resolving variables) apart from any real build or deployment.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import pytest
from moto.codepipeline.models import codepipeline_backends

from emulator.codepipeline import jobs
from tests.emulator.codepipeline_helpers import PIPELINE, action, create_contract_pipeline, execution_status, push
from tests.emulator.helpers import DEFAULT_ACCOUNT, REGION, control
from tests.waiting import wait_for


@dataclass
class HeldJob:
    """Work that ends when the test calls ``end``."""

    context: jobs.JobContext
    result: jobs.Outcome | None = None
    abandoned: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def outcome(self) -> jobs.Outcome | None:
        with self.lock:
            return self.result

    def abandon(self) -> None:
        self.abandoned = True

    def end(self, succeeded: bool, summary: str | None = None, **variables: str) -> None:
        with self.lock:
            self.result = jobs.Outcome(succeeded, time.time(), summary, output_variables=variables)
        self.context.wake()


def _hold(category: str, provider: str):
    """Every action of this type runs as a HeldJob; yields the list of started jobs."""
    started: list[HeldJob] = []

    def starter(context: jobs.JobContext) -> HeldJob:
        job = HeldJob(context)
        started.append(job)
        return job

    previous = jobs._STARTERS.get((category, provider))
    jobs.register(category, provider, starter)
    yield started
    if previous is None:
        jobs._STARTERS.pop((category, provider))
    else:
        jobs.register(category, provider, previous)


@pytest.fixture
def held_builds():
    yield from _hold("Build", "CodeBuild")


@pytest.fixture
def held_deploys():
    yield from _hold("Deploy", "CloudFormation")


def _build_state(pipelines) -> dict:
    return action(pipelines.get_pipeline_state(name=PIPELINE), "Build", "BuildAndTest")["latestExecution"]


def test_a_job_action_ends_when_its_work_does_not_at_the_pace(client, held_builds, held_deploys):
    pipelines = create_contract_pipeline(client)
    execution_id = push("Add orders endpoint").executions[0]["pipelineExecutionId"]
    job = wait_for(lambda: held_builds and held_builds[0], 10, "the build to start")

    time.sleep(0.3)  # pace is 0: a timed action would have ended long ago
    assert _build_state(pipelines)["status"] == "InProgress"
    assert job.context.execution_id == execution_id
    assert [a.name for a in job.context.inputs] == ["SourceOutput"]
    assert job.context.inputs[0].key.endswith(execution_id[:7])
    assert [a.name for a in job.context.outputs] == ["BuildOutput"]
    assert job.context.role_arn.endswith(":role/orders-api-pipeline-role")  # the pipeline's, the action has none

    job.end(True, "Build succeeded", BUILD_ID="b-1")

    # The job woke the engine: the execution moved on without anyone reading the pipeline (the
    # emulator runs in this process, so its records can be looked at without a request).
    recorded = codepipeline_backends[DEFAULT_ACCOUNT][REGION].pipelines[PIPELINE].executions[execution_id]
    assert recorded.stage_name == "DeployStaging"
    assert [d.context.run.name for d in held_deploys] == ["Deploy"]  # the next job began
    state = _build_state(pipelines)
    assert state["status"] == "Succeeded" and state["summary"] == "Build succeeded"
    runs = pipelines.list_action_executions(pipelineName=PIPELINE, filter={"pipelineExecutionId": execution_id})
    build = next(d for d in runs["actionExecutionDetails"] if d["actionName"] == "BuildAndTest")
    assert build["output"]["outputVariables"] == {"BUILD_ID": "b-1"}
    assert (build["lastUpdateTime"] - build["startTime"]).total_seconds() >= 0.3
    assert execution_status(pipelines, execution_id) == "InProgress"  # the deploy is held


def test_a_failed_job_fails_its_stage_with_its_summary(client, held_builds):
    pipelines = create_contract_pipeline(client)
    execution_id = push("Break the tests").executions[0]["pipelineExecutionId"]
    job = wait_for(lambda: held_builds and held_builds[0], 10, "the build to start")

    job.end(False, "COMMAND_EXECUTION_ERROR: go test failed")

    execution = pipelines.get_pipeline_execution(pipelineName=PIPELINE, pipelineExecutionId=execution_id)
    assert execution["pipelineExecution"]["status"] == "Failed"
    state = _build_state(pipelines)
    assert state["status"] == "Failed"
    assert state["errorDetails"] == {"code": "JobFailed", "message": "COMMAND_EXECUTION_ERROR: go test failed"}


def test_stopping_with_abandon_abandons_the_work(client, held_builds):
    pipelines = create_contract_pipeline(client)
    execution_id = push("Slow build").executions[0]["pipelineExecutionId"]
    job = wait_for(lambda: held_builds and held_builds[0], 10, "the build to start")

    pipelines.stop_pipeline_execution(pipelineName=PIPELINE, pipelineExecutionId=execution_id, abandon=True,
                                      reason="Wrong commit")

    assert job.abandoned
    assert execution_status(pipelines, execution_id) == "Stopped"
    assert _build_state(pipelines)["status"] == "Abandoned"


def test_stopping_without_abandon_waits_for_the_work(client, held_builds):
    pipelines = create_contract_pipeline(client)
    execution_id = push("Slow build").executions[0]["pipelineExecutionId"]
    job = wait_for(lambda: held_builds and held_builds[0], 10, "the build to start")

    pipelines.stop_pipeline_execution(pipelineName=PIPELINE, pipelineExecutionId=execution_id, abandon=False)
    assert not job.abandoned
    assert execution_status(pipelines, execution_id) == "Stopping"

    job.end(True, "Build succeeded")
    assert execution_status(pipelines, execution_id) == "Stopped"
    assert _build_state(pipelines)["status"] == "Succeeded"


def test_an_injected_failure_wins_over_the_work(client, emulator, held_builds):
    control(emulator, "failures", {"type": "action", "stage_name": "Build", "action_name": "BuildAndTest",
                                   "reason": "Unit tests failed", "count": 1})
    pipelines = create_contract_pipeline(client)
    execution_id = push("Add orders endpoint").executions[0]["pipelineExecutionId"]

    wait_for(lambda: execution_status(pipelines, execution_id) == "Failed", 10, "the execution to fail")
    assert held_builds == []


def test_simulated_actions_do_no_work(client, emulator, held_builds):
    assert control(emulator, "actions", {"simulate": True}) == {"simulate": True}
    pipelines = create_contract_pipeline(client)
    execution_id = push("Add orders endpoint").executions[0]["pipelineExecutionId"]

    assert _build_state(pipelines)["status"] == "Succeeded"
    assert execution_status(pipelines, execution_id) == "InProgress"  # at the approval
    assert held_builds == []


def test_configuration_variables_are_resolved_and_an_unknown_one_fails_the_action():
    from emulator.codepipeline.models import ActionRun, Execution

    declaration = {"name": "p", "version": 1, "roleArn": "arn:aws:iam::111111111111:role/r",
                   "artifactStore": {"type": "S3", "location": "bucket", "encryptionKey": {"id": "alias/k"}},
                   "stages": []}
    execution = Execution("p", declaration, "StartPipelineExecution", "", 0.0, {},
                          [{"name": "Stage", "value": "staging"}])
    source = ActionRun(execution.execution_id, 1, "Source", {
        "name": "Source", "namespace": "SourceVariables", "configuration": {},
        "actionTypeId": {"category": "Source", "provider": "CodeCommit"}}, start=0.0, due=0.0, attempt=0)
    source.output_variables = {"CommitId": "abc123"}
    source.finish("Succeeded", 1.0)
    execution.runs.append(source)

    resolved = jobs.resolve("app-#{variables.Stage}-#{codepipeline.PipelineExecutionId}-#{SourceVariables.CommitId}",
                            execution)
    assert resolved == f"app-staging-{execution.execution_id}-abc123"
    with pytest.raises(jobs.UnresolvedVariable, match=r"#\{BuildVariables.ImageTag\}"):
        jobs.resolve("#{BuildVariables.ImageTag}", execution)
    [artifact] = jobs.artifacts(execution, ["BuildOutput"], "us-east-1")
    assert (artifact.bucket, artifact.key, artifact.kms_key_id) == ("bucket", execution.artifact_key("BuildOutput"),
                                                                    "alias/k")


def test_the_actions_switch_refuses_what_is_not_a_boolean(emulator):
    import json
    import urllib.error
    import urllib.request

    request = urllib.request.Request(f"{emulator}/_emulator/actions", data=json.dumps({"simulate": "yes"}).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request)
    assert refused.value.code == 400
    assert "true or false" in json.loads(refused.value.read())["error"]
