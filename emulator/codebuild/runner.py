"""One build, run on the host in a thread: CodeBuild's phases over a fresh workspace.

Phases follow CodeBuild's transitions: DOWNLOAD_SOURCE, then the buildspec's INSTALL, PRE_BUILD,
BUILD and POST_BUILD (a phase with no commands succeeds at once), UPLOAD_ARTIFACTS, FINALIZING,
COMPLETED. A failed INSTALL or PRE_BUILD skips to FINALIZING; a failed BUILD still runs POST_BUILD,
and UPLOAD_ARTIFACTS is attempted after BUILD or POST_BUILD fail. In a phase, a failing command
skips the phase's remaining commands, then its ``finally`` commands run; ``on-failure: CONTINUE``
goes on to the next phase, the build still failing. Reports are read in FINALIZING whatever
happened. A stop kills the running command's process group (STOPPED); passing the project's
timeout does too (TIMED_OUT).
"""
from __future__ import annotations

import logging
import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from emulator.codebuild import artifacts, buildspec, environment, records, reports, storage, toolchains
from emulator.codebuild.logs import BuildLog
from emulator.codebuild.shell import Shell, Stopped

logger = logging.getLogger(__name__)

COMMAND_FAILED = "COMMAND_EXECUTION_ERROR"


@dataclass
class Failure:
    phase: str
    code: str
    message: str


@dataclass
class Plan:
    """What a build needs beyond its record, decided when it starts."""

    endpoint: str
    s3: object  # a boto3 S3 client with the service role's session
    source: tuple[str, str]  # bucket, key
    output: tuple[str, str] | None  # bucket, key of the output artifact
    kms_key: str | None
    variables: dict[str, str]  # CodeBuild's, then the project's and the start-build call's
    overrides: dict[str, str]  # the project's and the start-build call's: they beat the buildspec's
    buildspec_setting: str  # the project's BuildSpec: a path in the source, inline YAML, or empty
    deadline: float
    workspace: Path
    on_end: Callable[[], None] = field(default=lambda: None)


class Runner:
    """Carries out a build's phases into its record and log."""

    def __init__(self, record: records.BuildRecord, log: BuildLog, plan: Plan) -> None:
        self.record, self.log, self.plan = record, log, plan
        self.src = plan.workspace / "src"
        self.shell: Shell | None = None
        self.failure: Failure | None = None  # the first phase that failed
        self.aborted: str | None = None  # the first phase whose failure changes the course (on-failure ABORT)
        self.stopped = threading.Event()
        self.timed_out = False
        self.spec: buildspec.Buildspec | None = None

    # ---- the build --------------------------------------------------------------------------
    def run(self) -> None:
        try:
            self._run()
        except Exception as err:  # noqa: BLE001 - an emulator bug must end the build, not hang the pipeline
            logger.exception("build %s crashed", self.record.build_id)
            self._fail("FINALIZING", "CLIENT_ERROR", f"the emulator's build runner failed: {err}")
        finally:
            self._finish()

    def _run(self) -> None:
        if not self._download_source():
            return
        spec = self.spec
        assert spec is not None
        for name in buildspec.PHASES:
            if self._halted():
                return
            if self.aborted is not None and not (name == "post_build" and self.aborted == "BUILD"):
                continue  # a failed INSTALL or PRE_BUILD skips to FINALIZING; a failed BUILD runs POST_BUILD
            self._phase(spec.phases.get(name, buildspec.Phase(name)))
        if self._halted():
            return
        if self.aborted in (None, "BUILD", "POST_BUILD"):
            self._upload_artifacts()

    def stop(self) -> None:
        self.stopped.set()
        if self.shell is not None:
            self.shell.stop()

    def _halted(self) -> bool:
        if not self.timed_out and time.time() > self.plan.deadline:
            self.timed_out = True
        return self.stopped.is_set() or self.timed_out

    # ---- phases -----------------------------------------------------------------------------
    def _download_source(self) -> bool:
        phase = self._enter("DOWNLOAD_SOURCE")
        try:
            self.src.mkdir(parents=True)
            bucket, key = self.plan.source
            count = artifacts.unzip(storage.download(self.plan.s3, bucket, key), self.src)
            self.log.container(f"CODEBUILD_SRC_DIR={self.src}")
            self.log.container(f"Unpacked {count} files of arn:aws:s3:::{bucket}/{key}")
        except (storage.StorageError, artifacts.ArtifactError) as err:
            return self._end(phase, "CLIENT_ERROR", str(err))
        try:
            self.spec = self._read_buildspec()
            self._prepare_shell(self.spec)
        except (buildspec.BuildspecError, toolchains.RuntimeRefused, environment.VariableError) as err:
            return self._end(phase, "YAML_FILE_ERROR", str(err))
        return self._end(phase)

    def _read_buildspec(self) -> buildspec.Buildspec:
        setting = self.plan.buildspec_setting.strip()
        if "\n" in setting or setting.startswith("version"):
            self.log.container("YAML location is the project's inline buildspec")
            return buildspec.parse(setting)
        path = self.src / (setting or "buildspec.yml")
        if not path.is_file():
            raise buildspec.BuildspecError(f"stat {path}: no such file or directory")
        self.log.container(f"YAML location is {path}")
        return buildspec.parse(path.read_text())

    def _prepare_shell(self, spec: buildspec.Buildspec) -> None:
        self.log.container("Processing environment variables")
        variables = dict(self.plan.variables)
        variables.update(spec.variables)
        for name, parameter in spec.parameter_store.items():
            variables[name] = environment.parameter(parameter, self.record.account_id, self.record.region)
        variables.update(self.plan.overrides)
        install = spec.phases.get("install")
        for selection in toolchains.select(install.runtime_versions if install else {}, variables["PATH"]):
            self.log.container(selection.describe())
        self.log.container(f"Moving to directory {self.src}")
        self.shell = Shell(self.plan.workspace / "shell", self.src, variables, posix=spec.shell != "bash")
        found = [(p.phase_type, len(p.commands) + len(p.finally_commands)) for p in spec.phases.values()]
        self.log.container(f"Phases found in YAML: {len(found)}")
        for phase_type, count in found:
            self.log.container(f" {phase_type}: {count} commands")

    def _phase(self, phase: buildspec.Phase) -> None:
        record = self._enter(phase.phase_type)
        failure = self._commands(phase.commands)
        if not self._halted():
            finally_failure = self._commands(phase.finally_commands)
            failure = failure or finally_failure
        if self._halted():
            return  # the phase ends STOPPED or TIMED_OUT
        if failure is None:
            self._end(record)
            return
        self._end(record, COMMAND_FAILED, failure)
        # With CONTINUE the phase stays FAILED, and so does the build, but the next phases run.
        if phase.on_failure == "ABORT" and self.aborted is None:
            self.aborted = phase.phase_type

    def _commands(self, commands: tuple[str, ...]) -> str | None:
        """Run commands until one fails; the failure's context message, or None."""
        assert self.shell is not None
        for command in commands:
            if self._halted():
                return None
            self.log.container(f"Running command {command}")
            try:
                status = self.shell.run(command, self.log.write, self.plan.deadline, self.log.flush_due)
            except Stopped:
                self._halted()
                return None
            if status != 0:
                self.log.container(f"Command did not exit successfully {command} exit status {status}")
                self.shell.export("CODEBUILD_BUILD_SUCCEEDING", "0")
                return f"Error while executing command: {command}. Reason: exit status {status}"
        return None

    def _upload_artifacts(self) -> None:
        phase = self._enter("UPLOAD_ARTIFACTS")
        spec = self.spec
        assert spec is not None
        if self.plan.output is None:
            self._end(phase)
            return
        try:
            if spec.artifacts is None:
                raise artifacts.ArtifactError(artifacts.NO_MATCH)
            base = spec.artifacts.base_directory
            if base:
                self.log.container(f"Expanding base directory path: {base}")
            self.log.container("Assembling file list")
            entries = artifacts.select(self.src, spec.artifacts)
            self.log.container(f"Found {len(entries)} file(s)")
            bucket, key = self.plan.output
            storage.upload(self.plan.s3, bucket, key, artifacts.zip_files(entries), self.plan.kms_key)
            self.record.artifact_location = f"arn:aws:s3:::{bucket}/{key}"
        except (artifacts.ArtifactError, storage.StorageError) as err:
            self._end(phase, "CLIENT_ERROR", str(err))
            return
        self._end(phase)

    def _finalize(self) -> None:
        phase = self._enter("FINALIZING")
        if self.spec is not None:
            self._reports(self.spec)
            self._export(self.spec)
        self._end(phase)

    def _reports(self, spec: buildspec.Buildspec) -> None:
        for report in spec.reports:
            group = f"{self.record.project['name']}-{report.name}"
            try:
                files = artifacts.select(self.src, report.files)
                cases = [case for path in files.values() for case in reports.parse_junit(path)]
            except (artifacts.ArtifactError, reports.ReportFileError) as err:
                # CodeBuild reports a missing or unreadable report file in the log, not as a failure.
                self.log.container(f"Error in UPLOAD_ARTIFACTS phase: report {group}: {err}")
                continue
            made = reports.record(self.record.account_id, self.record.region, group, self.record.arn, cases)
            self.record.report_arns.append(made.arn)
            self.log.container(f"Report {group}: {len(cases)} test cases, {made.status}")

    def _export(self, spec: buildspec.Buildspec) -> None:
        if self.shell is None or not spec.exported_variables:
            return
        values = self.shell.values(spec.exported_variables)
        self.record.exported = [{"name": name, "value": values[name]} for name in spec.exported_variables
                                if name in values]

    # ---- records ----------------------------------------------------------------------------
    def _enter(self, phase_type: str) -> records.PhaseRecord:
        self.log.container(f"Entering phase {phase_type}")
        return self.record.enter(phase_type)

    def _end(self, phase: records.PhaseRecord, code: str = "", message: str = "") -> bool:
        status = "FAILED" if code else "SUCCEEDED"
        self.record.complete(phase, status, code, message)
        self.log.container(f"Phase complete: {phase.phase_type} State: {status}")
        self.log.container(f"Phase context status code: {code} Message: {message}")
        if code and self.failure is None:
            self.failure = Failure(phase.phase_type, code, message)
        return not code

    def _fail(self, phase_type: str, code: str, message: str) -> None:
        if self.failure is None:
            self.failure = Failure(phase_type, code, message)

    def _finish(self) -> None:
        current = self.record.phases[-1] if self.record.phases else None
        if current is not None and current.end is None:
            if self.stopped.is_set():
                self.record.complete(current, "STOPPED")
            elif self.timed_out:
                self.record.complete(current, "TIMED_OUT", "BUILD_TIMED_OUT", "Build has timed out. ")
            else:
                self.record.complete(current, "FAILED", self.failure.code if self.failure else "CLIENT_ERROR",
                                     self.failure.message if self.failure else "")
        if not self.stopped.is_set():
            try:
                self._finalize()
            except Exception:  # noqa: BLE001
                logger.exception("build %s: finalizing failed", self.record.build_id)
        status = ("STOPPED" if self.stopped.is_set() else "TIMED_OUT" if self.timed_out
                  else "FAILED" if self.failure else "SUCCEEDED")
        self.log.container(f"Build {'succeeded' if status == 'SUCCEEDED' else status.lower()}")
        self.record.enter("COMPLETED")
        with self.record.lock:
            self.record.status = status
            self.record.end = time.time()
        self.log.flush()
        if self.shell is not None:
            self.shell.stop()  # nothing of the build outlives it
        shutil.rmtree(self.plan.workspace, ignore_errors=True)
        self.plan.on_end()


def workspace_root() -> Path:
    """Where builds get their fresh workspace (one directory per build, removed when it ends)."""
    import tempfile

    root = Path(tempfile.gettempdir()) / "emulator-codebuild"
    root.mkdir(exist_ok=True)
    return root


def new_workspace() -> Path:
    path = workspace_root() / uuid.uuid4().hex
    path.mkdir()
    for name in ("home", "tmp"):
        (path / name).mkdir()
    return path
