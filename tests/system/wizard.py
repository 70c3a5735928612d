"""Steps of the setup wizard the browser journeys share."""
from __future__ import annotations

from playwright.sync_api import Page

from tests.accounts import BUILD, PRODUCTION, STAGING


def start_setup(page: Page, name: str) -> None:
    """Give the wizard the demo accounts, us-east-1 and ``name``; stop on the access step."""
    page.click("text=New setup")
    page.fill("#build_account_id", BUILD)
    page.fill("#staging_account_id", STAGING)
    page.fill("#production_account_id", PRODUCTION)
    page.select_option("#region", "us-east-1")
    page.click("button:has-text('Next')")
    page.fill("#name", name)
    page.click("button:has-text('Next')")
