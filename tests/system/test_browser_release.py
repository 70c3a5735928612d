"""The seed's whole release in the browser, offline: wizard, apply, the handed-over push, the real pipeline
(Source zips the commit, Build runs the real ``go test`` and ``go build``, staging deploys, production waits as a
change set), an approver following the pipeline's approval link, and production answering with the built function.

Nothing is a stand-in: the actions do their real work in the emulator (no ``actions simulate``), the worker is a
``celery`` process whose approval links point at this portal (``PORTAL_PUBLIC_URL``), and the endpoint is asked
over HTTP. The test reads the production stack's ApiUrl through the production account's role, as its own check.
"""
from __future__ import annotations

import json
import re
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from core import approvals
from tests.accounts import BUILD, PRODUCTION
from tests.emulator.codebuild_helpers import execution_of, project_checkout
from tests.emulator.git_helpers import git, git_env
from tests.portal.live import serve_system_portal
from tests.system.test_browser_approval import add_approver, client, sign_in
from tests.system.wizard import start_setup
from tests.worker.celery_helpers import WorkerProcess, emulator_worker_environment

# A cold Go cache compiles the standard library for arm64 twice (tests and build): minutes on 2 cores.
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(2400)]

BROKER = "redis://127.0.0.1:6379/14"  # this module's own database on the local Redis
APP = "rel-api"
SHOTS = "/tmp/shots/journey-{}.png"
SLOW = 120_000  # an apply of three stacks, a deploy, a change set on a busy 2-core machine
BUILD_DEADLINE = 1_200_000  # push to approval waiting, with a cold Go cache


@pytest.fixture(scope="module")
def portal_url(database: str, broker: str, emulator: str) -> Iterator[str]:
    """The portal in emulator mode: the hand-over shows the git commands that push to the emulator."""
    with serve_system_portal(database, broker, emulator) as url:
        yield url


@pytest.fixture(scope="module")
def worker(emulator: str, database: str, broker: str, portal_url: str,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerProcess]:
    """The worker gives the pipeline this portal's URL, so the approval action's link leads here."""
    env = {**emulator_worker_environment(emulator, database, broker), "PORTAL_PUBLIC_URL": portal_url}
    process = WorkerProcess(tmp_path_factory.mktemp("worker") / "worker.log", env)
    yield process
    process.stop()


def apply_setup(page: Page) -> str:
    """The wizard through apply; return the hand-over's git commands."""
    start_setup(page, APP)
    page.click("button:has-text('Next')")  # the access step: the demo's bootstrap role everywhere
    page.click("button:has-text('Request the plan')")
    expect(page.locator("#plan-status")).to_have_text("succeeded", timeout=SLOW)
    page.click("button:has-text('Apply this plan')")
    expect(page.locator("#operation-status")).to_have_text("succeeded", timeout=SLOW)
    return page.locator("#result pre.copy[aria-label='git commands'] code").inner_text()


def stage(page: Page, name: str):
    return page.locator(f'#pipeline-stages [data-stage="{name}"]')


def approval_link(emulator: str) -> str:
    """The Approve action's ExternalEntityLink, as the pipeline gives it (GetPipelineState's entityUrl): the link
    the approval e-mail and the console show. The portal's pipeline page does not show it in emulator mode."""
    state = client(emulator, "codepipeline", BUILD).get_pipeline_state(name=f"{APP}-pipeline")["stageStates"]
    stage_state = next(s for s in state if s["stageName"] == "ApproveProduction")
    return next(a for a in stage_state["actionStates"] if a["actionName"] == "Approve")["entityUrl"]


def answer(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=120) as response:
        assert response.status == 200
        return json.loads(response.read())


def test_a_release_is_pushed_built_approved_in_the_portal_and_answers_in_production(
        page: Page, emulator: str, database: str, portal_url: str, tmp_path: Path):
    commands = apply_setup(page)
    checkout = project_checkout(tmp_path / "my-app")  # sample_app/ in a subdirectory, as the buildspec expects
    done = subprocess.run(["bash", "-euc", commands], cwd=checkout, capture_output=True, text=True,
                          env=git_env(tmp_path), timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    head = git(checkout, "rev-parse", "HEAD").stdout.strip()
    execution_id = execution_of(client(emulator, "codepipeline", BUILD), f"{APP}-pipeline", head, timeout=30)

    page.click("#handover-pipeline-link")
    expect(page).to_have_url(re.compile(r"/pipelines/\d+$"))
    pipeline_path = urllib.parse.urlsplit(page.url).path
    # The real build: Source, BuildAndTest (go test, go build), Deploy to staging, CreateChangeSet.
    expect(page.locator("#pipeline-waiting")).to_contain_text("Approval pending for", timeout=BUILD_DEADLINE)
    expect(stage(page, "Build")).to_contain_text("Succeeded")
    expect(stage(page, "DeployStaging")).to_contain_text("Succeeded")
    approve = stage(page, "ApproveProduction").locator('[data-action="Approve"]')
    expect(approve.locator('[data-field="status"]')).to_have_text("InProgress")
    link = approval_link(emulator)
    assert link and link.startswith(f"{portal_url}/approvals/{APP}?"), link
    assert page.problems == []

    add_approver(database, "avery")
    sign_in(page, "avery")
    page.goto(link)
    expect(page).to_have_url(re.compile(r"/pipelines/\d+/approval$"))
    expect(page.locator("h1")).to_have_text(f"Production approval: {APP}")
    waiting = page.locator("#approval-waiting")
    expect(waiting).to_contain_text(execution_id)
    # The worker reads the production change set once the page asks; the page reloads itself when it is stored.
    function = page.locator('#change-rows [data-logical-id="HelloFunction"]')
    expect(function).to_contain_text("Add", timeout=SLOW)
    expect(function).to_contain_text("AWS::Lambda::Function")
    expect(page.locator('#change-rows [data-logical-id="HelloApi"]')).to_contain_text("Add")
    expect(page.locator("#change-counts")).to_contain_text("0 to modify · 0 to remove")
    expect(page.locator("#staging-status")).to_have_text("CREATE_COMPLETE")
    expect(page.locator("#staging-outputs")).to_contain_text("ApiUrl")
    expect(page.locator("#approval-custom-data")).to_contain_text(approvals.production_change_set_name(APP, execution_id))
    assert page.problems == []
    page.screenshot(path=SHOTS.format("approval"), full_page=True)

    page.on("dialog", lambda dialog: dialog.accept())
    page.fill("#comment", "Staging answers; the first production release")
    page.click("#approval-form button:has-text('Approve')")
    expect(page.locator(".flash-success")).to_contain_text("Approval recorded")
    expect(page.locator("#decision-status")).to_have_text("sent", timeout=SLOW)
    expect(page.locator("#decision-message")).to_contain_text("Approved: AWS took the result")

    page.goto(pipeline_path)
    expect(stage(page, "DeployProduction").locator("h2 [data-field='status']")).to_have_text("Succeeded",
                                                                                             timeout=SLOW)
    approved = stage(page, "ApproveProduction").locator('[data-action="Approve"]')
    expect(approved.locator('[data-field="status"]')).to_have_text("Succeeded")
    expect(approved.locator('[data-field="summary"]')).to_have_text(
        "Approved in the portal by avery: Staging answers; the first production release")
    expect(page.locator("#pipeline-state")).to_have_text("Succeeded")
    assert page.problems == []
    page.screenshot(path=SHOTS.format("pipeline"), full_page=True)

    production = client(emulator, "cloudformation", PRODUCTION).describe_stacks(
        StackName=approvals.production_stack_name(APP))["Stacks"][0]
    assert production["StackStatus"] == "CREATE_COMPLETE"
    api_url = {o["OutputKey"]: o["OutputValue"] for o in production["Outputs"]}["ApiUrl"]
    released = answer(api_url + "?name=Ada")
    assert (released["stage"], released["message"]) == ("production", "Hello, Ada!")
