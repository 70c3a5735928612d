"""The dashboard in Chromium: wizard → plan → apply → the pipeline page; a push (the emulator's control
API) advances the stages live, without a reload; a failed build is retried from the page; a release is
started from it.

Everything is real: the emulator over HTTP, a ``celery -A worker.celery_app worker`` subprocess whose
own timer reads the pipeline, the portal on a real HTTP server; portal and worker share one SQLite file.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from emulator.client import control
from tests.accounts import BUILD
from tests.system.wizard import start_setup

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BROKER = "redis://127.0.0.1:6379/11"  # this module's own database on the local Redis
SCREENSHOTS = "/tmp/portal-dashboard-{}.png"
SLOW = 45_000
LIVE = 5_000  # a change of the pipeline's state shows in an open page within 5 s


@pytest.fixture(scope="module", autouse=True)
def _timed_actions(emulator: str) -> None:
    """The page shows executions advancing; with nothing built to deploy, the deploy actions are timed
    stand-ins (their real work is tests/emulator/test_deploy_action_journey.py)."""
    control(emulator, "actions", {"simulate": True})


def deploy(page: Page, name: str) -> None:
    start_setup(page, name)
    page.click("button:has-text('Next')")
    page.click("button:has-text('Request the plan')")
    expect(page.locator("#plan-status")).to_have_text("succeeded", timeout=SLOW)
    page.click("button:has-text('Apply this plan')")
    expect(page.locator("h1")).to_have_text(re.compile(r"Apply #\d+"))
    expect(page.locator("#operation-status")).to_have_text("succeeded", timeout=SLOW)


def stage(page: Page, name: str):
    return page.locator(f'[data-stage="{name}"] h2 [data-field=status]')


def test_an_operator_watches_a_push_advance_then_retries_a_failed_build(page: Page, emulator: str):
    deploy(page, "dash-api")
    page.click("text=← dash-api")
    page.click("#setup-pipeline-link")
    expect(page.locator("h1")).to_have_text("dash-api-pipeline")
    # The worker's first read comes within seconds of the page opening (the creation's execution fails:
    # the repository had no commit yet, as on AWS); the page then reloads itself once to show the stages.
    expect(page.locator("#pipeline-stages [data-stage]")).to_have_count(5, timeout=SLOW)
    expect(page.locator("#pipeline-freshness")).to_have_text(re.compile(r"State as of \d+ s ago\."))
    page.evaluate("window.stillTheSamePage = true")

    control(emulator, "pace", {"seconds": 1.0})
    control(emulator, "push", {"repository": "dash-api", "account_id": BUILD, "message": "Watch me go live"})
    # Within 5 s of the push (and a second for the browser's own poll): the page shows the new execution.
    expect(stage(page, "Source")).to_have_text(re.compile("InProgress|Succeeded"), timeout=LIVE + 1000)
    expect(stage(page, "Build")).to_have_text(re.compile("InProgress|Succeeded"), timeout=LIVE + 2000)
    expect(stage(page, "DeployStaging")).to_have_text("Succeeded", timeout=SLOW)
    expect(stage(page, "ApproveProduction")).to_have_text("InProgress", timeout=SLOW)
    expect(page.locator("#pipeline-waiting")).to_contain_text("Approval pending for", timeout=LIVE + 2000)
    assert page.evaluate("window.stillTheSamePage === true")  # every change came without a reload

    expect(page.locator("#history-stale")).to_be_visible()
    page.screenshot(path=SCREENSHOTS.format("1-live"), full_page=True)

    # A newer commit whose build fails shows its error (the older execution keeps the approval); the
    # operator retries the build from the page and it recovers.
    page.on("dialog", lambda dialog: dialog.accept())
    control(emulator, "pace", {"seconds": 0.2})
    control(emulator, "failures", {"type": "action", "stage_name": "Build", "action_name": "BuildAndTest",
                                   "reason": "Unit tests failed", "count": 1})
    control(emulator, "push", {"repository": "dash-api", "account_id": BUILD, "message": "Break the tests"})
    expect(stage(page, "Build")).to_have_text("Failed", timeout=SLOW)
    expect(page.locator('[data-stage="Build"]')).to_contain_text("Unit tests failed")
    page.screenshot(path=SCREENSHOTS.format("2-failed"), full_page=True)
    page.click('[data-stage="Build"] button:has-text("Retry failed actions")')
    expect(page.locator(".flash-success")).to_contain_text("Retry requested")
    expect(stage(page, "Build")).to_have_text("Succeeded", timeout=SLOW)
    expect(page.locator("#requests")).to_contain_text("is retrying its failed actions", timeout=SLOW)

    page.fill("input[name=reason]", "Superseded by a fix")
    page.click("button:has-text('Stop execution')")
    expect(page.locator(".flash-success")).to_contain_text("Stop requested")
    expect(page.locator("#requests")).to_contain_text("is stopping", timeout=SLOW)

    page.click("button:has-text('Start release')")
    expect(page.locator(".flash-success")).to_contain_text("Release requested")
    expect(page.locator("#requests")).to_contain_text("started.", timeout=SLOW)
    page.screenshot(path=SCREENSHOTS.format("3-released"), full_page=True)

    page.click("text=← Pipelines")
    expect(page.locator("#pipelines")).to_contain_text("dash-api")
