"""The hand-over, copied and pasted: after an apply, the push commands the portal shows push the sample app offline.

Everything is real: the emulator over HTTP (its CodeCommit serves git), a ``celery`` worker applying
the setup, the portal told (as ``make run`` tells it) that it works against the emulator, Chromium,
and plain ``git`` in a shell. The commands are read from the rendered page, run as a person would run
them in a fresh checkout of ``sample_app/``, and the emulator's CodeCommit and CodePipeline are asked
(through the build account's role, as AWS would be) whether the push arrived and started the pipeline.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from playwright.sync_api import Page, expect

from core.config import REPO_ROOT
from tests.accounts import BUILD
from tests.emulator.git_helpers import git, git_env
from tests.portal.live import serve_system_portal
from tests.system.wizard import start_setup
from tests.waiting import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BROKER = "redis://127.0.0.1:6379/13"  # this module's own database on the local Redis
APP = "push-api"
SCREENSHOTS = "/tmp/portal-push-{}.png"
SLOW = 45_000
REGION = "us-east-1"


@pytest.fixture(scope="module")
def portal_url(database: str, broker: str, emulator: str) -> Iterator[str]:
    """The portal in emulator mode: the page hands over what works against the emulator."""
    with serve_system_portal(database, broker, emulator) as url:
        yield url


def build_account(emulator: str, service: str):
    """A client in the demo build account, through its bootstrap role, as the worker reaches it."""
    sts = boto3.client("sts", endpoint_url=emulator, region_name=REGION, aws_access_key_id="testing",
                       aws_secret_access_key="testing")
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{BUILD}:role/OrganizationAccountAccessRole",
                            RoleSessionName="push-test")["Credentials"]
    return boto3.client(service, endpoint_url=emulator, region_name=REGION, aws_access_key_id=creds["AccessKeyId"],
                        aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])


def fresh_checkout(tmp_path: Path) -> Path:
    """A new repository holding the sample app as the project lays it out, with one commit on main."""
    checkout = tmp_path / "my-app"
    shutil.copytree(REPO_ROOT / "sample_app", checkout / "sample_app",
                    ignore=shutil.ignore_patterns(".aws-sam", ".build", "bootstrap"))
    git(checkout, "init", "-q")
    git(checkout, "add", ".")
    git(checkout, "commit", "-q", "-m", "The sample application, pushed as the portal says")
    return checkout


def test_the_handed_over_commands_push_the_sample_app_and_start_the_pipeline(page: Page, emulator: str,
                                                                             tmp_path: Path):
    start_setup(page, APP)
    page.click("button:has-text('Next')")  # the access step: the demo's bootstrap role everywhere
    page.click("button:has-text('Request the plan')")
    expect(page.locator("#plan-status")).to_have_text("succeeded", timeout=SLOW)
    page.click("button:has-text('Apply this plan')")
    expect(page.locator("#operation-status")).to_have_text("succeeded", timeout=SLOW)
    result = page.locator("#result")
    expect(result).to_contain_text(f"The emulator serves the repository {APP} over git's HTTP protocol")
    expect(result).not_to_contain_text("does not serve git")
    page.screenshot(path=SCREENSHOTS.format("1-handover"), full_page=True)
    commands = result.locator("pre.copy[aria-label='git commands'] code").inner_text()
    assert re.fullmatch(rf"git remote add aws {re.escape(emulator)}/v1/repos/{APP}\ngit push aws main", commands)

    checkout = fresh_checkout(tmp_path)
    head = git(checkout, "rev-parse", "HEAD").stdout.strip()
    pipelines = build_account(emulator, "codepipeline")
    before = {e["pipelineExecutionId"] for e in
              pipelines.list_pipeline_executions(pipelineName=f"{APP}-pipeline")["pipelineExecutionSummaries"]}
    done = subprocess.run(["bash", "-euc", commands], cwd=checkout, capture_output=True, text=True,
                          env=git_env(tmp_path), timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr

    branch = build_account(emulator, "codecommit").get_branch(repositoryName=APP, branchName="main")["branch"]
    assert branch["commitId"] == head

    def started() -> dict | None:
        summaries = pipelines.list_pipeline_executions(pipelineName=f"{APP}-pipeline")["pipelineExecutionSummaries"]
        return next((s for s in summaries if s["pipelineExecutionId"] not in before), None)

    execution = wait_for(started, 30, "the push to start an execution of the pipeline")
    assert execution["sourceRevisions"][0]["revisionId"] == head
    assert execution["trigger"]["triggerType"] == "CloudWatchEvent"
    assert page.problems == []
