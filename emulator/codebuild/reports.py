"""Test reports: the JUnit XML a build writes, as CodeBuild's Reports API shows it.

A buildspec ``reports`` entry NAME of project PROJECT goes to the report group ``PROJECT-NAME``,
created by the first build that reports to it (type TEST, no export). Each build makes one report
per group, ``report/PROJECT-NAME:UUID``, whose status is FAILED when a test failed or errored,
with a summary of counts and duration and its test cases (DescribeTestCases). Files are read
whether the build succeeded or not: a failed test run is what the report is for.
"""
from __future__ import annotations

import threading
import time
import uuid
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class ReportFileError(Exception):
    """A report file that is not JUnit XML."""


@dataclass
class TestCase:
    prefix: str  # the classname (Go: the package)
    name: str
    status: str  # SUCCEEDED, FAILED, ERROR, SKIPPED
    duration_ns: int
    message: str = ""
    raw_path: str = ""


@dataclass
class Report:
    arn: str
    group_arn: str
    name: str
    build_arn: str
    created: float
    cases: list[TestCase] = field(default_factory=list)

    @property
    def status(self) -> str:
        return "FAILED" if any(c.status in ("FAILED", "ERROR") for c in self.cases) else "SUCCEEDED"

    def to_api(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for case in self.cases:
            counts[case.status] = counts.get(case.status, 0) + 1
        return {
            "arn": self.arn, "type": "TEST", "name": self.name, "reportGroupArn": self.group_arn,
            "executionId": self.build_arn, "status": self.status, "created": self.created,
            "expired": self.created + 30 * 86400, "exportConfig": {"exportConfigType": "NO_EXPORT"},
            "truncated": False,
            "testSummary": {"total": len(self.cases), "statusCounts": counts,
                            "durationInNanoSeconds": sum(c.duration_ns for c in self.cases)},
        }

    def case_api(self, case: TestCase) -> dict[str, Any]:
        shown: dict[str, Any] = {"reportArn": self.arn, "testRawDataPath": case.raw_path, "prefix": case.prefix,
                                 "name": case.name, "status": case.status,
                                 "durationInNanoSeconds": case.duration_ns, "expired": self.created + 30 * 86400}
        if case.message:
            shown["message"] = case.message
        return shown


@dataclass
class ReportGroup:
    arn: str
    name: str
    created: float
    reports: list[str] = field(default_factory=list)  # report ARNs, oldest first

    def to_api(self) -> dict[str, Any]:
        return {"arn": self.arn, "name": self.name, "type": "TEST", "created": self.created,
                "lastModified": self.created, "exportConfig": {"exportConfigType": "NO_EXPORT"},
                "status": "ACTIVE", "tags": []}


def parse_junit(path: Path) -> list[TestCase]:
    """The test cases of a JUnit XML file (``testsuites`` or a single ``testsuite``).

    :raise ReportFileError: the file is not XML or has no test suite.
    """
    try:
        root = ElementTree.parse(path).getroot()
    except ElementTree.ParseError as err:
        raise ReportFileError(f"{path.name} is not XML: {err}") from None
    if root.tag not in ("testsuites", "testsuite"):
        raise ReportFileError(f"{path.name} is not a JUnit report (root element {root.tag})")
    cases = []
    for element in root.iter("testcase"):
        status, message = "SUCCEEDED", ""
        for child, outcome in (("failure", "FAILED"), ("error", "ERROR"), ("skipped", "SKIPPED")):
            found = element.find(child)
            if found is not None:
                status = outcome
                # The message attribute is a headline ("failed"); the text holds what the test printed.
                message = "\n".join(p for p in ((found.get("message") or "").strip(), (found.text or "").strip()) if p)
                break
        cases.append(TestCase(element.get("classname", ""), element.get("name", ""), status,
                              int(float(element.get("time") or 0) * 1e9), message, str(path)))
    return cases


_lock = threading.Lock()
_groups: dict[str, ReportGroup] = {}  # by ARN
_reports: dict[str, Report] = {}  # by ARN


def record(account_id: str, region: str, group_name: str, build_arn: str, cases: list[TestCase]) -> Report:
    """Store a build's report in its group (created on first use); return it."""
    group_arn = f"arn:aws:codebuild:{region}:{account_id}:report-group/{group_name}"
    now = time.time()
    report = Report(f"arn:aws:codebuild:{region}:{account_id}:report/{group_name}:{uuid.uuid4()}", group_arn,
                    group_name, build_arn, now, cases)
    with _lock:
        group = _groups.setdefault(group_arn, ReportGroup(group_arn, group_name, now))
        group.reports.append(report.arn)
        _reports[report.arn] = report
    return report


def group(arn: str) -> ReportGroup | None:
    with _lock:
        return _groups.get(arn)


def groups(account_id: str, region: str) -> list[ReportGroup]:
    prefix = f"arn:aws:codebuild:{region}:{account_id}:report-group/"
    with _lock:
        return [g for arn, g in _groups.items() if arn.startswith(prefix)]


def report(arn: str) -> Report | None:
    with _lock:
        return _reports.get(arn)


def reset() -> None:
    with _lock:
        _groups.clear()
        _reports.clear()
