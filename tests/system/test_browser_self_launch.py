"""'I'll launch it myself' in Chromium: wizard → plan → apply waits → the admins launch → pipeline deployed.

The staging and production accounts are self-launched: the portal has no way into them beforehand.
The test plays their admins: it copies the CLI command from the apply's page and runs it with each
account's admin role (the demo's OrganizationAccountAccessRole). The worker, a real Celery process,
reaches those accounts only through the observer role the admins' stacks create (the emulator's STS
checks that role's trust strictly) and carries on to the pipeline by itself.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.accounts import PRODUCTION, STAGING
from tests.system.wizard import start_setup
from tests.worker import admin_launch
from tests.worker.celery_helpers import WorkerProcess

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BROKER = "redis://127.0.0.1:6379/10"  # this module's own database on the local Redis
APP = "mine-api"
SCREENSHOTS = "/tmp/portal-self-launch-{}.png"
WAIT = 120_000  # the admins' CLI waits 5 s for its change set; the pipeline stack follows


def choose_self_launch_for_the_deploy_accounts(page: Page) -> None:
    start_setup(page, APP)
    for index in (1, 2):  # staging, production: "Its admin launches the stack"
        page.check(f"#accounts-{index}-method-1")
        expect(page.locator(f"#accounts-{index}-role_name")).to_be_hidden()
    explanation = page.locator(f"#account-{STAGING} .self-launch-help")
    expect(explanation).to_contain_text("The portal needs no access to this account")
    expect(explanation).to_contain_text(f"{APP}-portal-observer-role, a read-only role only the portal may assume")
    page.screenshot(path=SCREENSHOTS.format("1-access"), full_page=True)
    page.click("button:has-text('Next')")
    expect(page.locator("h1")).to_contain_text(APP)


def test_self_launched_accounts_deploy_the_pipeline_once_their_admins_launch(
        page: Page, emulator: str, tmp_path, worker: WorkerProcess):
    choose_self_launch_for_the_deploy_accounts(page)
    page.click("button:has-text('Request the plan')")
    expect(page.locator("#plan-status")).to_have_text("succeeded", timeout=WAIT)
    plan = page.locator("#plan")
    expect(plan.locator(".action-self_launch")).to_have_count(2)
    expect(plan.locator("tr.change-row", has_text="PortalObserverRole")).to_have_count(2)
    expect(plan.locator("pre.copy code", has_text="PortalPrincipalArn=arn:aws:iam::123456789012:user/moto")) \
        .to_have_count(2)
    page.screenshot(path=SCREENSHOTS.format("2-plan"), full_page=True)

    page.click("button:has-text('Apply this plan')")
    expect(page.locator("h1")).to_have_text(re.compile(r"Apply #\d+"))
    expect(page.locator("#operation-status")).to_have_text("waiting", timeout=WAIT)
    expect(page.locator(".stack-reason", has_text="cannot assume")).to_have_count(2, timeout=WAIT)
    page.screenshot(path=SCREENSHOTS.format("3-waiting"), full_page=True)

    # Each admin copies the command from the page and runs it in their own account.
    admins = []
    for account in (STAGING, PRODUCTION):
        section = page.locator("section.live-stack").filter(has_text=f"{APP}-deploy-dependencies").filter(
            has_text=f"account {account}")
        command = section.locator("pre.copy[aria-label='AWS CLI command'] code").inner_text()
        admins.append(admin_launch.launch(command, emulator, account, "us-east-1", tmp_path))
    try:
        expect(page.locator("#operation-status")).to_have_text("succeeded", timeout=WAIT)
    finally:
        printed = [admin_launch.finish(admin) for admin in admins]
    result = page.locator("#result")
    expect(result).to_contain_text(f"{APP}-pipeline")
    expect(page.locator(".stack-status .cfn-ok", has_text="CREATE_COMPLETE")).to_have_count(3)
    page.screenshot(path=SCREENSHOTS.format("4-deployed"), full_page=True)
    assert all("Traceback" not in text for text in printed), printed
    assert page.problems == []
