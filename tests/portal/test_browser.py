"""A person in Chromium walks the wizard, makes a mistake on each step, fixes it and asks for a plan."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from core import validation as v
from tests.portal.helpers import BUILD, PASSWORD, STAGING, TEST_BROKER_URL, TEST_SECRET
from tests.portal.live import chromium_page, serve_portal

SCREENSHOTS = "/tmp/portal-browser-{}.png"
CONNECTION = f"arn:aws:codeconnections:eu-west-1:{BUILD}:connection/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"


@pytest.fixture
def live_portal(tmp_path, broker):
    """The portal on a real HTTP server on a free port, with a fresh, migrated SQLite database."""
    with serve_portal({
        "DATABASE_URL": f"sqlite:///{tmp_path / 'browser.db'}", "SECRET_KEY": TEST_SECRET,
        "CELERY_BROKER_URL": TEST_BROKER_URL, "SAMPLE_APP_CONFIG_DIR": "/nonexistent",
    }) as url:
        yield url


@pytest.fixture
def page(live_portal):
    # Chromium logs the wizard's deliberate 422 answers to invalid input; those are expected.
    with chromium_page(live_portal, expected_error=lambda text: "status of 422" in text) as page:
        yield page


def error_next_to(page, field_id: str):
    return page.locator(f"#{field_id}-error")


@pytest.mark.browser
def test_walks_the_wizard_fixing_a_mistake_on_each_step(page, broker):
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=%2F$"))
    page.fill("#username", "olivia")
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.click("text=New setup")

    # Step 1: a short account id, then shared staging and production accounts.
    page.fill("#build_account_id", "12345")
    page.fill("#staging_account_id", STAGING)
    page.fill("#production_account_id", STAGING)
    page.select_option("#region", "eu-west-1")
    page.click("button:has-text('Next')")
    expect(error_next_to(page, "build_account_id")).to_have_text(
        "An AWS account ID is exactly 12 digits, e.g. 123456789012.")
    page.screenshot(path=SCREENSHOTS.format("1-accounts-error"), full_page=True)
    page.fill("#build_account_id", BUILD)
    expect(page.locator("#account-sharing")).to_contain_text(
        f"Staging and production share account {STAGING}: one deploy stack serves both.")
    page.click("button:has-text('Next')")

    # Step 2: a name AWS would refuse, and a GitHub connection in the wrong account.
    expect(page.locator("h2")).to_have_text("2. Application")
    expect(page.locator("#connection_arn")).to_be_hidden()
    page.fill("#name", "Orders API")
    page.check("#source_provider-1")
    expect(page.locator("#connection_arn")).to_be_visible()
    page.fill("#connection_arn", CONNECTION.replace(BUILD, STAGING))
    page.fill("#full_repository_id", "octo-org/orders-api")
    page.fill("#tags", "team=payments")
    page.click("button:has-text('Next')")
    expect(error_next_to(page, "name")).to_have_text("Use only lowercase letters (a-z), digits and hyphens.")
    expect(error_next_to(page, "connection_arn")).to_contain_text(
        f"The connection must belong to the build account {BUILD}")
    page.screenshot(path=SCREENSHOTS.format("2-application-error"), full_page=True)
    page.fill("#name", "orders-api")
    page.fill("#connection_arn", CONNECTION)
    page.click("button:has-text('Next')")

    # Step 3: two distinct accounts; an external id too short, then the staging admin launches it.
    expect(page.locator("fieldset.account")).to_have_count(2)
    page.fill("#accounts-0-external_id", "x")
    page.check("#accounts-1-method-1")
    expect(page.locator("#accounts-1-role_name")).to_be_hidden()
    page.click("button:has-text('Next')")
    expect(error_next_to(page, "accounts-0-external_id")).to_have_text(
        "An external ID is 2 to 1224 letters, digits or + = , . @ : / _ - characters.")
    page.screenshot(path=SCREENSHOTS.format("3-access-error"), full_page=True)
    page.fill("#accounts-0-external_id", "tenant-42")
    page.click("button:has-text('Next')")

    # Review: the plan of stacks, then ask for the real plan.
    expect(page.locator("h1")).to_contain_text("orders-api")
    expect(page.get_by_role("cell", name="orders-api-deploy-dependencies")).to_be_visible()
    expect(page.locator("text=the account's admin launches the stack from a quick-create link")).to_be_visible()
    page.click("button:has-text('Request the plan')")
    expect(page.locator(".flash-success")).to_contain_text("requested: it is pending until a worker picks it up.")
    expect(page.locator("#operations .status-pending")).to_have_text("pending")
    page.screenshot(path=SCREENSHOTS.format("4-review"), full_page=True)

    assert broker.llen("celery") == 1
    assert page.problems == []


@pytest.mark.browser
def test_back_and_the_step_tabs_keep_what_was_typed(page, broker):
    page.goto("/login")
    page.fill("#username", "olivia")
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.click("text=New setup")
    page.fill("#build_account_id", "1111-1111-1111")  # as the AWS console shows it
    page.fill("#staging_account_id", STAGING)
    page.fill("#production_account_id", STAGING)
    expect(page.locator("#account-sharing")).to_contain_text(f"Staging and production share account {STAGING}")
    page.select_option("#region", "eu-west-1")
    page.click("button:has-text('Next')")

    # Type, go Back, come forward again: the typing is there.
    page.fill("#name", "orders-api")
    page.fill("#tags", "team=payments")
    page.click("button:has-text('Back')")
    expect(page.locator("h2")).to_have_text("1. Accounts and region")
    expect(page.locator("#build_account_id")).to_have_value(BUILD)
    page.click("button:has-text('Next')")
    expect(page.locator("#name")).to_have_value("orders-api")
    expect(page.locator("#tags")).to_have_value("team=payments")

    # A step tab saves the same way.
    page.fill("#branch", "develop")
    page.click(".steps a:has-text('Accounts')")
    expect(page.locator("h2")).to_have_text("1. Accounts and region")
    page.click(".steps a:has-text('Application')")
    expect(page.locator("#branch")).to_have_value("develop")

    # A mistake is not saved, and not dropped either: the page says so and keeps it.
    page.fill("#name", "Orders API")
    page.click(".steps a:has-text('Accounts')")
    expect(page.locator("#unsaved")).to_contain_text("Your answers on this step are not saved yet")
    expect(page.locator("#name")).to_have_value("Orders API")
    expect(page.locator("#name")).to_have_attribute("maxlength", str(v.APPLICATION_NAME_MAX))
    page.click("#unsaved a:has-text('Leave without saving')")
    expect(page.locator("h2")).to_have_text("1. Accounts and region")
    page.click("button:has-text('Next')")
    expect(page.locator("#name")).to_have_value("orders-api")
    assert broker.llen("celery") == 0
    assert page.problems == []
