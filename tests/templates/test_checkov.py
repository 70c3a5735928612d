"""checkov finds no failed check in templates_cfn/, and every skip says why."""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from .cfn_yaml import load_template
from .repo_layout import CFN_DIR, CHECKOV_IN_REPO, REPO_ROOT, cfn_templates


def checkov_executable() -> str:
    """The repository's own checkov (its venv pins what it needs), else one on PATH."""
    if CHECKOV_IN_REPO.exists():
        return str(CHECKOV_IN_REPO)
    found = shutil.which("checkov")
    if found is None:
        pytest.fail(f"checkov is neither at {CHECKOV_IN_REPO} nor on PATH")
    return found


@pytest.fixture(scope="module")
def checkov_results() -> dict:
    command = [
        checkov_executable(),
        "-d", str(CFN_DIR),
        "--framework", "cloudformation",
        "-o", "json",
        # No network: guidelines and severities come from Prisma Cloud, which the checks don't need.
        "--skip-download",
    ]
    completed = subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT, timeout=300, check=False)
    # checkov exits 1 when a check fails; anything else means it did not scan.
    assert completed.returncode in (0, 1), completed.stderr[-2000:]
    report = json.loads(completed.stdout)
    assert isinstance(report, dict) and "results" in report, f"checkov scanned nothing: {report}"
    return report["results"]


def test_checkov_reports_no_failed_checks(checkov_results):
    failed = [
        f"{check['check_id']} {check['resource']} ({check['file_path']}): {check['check_name']}"
        for check in checkov_results["failed_checks"]
    ]
    assert failed == []


def test_checkov_scans_every_template(checkov_results):
    scanned = {check["file_path"].lstrip("/") for check in checkov_results["passed_checks"]}
    assert scanned == {path.name for path in cfn_templates()}


def test_checkov_parses_every_template(checkov_results):
    assert checkov_results.get("parsing_errors", []) == []


def test_checkov_skips_carry_their_reason(checkov_results):
    unexplained = [
        check["check_id"]
        for check in checkov_results["skipped_checks"]
        if not check["check_result"].get("suppress_comment", "").strip()
    ]
    assert unexplained == []


@pytest.mark.parametrize("path", cfn_templates(), ids=lambda path: path.name)
def test_every_checkov_skip_in_the_template_has_a_reason(path):
    for logical_id, resource in load_template(path)["Resources"].items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert skip.get("id", "").startswith("CKV"), f"{logical_id}: skip without a check id"
            # A reason is a sentence, not a token such as "n/a".
            assert len(skip.get("comment", "").split()) >= 5, f"{logical_id}: {skip['id']} skipped without a reason"
