"""buildspec.yaml: the CodeBuild steps, and that they meet the Makefile and the pipeline."""
from __future__ import annotations

import re

import pytest
import yaml

from tests.sample_app.conftest import SAMPLE_APP, describe

# What the pipeline's deploy actions read from BuildOutput.
PIPELINE_ARTIFACT_FILES = ["packaged.yaml", "config/staging.json", "config/production.json"]


@pytest.fixture(scope="module")
def buildspec() -> dict:
    return yaml.safe_load((SAMPLE_APP / "buildspec.yaml").read_text())


def make_targets_called(commands: list[str]) -> list[str]:
    targets = []
    for command in commands:
        if command.startswith("make "):
            targets.extend(word for word in command.split()[1:] if "=" not in word)
    return targets


def test_buildspec_runs_lint_and_test_before_build_and_package(buildspec):
    assert str(buildspec["version"]) == "0.2"
    phases = buildspec["phases"]

    assert make_targets_called(phases["pre_build"]["commands"]) == ["lint", "test"]
    assert make_targets_called(phases["build"]["commands"]) == ["build", "package"]
    # CodeBuild starts each phase in the source root; the app lives in sample_app/.
    for phase in ("pre_build", "build"):
        assert phases[phase]["commands"][0] == 'cd "$CODEBUILD_SRC_DIR/sample_app"'


def test_every_make_target_the_buildspec_calls_exists(buildspec):
    makefile = (SAMPLE_APP / "Makefile").read_text()
    defined = set(re.findall(r"^([a-z][a-z-]*):", makefile, re.MULTILINE))
    phony = set(re.search(r"^\.PHONY: (.+)$", makefile, re.MULTILINE).group(1).split())

    called = set()
    for phase in buildspec["phases"].values():
        called.update(make_targets_called(phase.get("commands", [])))

    assert called == {"lint", "test", "build", "package"}
    assert called <= defined & phony


def test_buildspec_installs_a_go_new_enough_for_go_mod(buildspec):
    wanted = str(buildspec["phases"]["install"]["runtime-versions"]["golang"])
    go_directive = re.search(r"^go (\d+)\.(\d+)", (SAMPLE_APP / "go.mod").read_text(), re.MULTILINE)

    major, minor = (int(part) for part in wanted.split(".")[:2])
    assert (major, minor) >= (int(go_directive.group(1)), int(go_directive.group(2)))
    # GOTOOLCHAIN=local: never download another toolchain in the build.
    assert buildspec["env"]["variables"]["GOTOOLCHAIN"] == "local"


def test_artifacts_are_what_the_deploy_actions_read(buildspec):
    artifacts = buildspec["artifacts"]

    assert artifacts["files"] == PIPELINE_ARTIFACT_FILES
    assert artifacts["base-directory"] == "sample_app"
    # YAML 1.1 reads "no" as false; CodeBuild accepts either spelling.
    assert artifacts["discard-paths"] in (False, "no")


def test_artifact_files_exist_after_make_package(buildspec, packaged_app):
    assert packaged_app.result.returncode == 0, describe(packaged_app.result)

    missing = [name for name in buildspec["artifacts"]["files"] if not (packaged_app.app / name).is_file()]

    assert missing == []


def test_test_report_is_where_make_test_writes_it(buildspec):
    (report,) = buildspec["reports"].values()
    makefile = (SAMPLE_APP / "Makefile").read_text()
    report_dir = re.search(r"^REPORT_DIR \?= (\S+)$", makefile, re.MULTILINE).group(1)

    assert report["file-format"] == "JUNITXML"
    assert report["base-directory"] == f"sample_app/{report_dir}"
    assert report["files"] == ["junit.xml"]
    assert "-o $(REPORT_DIR)/junit.xml" in makefile
