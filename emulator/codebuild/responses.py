"""CodeBuild's API over the builds the emulator ran: BatchGetBuilds, StopBuild, the Reports API.

moto's own builds are fakes that "complete" with random durations when read; a build the
emulator ran answers from its record instead (moto's answer is kept for any other id).
ListBuildsForProject lists newest first, as AWS does by default. The report operations
(ListReportGroups, BatchGetReportGroups, ListReportsForReportGroup, ListReports, BatchGetReports,
DescribeTestCases) are added: moto has none.
"""
from __future__ import annotations

import time
from typing import Any

from moto.codebuild.exceptions import InvalidInputException, ResourceNotFoundException
from moto.codebuild.responses import CodeBuildResponse
from moto.core.responses import ActionResult

from emulator.codebuild import records, reports
from emulator.patches import Kind, Patch, methods

STOP_WAIT_SECONDS = 5.0


def _batch_get_builds(original: Any, self: CodeBuildResponse) -> Any:
    ids = list(self._get_param("ids") or [])
    for build_id in ids:
        if ":" not in build_id:
            raise InvalidInputException("Invalid build ID provided")
    ours = {i: records.get(i, self.current_account, self.region) for i in ids}
    others = [i for i, record in ours.items() if record is None]
    theirs: dict[str, dict[str, Any]] = {}
    if others:
        # moto's handler reads the same ids; it knows none of ours, so it answers for the others only.
        theirs = {b["id"]: b for b in original(self).result.get("builds", [])}
    builds = [ours[i].to_api() if ours[i] is not None else theirs[i] for i in ids  # type: ignore[union-attr]
              if ours[i] is not None or i in theirs]
    return ActionResult({"builds": builds, "buildsNotFound": [i for i in ids if ours[i] is None and i not in theirs]})


def _stop_build(original: Any, self: Any, build_id: str) -> Any:
    record = records.get(build_id, self.account_id, self.region_name)
    if record is None:
        return original(self, build_id)
    if record.stopper is not None and record.end is None:
        record.stopper()
        ends = time.time() + STOP_WAIT_SECONDS
        while record.end is None and time.time() < ends:
            time.sleep(0.05)
    return record.to_api()


def _list_builds_for_project(original: Any, self: CodeBuildResponse) -> Any:
    result = original(self)
    if self._get_param("sortOrder") != "ASCENDING":
        result.result["ids"] = list(reversed(result.result.get("ids", [])))
    return result


def list_report_groups(self: CodeBuildResponse) -> ActionResult:
    return ActionResult({"reportGroups": [g.arn for g in reports.groups(self.current_account, self.region)]})


def batch_get_report_groups(self: CodeBuildResponse) -> ActionResult:
    arns = list(self._get_param("reportGroupArns") or [])
    found = {arn: reports.group(arn) for arn in arns}
    return ActionResult({"reportGroups": [g.to_api() for g in found.values() if g is not None],
                         "reportGroupsNotFound": [arn for arn, g in found.items() if g is None]})


def list_reports_for_report_group(self: CodeBuildResponse) -> ActionResult:
    arn = self._get_param("reportGroupArn") or ""
    group = reports.group(arn)
    if group is None:
        raise ResourceNotFoundException(f"Report group {arn} does not exist")
    ordered = group.reports if self._get_param("sortOrder") == "ASCENDING" else list(reversed(group.reports))
    return ActionResult({"reports": ordered})


def list_reports(self: CodeBuildResponse) -> ActionResult:
    arns = [arn for group in reports.groups(self.current_account, self.region) for arn in group.reports]
    return ActionResult({"reports": list(reversed(arns))})


def batch_get_reports(self: CodeBuildResponse) -> ActionResult:
    arns = list(self._get_param("reportArns") or [])
    found = {arn: reports.report(arn) for arn in arns}
    return ActionResult({"reports": [r.to_api() for r in found.values() if r is not None],
                         "reportsNotFound": [arn for arn, r in found.items() if r is None]})


def describe_test_cases(self: CodeBuildResponse) -> ActionResult:
    arn = self._get_param("reportArn") or ""
    report = reports.report(arn)
    if report is None:
        raise ResourceNotFoundException(f"Report {arn} does not exist")
    wanted = ((self._get_param("filter") or {}).get("status") or "").upper()
    cases = [report.case_api(c) for c in report.cases if not wanted or c.status == wanted]
    return ActionResult({"testCases": cases})


HANDLERS = {
    "list_report_groups": list_report_groups, "batch_get_report_groups": batch_get_report_groups,
    "list_reports_for_report_group": list_reports_for_report_group, "list_reports": list_reports,
    "batch_get_reports": batch_get_reports, "describe_test_cases": describe_test_cases,
}

PATCHES = (
    Patch("moto.codebuild.responses:CodeBuildResponse.batch_get_builds", _batch_get_builds, Kind.FUNCTION,
          "builds the emulator ran answer with their real phases, status and logs", wraps=True),
    Patch("moto.codebuild.models:CodeBuildBackend.stop_build", _stop_build, Kind.FUNCTION,
          "StopBuild kills a running build's processes", wraps=True),
    Patch("moto.codebuild.responses:CodeBuildResponse.list_builds_for_project", _list_builds_for_project,
          Kind.FUNCTION, "newest build first unless sortOrder is ASCENDING, as AWS", wraps=True),
    *methods("moto.codebuild.responses:CodeBuildResponse", Kind.ABSENT,
             "test reports of the builds the emulator ran (moto has no Reports API)", **HANDLERS),
)
