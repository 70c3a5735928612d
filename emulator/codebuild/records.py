"""What BatchGetBuilds shows of a build the emulator ran: its phases as they happened.

A phase is recorded when it starts (IN_PROGRESS, no end) and completed when it ends, with
CodeBuild's ``contexts`` (status code and message; both empty on success). Phases a failure
skips are absent, as on AWS. The store is per account and region, emptied on reset.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

# The phases before PROVISIONING, which the emulator passes through at once.
SETUP = ("SUBMITTED", "QUEUED")


@dataclass
class PhaseRecord:
    phase_type: str
    start: float
    end: float | None = None
    status: str = "IN_PROGRESS"
    code: str = ""
    message: str = ""

    def to_api(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"phaseType": self.phase_type, "startTime": self.start}
        if self.phase_type == "COMPLETED":
            return shown
        if self.end is not None:
            shown.update(phaseStatus=self.status, endTime=self.end, durationInSeconds=int(self.end - self.start))
        if self.phase_type not in ("SUBMITTED", "QUEUED") and self.end is not None:
            shown["contexts"] = [{"statusCode": self.code, "message": self.message}]
        return shown


@dataclass
class BuildRecord:
    build_id: str
    arn: str
    number: int
    project: dict[str, Any]  # the project's metadata as BatchGetProjects shows it, when the build started
    account_id: str
    region: str
    start: float = field(default_factory=time.time)
    end: float | None = None
    status: str = "IN_PROGRESS"
    phases: list[PhaseRecord] = field(default_factory=list)
    source_version: str = ""
    resolved_source_version: str | None = None
    initiator: str = ""
    artifact_location: str = ""
    encryption_key: str = ""
    log_group: str = ""
    log_stream: str = ""
    environment_variables: list[dict[str, str]] = field(default_factory=list)
    exported: list[dict[str, str]] = field(default_factory=list)
    report_arns: list[str] = field(default_factory=list)
    stopper: Callable[[], None] | None = field(default=None, repr=False)  # StopBuild's way to the runner
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def uuid(self) -> str:
        return self.build_id.partition(":")[2]

    @property
    def current_phase(self) -> str:
        with self.lock:
            return self.phases[-1].phase_type if self.phases else "SUBMITTED"

    def enter(self, phase_type: str) -> PhaseRecord:
        with self.lock:
            record = PhaseRecord(phase_type, time.time())
            self.phases.append(record)
            return record

    def complete(self, record: PhaseRecord, status: str = "SUCCEEDED", code: str = "", message: str = "") -> None:
        with self.lock:
            record.end, record.status, record.code, record.message = time.time(), status, code, message

    def failed_phase(self) -> PhaseRecord | None:
        with self.lock:
            return next((p for p in self.phases if p.status not in ("SUCCEEDED", "IN_PROGRESS")), None)

    def summary(self) -> str | None:
        """How CodePipeline words the build's end in its action's summary; None for a success."""
        if self.status == "SUCCEEDED":
            return None
        failed = self.failed_phase()
        if failed is None or not failed.code:  # a stopped phase has no context to tell
            return f"Build terminated with state: {self.status}"
        return (f"Build terminated with state: {self.status}. Phase: {failed.phase_type}, Code: {failed.code}, "
                f"Message: {failed.message}")

    def to_api(self) -> dict[str, Any]:
        with self.lock:
            phases = [p.to_api() for p in self.phases]
            status, end = self.status, self.end
        environment = dict(self.project.get("environment") or {})
        environment["environmentVariables"] = self.environment_variables
        logs_arn = f"arn:aws:logs:{self.region}:{self.account_id}:log-group:{self.log_group}:log-stream:{self.log_stream}"
        shown: dict[str, Any] = {
            "id": self.build_id, "arn": self.arn, "buildNumber": self.number, "startTime": self.start,
            "currentPhase": phases[-1]["phaseType"] if phases else "SUBMITTED", "buildStatus": status,
            "sourceVersion": self.source_version, "projectName": self.project["name"], "phases": phases,
            "source": {**(self.project.get("source") or {}), "type": "CODEPIPELINE"},
            "secondarySources": [], "secondarySourceVersions": [],
            "artifacts": {"location": self.artifact_location} if self.artifact_location else {},
            "secondaryArtifacts": [], "cache": self.project.get("cache") or {"type": "NO_CACHE"},
            "environment": environment, "serviceRole": self.project.get("serviceRole", ""),
            "logs": {
                "groupName": self.log_group, "streamName": self.log_stream,
                "deepLink": (f"https://console.aws.amazon.com/cloudwatch/home?region={self.region}"
                             f"#logEvent:group={self.log_group};stream={self.log_stream}"),
                "cloudWatchLogsArn": logs_arn,
                "cloudWatchLogs": {"status": "ENABLED", "groupName": self.log_group},
                "s3Logs": {"status": "DISABLED", "encryptionDisabled": False},
            },
            "timeoutInMinutes": self.project.get("timeoutInMinutes", 60),
            "queuedTimeoutInMinutes": self.project.get("queuedTimeoutInMinutes", 480),
            "buildComplete": end is not None, "initiator": self.initiator,
            "encryptionKey": self.encryption_key,
            "reportArns": list(self.report_arns),
        }
        if self.resolved_source_version:
            shown["resolvedSourceVersion"] = self.resolved_source_version
        if end is not None:
            shown["endTime"] = end
        if self.exported:
            shown["exportedEnvironmentVariables"] = list(self.exported)
        return shown


_lock = threading.Lock()
_builds: dict[str, BuildRecord] = {}  # by build id (ids hold a UUID: unique across accounts)
_numbers: dict[tuple[str, str, str], int] = {}  # (account, region, project) -> last build number


def add(record: BuildRecord) -> None:
    with _lock:
        _builds[record.build_id] = record


def next_number(account_id: str, region: str, project: str) -> int:
    """CodeBuild numbers a project's builds 1, 2, 3, ..."""
    with _lock:
        key = (account_id, region, project)
        _numbers[key] = _numbers.get(key, 0) + 1
        return _numbers[key]


def get(build_id: str, account_id: str | None = None, region: str | None = None) -> BuildRecord | None:
    with _lock:
        record = _builds.get(build_id)
    if record is None or (account_id and record.account_id != account_id) or (region and record.region != region):
        return None
    return record


def reset() -> None:
    """Forget every build; stop the running ones, whose processes would outlive their records."""
    with _lock:
        running = [r for r in _builds.values() if r.end is None and r.stopper is not None]
        _builds.clear()
        _numbers.clear()
    for record in running:
        assert record.stopper is not None
        record.stopper()

