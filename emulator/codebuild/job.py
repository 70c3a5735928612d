"""The CodeBuild action of a pipeline: start the project's build and report how it ended.

What CodePipeline does with a CodeBuild action: StartBuild on the project named by
``ProjectName`` (in the pipeline's account and region) with the input artifact as the source,
the output artifact as the artifacts location, the store's KMS key, and ``EnvironmentVariables``
as overrides; the action's external execution id is the build id, its summary on failure
"Build terminated with state: FAILED. Phase: ..., Code: ..., Message: ...", and its output
variables the buildspec's ``exported-variables``. A project that does not exist fails the
action with StartBuild's error, as CodePipeline shows it.
"""
from __future__ import annotations

import logging
import threading
import time
import shutil
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

from moto.codebuild.models import codebuild_backends
from moto.codepipeline.models import codepipeline_backends

from emulator.codebuild import credentials, environment, records, runner, storage
from emulator.codebuild.logs import BuildLog
from emulator.codecommit import clone_urls
from emulator.codepipeline.jobs import JobContext, Outcome

logger = logging.getLogger(__name__)


def _start_error(message: str, code: str) -> str:
    return (f"Error calling startBuild: {message} (Service: AWSCodeBuild; Status Code: 400; Error Code: {code}; "
            f"Request ID: {uuid.uuid4()}; Proxy: null)")


class BuildJob:
    """A pipeline action's build; the engine reads ``outcome()`` and may ``abandon()`` it."""

    def __init__(self, context: JobContext) -> None:
        self.context = context
        self._lock = threading.Lock()
        self._outcome: Outcome | None = None
        self._runner: runner.Runner | None = None
        self._abandoned = False
        project = context.configuration.get("ProjectName", "")
        self.build_id = context.run.external_id or f"{project}:{uuid.uuid4()}"
        self.resolved_source_version = _source_revision(context)

    def start(self) -> BuildJob:
        threading.Thread(target=self._work, name=f"codebuild {self.build_id}", daemon=True).start()
        return self

    def outcome(self) -> Outcome | None:
        with self._lock:
            return self._outcome

    def abandon(self) -> None:
        with self._lock:
            self._abandoned = True
            build = self._runner
        if build is not None:
            build.stop()

    # ---- in the build's thread ----------------------------------------------------------------
    def _work(self) -> None:
        try:
            build = self._prepare()
        except _Refused as refused:
            self._end(False, str(refused))
            return
        with self._lock:
            self._runner = build
            abandoned = self._abandoned
        if abandoned:
            build.stop()
        build.run()

    def _prepare(self) -> runner.Runner:
        """Everything StartBuild checks and sets up; the runner that carries the build out.

        :raise _Refused: StartBuild's error (no project, unusable input) or the role cannot be assumed.
        """
        context = self.context
        account, region = context.account_id, context.region
        name = context.configuration.get("ProjectName", "")
        backend = codebuild_backends[account][region]
        project = backend.codebuild_projects.get(name)
        if project is None:
            raise _Refused(_start_error(
                f"Project cannot be found: arn:aws:codebuild:{region}:{account}:project/{name}",
                "ResourceNotFoundException"))
        metadata = dict(project.project_metadata)
        if len(context.inputs) != 1 or len(context.outputs) > 1:
            raise _Refused(_start_error("the emulator's CodeBuild action takes one input artifact and at most one "
                                        "output artifact (secondary sources and artifacts are not emulated)",
                                        "InvalidInputException"))
        endpoint = clone_urls.base_url()
        if endpoint is None:
            raise _Refused("The emulator's server address is unknown, so a build cannot reach it.")
        source, output = context.inputs[0], (context.outputs[0] if context.outputs else None)
        record = records.BuildRecord(
            self.build_id, f"arn:aws:codebuild:{region}:{account}:build/{self.build_id}",
            records.next_number(account, region, name), metadata, account, region,
            source_version=f"arn:aws:s3:::{source.bucket}/{source.key}",
            resolved_source_version=self.resolved_source_version,
            initiator=f"codepipeline/{context.pipeline_name}",
            encryption_key=str(metadata.get("encryptionKey") or ""))
        cloudwatch = (metadata.get("logsConfig") or {}).get("cloudWatchLogs") or {}
        record.log_group = str(cloudwatch.get("groupName") or f"/aws/codebuild/{name}")
        stream_prefix = cloudwatch.get("streamName")
        record.log_stream = f"{stream_prefix}/{record.uuid}" if stream_prefix else record.uuid
        records.add(record)
        backend.build_history.setdefault(name, []).append(self.build_id)
        log = BuildLog(account, region, record.log_group, record.log_stream,
                       enabled=cloudwatch.get("status", "ENABLED") != "DISABLED")
        for phase_type in records.SETUP:
            record.complete(record.enter(phase_type))
        log.container(f"Running on the emulator's local CodeBuild (no container), build {self.build_id}")
        provisioning = record.enter("PROVISIONING")
        workspace = runner.new_workspace()
        try:
            session = credentials.assume_service_role(str(metadata.get("serviceRole", "")), str(metadata["arn"]),
                                                      account, region, f"AWSCodeBuild-{record.uuid}")
            variables, overrides = self._variables(record, metadata, session, endpoint, workspace)
        except (credentials.RoleNotAssumable, environment.VariableError) as err:
            shutil.rmtree(workspace, ignore_errors=True)
            raise _Refused(_fail_provisioning(record, log, provisioning, str(err))) from None
        record.complete(provisioning)
        plan = runner.Plan(
            endpoint=endpoint, s3=storage.client(endpoint, region, session), source=(source.bucket, source.key),
            output=(output.bucket, output.key) if output else None,
            kms_key=(output.kms_key_id if output and output.kms_key_id else record.encryption_key or None),
            variables=variables, overrides=overrides,
            buildspec_setting=str((metadata.get("source") or {}).get("buildspec") or ""),
            deadline=record.start + 60 * int(metadata.get("timeoutInMinutes") or 60), workspace=workspace)
        build = runner.Runner(record, log, plan)
        record.stopper = build.stop
        plan.on_end = lambda: self._end(record.status == "SUCCEEDED", record.summary(),
                                        {v["name"]: v["value"] for v in record.exported})
        return build

    def _variables(self, record: records.BuildRecord, metadata: dict[str, Any], session: credentials.Credentials,
                   endpoint: str, workspace: Path) -> tuple[dict[str, str], dict[str, str]]:
        """The build's starting environment, and the variables that beat the buildspec's."""
        account, region = record.account_id, record.region
        codebuild = {
            "AWS_REGION": region, "AWS_DEFAULT_REGION": region, "AWS_ENDPOINT_URL": endpoint,
            "CODEBUILD_BUILD_ARN": record.arn, "CODEBUILD_BUILD_ID": record.build_id,
            "CODEBUILD_BUILD_IMAGE": str((metadata.get("environment") or {}).get("image", "")),
            "CODEBUILD_BUILD_NUMBER": str(record.number), "CODEBUILD_BUILD_SUCCEEDING": "1",
            "CODEBUILD_INITIATOR": record.initiator, "CODEBUILD_KMS_KEY_ID": record.encryption_key,
            "CODEBUILD_LOG_PATH": record.log_stream,
            "CODEBUILD_RESOLVED_SOURCE_VERSION": record.resolved_source_version or "",
            "CODEBUILD_SOURCE_VERSION": record.source_version, "CODEBUILD_SOURCE_REPO_URL": "",
            "CODEBUILD_SRC_DIR": str(workspace / "src"), "CODEBUILD_START_TIME": str(int(record.start * 1000)),
            **session.environment(),
        }
        project = environment.project_variables(metadata, account, region)
        call = environment.pipeline_variables(self.context.configuration.get("EnvironmentVariables"), account,
                                              region)
        record.environment_variables = [{"name": k, "value": v, "type": "PLAINTEXT"}
                                        for k, v in {**project, **call}.items()]
        return {**environment.base(workspace / "home", workspace / "tmp"), **codebuild}, {**project, **call}

    def _end(self, succeeded: bool, summary: str | None, variables: dict[str, str] | None = None) -> None:
        region = self.context.region
        with self._lock:
            self._outcome = Outcome(
                succeeded, time.time(), summary, output_variables=variables or {}, external_id=self.build_id,
                external_url=(f"https://{region}.console.aws.amazon.com/codesuite/codebuild/projects/"
                              f"{self.build_id.partition(':')[0]}/build/{quote(self.build_id, safe='')}/"
                              f"?region={region}"))
        logger.info("build %s ended: %s", self.build_id, summary or "succeeded")
        self.context.wake()


class _Refused(Exception):
    """The build cannot start or run: the action fails with this message."""


def _fail_provisioning(record: records.BuildRecord, log: BuildLog, phase: records.PhaseRecord, message: str) -> str:
    """End a build that never got its environment (the role, a variable); return the action's summary."""
    record.complete(phase, "FAILED", "CLIENT_ERROR", message)
    log.container("Phase complete: PROVISIONING State: FAILED")
    log.container(f"Phase context status code: CLIENT_ERROR Message: {message}")
    record.enter("COMPLETED")
    with record.lock:
        record.status, record.end = "FAILED", time.time()
    log.flush()
    return record.summary() or ""


def _source_revision(context: JobContext) -> str | None:
    """The commit behind the input artifact, as CodePipeline hands it to CodeBuild (None if unknown)."""
    try:
        pipeline = codepipeline_backends[context.account_id][context.region].pipelines[context.pipeline_name]
        execution = pipeline.executions[context.execution_id]
    except (KeyError, AttributeError):
        return None
    wanted = {a.name for a in context.inputs}
    for run in reversed(execution.runs):
        produced = {a.get("name") for a in run.declaration.get("outputArtifacts") or []}
        if run.category == "Source" and produced & wanted:
            return run.external_id
    return None


def start(context: JobContext) -> BuildJob:
    """The starter registered for (Build, CodeBuild) actions."""
    return BuildJob(context).start()
