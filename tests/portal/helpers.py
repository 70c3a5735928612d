"""Constants and helpers the portal tests share (fixtures are in conftest.py)."""
from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from typing import Any

from portal.setups import document_rules
from tests.accounts import BUILD, PRODUCTION, STAGING  # noqa: F401 - portal tests import them from here

PASSWORD = "correct horse battery staple"
TEST_BROKER_URL = "redis://127.0.0.1:6379/9"
TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"
CSRF_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
ROLES = ("admin", "operator", "approver", "viewer")

STAGE_PARAMETERS = {
    "staging": {"LogLevel": "DEBUG", "Greeting": "Hello", "MemorySize": 128, "LogRetentionInDays": 14},
    "production": {"LogLevel": "INFO", "Greeting": "Hello", "MemorySize": 256, "LogRetentionInDays": 90},
}


def portal_config(database_url: str, **overrides: Any) -> dict[str, Any]:
    return {
        "DATABASE_URL": database_url,
        "MIGRATE_ON_START": False,  # tests/conftest.py's database_url is migrated already
        "SECRET_KEY": TEST_SECRET,
        "CELERY_BROKER_URL": TEST_BROKER_URL,
        "SAMPLE_APP_CONFIG_DIR": "/nonexistent",
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",  # fast hashing: tests create many users
        "EMULATOR_URL": "",  # against AWS, whatever the shell running the tests points AWS_ENDPOINT_URL at
        # Tests change a snapshot and poll at once; tests/portal/test_pipeline_live_keys.py tests the reuse.
        "LIVE_CACHE_SECONDS": 0,
        **overrides,
    }


def default_team(session) -> int:
    """The id of the team migration 0008 makes, which holds every setup the fixtures make."""
    from sqlalchemy import select

    from core.models import DEFAULT_TEAM, Team

    return session.scalar(select(Team.id).where(Team.name == DEFAULT_TEAM))


def csrf_token(client, page: str) -> str:
    """Return the CSRF token of the form on ``page``."""
    response = client.get(page)
    match = CSRF_TOKEN.search(response.get_data(as_text=True))
    assert match, f"no CSRF token on {page} ({response.status_code})"
    return match.group(1)


def submit(client, page: str, data: dict[str, Any], action: str | None = None, **kwargs):
    """Post ``data`` to the form on ``page`` (or to ``action``) with the page's CSRF token."""
    return client.post(action or page, data={**data, "csrf_token": csrf_token(client, page)}, **kwargs)


class AuthActions:
    def __init__(self, client):
        self._client = client

    def login(self, username: str = "operator", password: str = PASSWORD, **kwargs):
        return submit(self._client, "/login", {"username": username, "password": password}, **kwargs)

    def logout(self):
        return submit(self._client, "/", {}, action="/logout")


def setup_values(**overrides: Any) -> dict[str, Any]:
    """A complete, valid setup document."""
    values = {
        "build_account_id": BUILD, "staging_account_id": STAGING, "production_account_id": PRODUCTION,
        "region": "eu-west-1", "name": "orders-api", "branch": "main", "source_provider": "CodeCommit",
        "connection_arn": "", "full_repository_id": "", "approval_email": "team@example.com",
        "tags": {"team": "payments"}, "stage_parameters": STAGE_PARAMETERS,
    }
    values.update(overrides)
    values.setdefault("access", document_rules.default_access(document_rules.distinct_accounts(values)))
    return values




ERROR_LIST = re.compile(r'<ul class="errors" id="([^"]+)-error">(.*?)</ul>', re.S)
ERROR_ITEM = re.compile(r'<li class="error">(.*?)</li>', re.S)


def field_errors(page: str) -> dict[str, list[str]]:
    """Return the messages shown next to each field of a rendered form, by field id."""
    return {field: [html.unescape(item) for item in ERROR_ITEM.findall(block)]
            for field, block in ERROR_LIST.findall(page)}


class _FormReader(HTMLParser):
    """Collect the name/value pairs a browser would send from a form's HTML."""

    def __init__(self):
        super().__init__()
        self.values: dict[str, str] = {}
        self._select: str | None = None
        self._select_first: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "button"):
            if a.get("type") in ("radio", "checkbox"):
                if "checked" in a:
                    self.values[name] = a.get("value", "on")
            else:
                self.values.setdefault(name, a.get("value", ""))
        elif tag == "select" and name:
            self._select, self._select_first = name, None
        elif tag == "option" and self._select:
            if self._select_first is None:
                self._select_first = a.get("value", "")
                self.values[self._select] = self._select_first
            if "selected" in a:
                self.values[self._select] = a.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.values[name] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            # The HTML parser keeps the newline that follows <textarea>; a browser drops it.
            self.values[self._textarea] += data.removeprefix("\n") if not self.values[self._textarea] else data


def form_values(page: str) -> dict[str, str]:
    """Return the values a browser would post from the page's main form (not the sign-out button)."""
    start = page.find('<form method="post" novalidate')
    reader = _FormReader()
    reader.feed(page[start:page.find("</form>", start)])
    return reader.values


def fill(client, page: str, **changes: str):
    """Open ``page``, change some of its form's fields and post it, like a person in a browser."""
    response = client.get(page)
    assert response.status_code == 200, (page, response.status_code)
    data = {**form_values(response.get_data(as_text=True)), **changes}
    return client.post(page, data={key: value for key, value in data.items() if value is not None})
