"""The whole system in Chromium: wizard → plan → review → apply with live events → outputs → teardown; then a
failure, its root cause, a new plan and a recovery.

Everything is real: the emulator over HTTP (demo accounts, paced stack events, an injected failure), a
``celery -A worker.celery_app worker`` subprocess on its own Redis database, and the portal on a real
HTTP server; portal and worker share one SQLite file.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from emulator.client import control
from tests.accounts import STAGING
from tests.system.wizard import start_setup

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BROKER = "redis://127.0.0.1:6379/7"  # this test's own database on the local Redis
SCREENSHOTS = "/tmp/portal-deploy-{}.png"
# Plans and applies take a few seconds on the emulator; generous, so a busy machine does not fail them.
SLOW = 45_000


def walk_the_wizard(page: Page, name: str) -> None:
    start_setup(page, name)
    # Every account: assume the demo's OrganizationAccountAccessRole (the default answer).
    expect(page.locator("fieldset.account")).to_have_count(3)
    page.click("button:has-text('Next')")
    expect(page.locator("h1")).to_contain_text(name)


def request_a_reviewed_plan(page: Page) -> None:
    """Ask for a plan and wait (the page reloads itself) until its changes are listed."""
    page.click("button:has-text('Request the plan')")
    expect(page.locator("#plan-status")).to_have_text("succeeded", timeout=SLOW)


def apply_and_wait(page: Page, status: str) -> None:
    page.click("button:has-text('Apply this plan')")
    expect(page.locator("h1")).to_have_text(re.compile(r"Apply #\d+"))
    expect(page.locator("#operation-status")).to_have_text(status, timeout=SLOW)


def test_deploys_a_setup_from_the_wizard_to_its_outputs(page: Page):
    walk_the_wizard(page, "shop-api")
    request_a_reviewed_plan(page)

    # Review: every stack is created, with every resource listed; nothing has run yet.
    plan = page.locator("#plan")
    expect(plan.locator(".action-create")).to_have_count(3)
    expect(plan.locator("tr.change-row", has_text="CloudFormationExecutionRole")).to_have_count(2)
    expect(plan.locator("tr.change-row", has_text="AWS::CodePipeline::Pipeline")).to_have_count(1)
    page.screenshot(path=SCREENSHOTS.format("1-plan"), full_page=True)

    page.click("button:has-text('Apply this plan')")
    expect(page.locator("h1")).to_have_text(re.compile(r"Apply #\d+"))
    # Once the worker has the three stacks, the page stays put and its script appends the events: the
    # build stack's come last (after both deploy stacks), and the marker shows no reload brought them.
    expect(page.locator("section.live-stack")).to_have_count(3, timeout=SLOW)
    page.evaluate("window.stillTheSamePage = true")
    build_events = page.locator("#events-" + page.locator("section.live-stack").nth(2).get_attribute("data-stack-id"))
    expect(build_events.locator("tr[data-event-id]").first).to_be_visible(timeout=SLOW)
    assert page.evaluate("window.stillTheSamePage === true")
    page.screenshot(path=SCREENSHOTS.format("2-apply-live"), full_page=True)

    expect(page.locator("#operation-status")).to_have_text("succeeded", timeout=SLOW)
    result = page.locator("#result")
    # The stack's clone URL, which the emulator points at its own git server (emulator/codecommit).
    expect(result).to_contain_text(re.compile(r"http://127\.0\.0\.1:\d+/v1/repos/shop-api"))
    # That URL is not AWS's host, so the commands push to it over HTTP as it is (worker/links.py).
    expect(result.locator("pre.copy code", has_text=re.compile(r"git remote add aws http://127\.0\.0\.1:\d+/v1/repos/shop-api"))).to_be_visible()
    expect(result).to_contain_text("shop-api-pipeline")
    expect(page.locator(".stack-status .cfn-ok", has_text="CREATE_COMPLETE")).to_have_count(3)
    page.screenshot(path=SCREENSHOTS.format("3-outputs"), full_page=True)

    # Tear it down again: the portal's stacks go, the bucket is emptied first, the application stacks stay.
    page.click("text=← shop-api")
    page.click("text=Tear down…")
    expect(page.locator("#what-stays")).to_contain_text("shop-api-staging")
    page.fill("#confirmation", "shop-api")
    page.click("button:has-text('Delete these stacks')")
    expect(page.locator("h1")).to_have_text(re.compile(r"Teardown #\d+"))
    expect(page.locator("#operation-status")).to_have_text("succeeded", timeout=SLOW)
    expect(page.locator(".stack-status .cfn-ok", has_text="DELETE_COMPLETE")).to_have_count(3)
    expect(page.locator("text=Emptied the artifact bucket shop-api-artifacts-111111111111-us-east-1")).to_be_visible()
    page.screenshot(path=SCREENSHOTS.format("7-teardown"), full_page=True)
    assert page.problems == []


def test_shows_the_root_cause_then_recovers_with_a_new_plan(page: Page, emulator: str):
    walk_the_wizard(page, "pay-api")
    control(emulator, "failures", {"type": "resource", "logical_id": "CloudFormationExecutionRole",
                                   "stack_name": "pay-api-deploy-dependencies", "account_id": STAGING,
                                   "reason": "Role quota exceeded in this account", "count": 1})
    request_a_reviewed_plan(page)
    apply_and_wait(page, "failed")

    cause = page.locator("#root-cause")
    expect(cause).to_contain_text("CloudFormationExecutionRole")
    expect(cause).to_contain_text("AWS::IAM::Role")
    expect(cause).to_contain_text(STAGING)
    expect(page.locator("blockquote.reason")).to_contain_text("Role quota exceeded in this account")
    expect(page.locator("#failure .cfn-bad", has_text="ROLLBACK_COMPLETE")).to_be_visible()
    page.screenshot(path=SCREENSHOTS.format("4-failure"), full_page=True)

    page.click("button:has-text('Plan again')")
    expect(page.locator("#plan-status")).to_have_text("succeeded", timeout=SLOW)
    plan = page.locator("#plan")
    expect(plan.locator(".action-recreate")).to_have_count(1)
    expect(plan.locator(".alert.recreate")).to_contain_text("ROLLBACK_COMPLETE")
    page.screenshot(path=SCREENSHOTS.format("5-replan"), full_page=True)

    page.click("button:has-text('Apply this plan')")
    expect(page.locator("#operation-status")).to_have_text("succeeded", timeout=SLOW)
    expect(page.locator("#result")).to_contain_text("pay-api-pipeline")
    page.screenshot(path=SCREENSHOTS.format("6-recovered"), full_page=True)
    # Chromium logs nothing else; the failed apply's page is not an error page.
    assert page.problems == []

