"""Role checks on every action: a 403 page, and an audit entry for the refused attempt."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.models import AuditEntry
from portal.db import get_session
from tests.portal.helpers import submit

# (method, path, roles allowed); {setup} is a ready setup's id.
ACTIONS = [
    ("GET", "/setups/new", {"admin", "operator"}),
    ("GET", "/setups/{setup}/accounts", {"admin", "operator"}),
    ("GET", "/setups/{setup}/application", {"admin", "operator"}),
    ("GET", "/setups/{setup}/access", {"admin", "operator"}),
    ("POST", "/setups/{setup}/plan", {"admin", "operator"}),
    ("GET", "/setups/{setup}", {"admin", "operator", "approver", "viewer"}),
    ("GET", "/setups/{setup}/deployments", {"admin", "operator", "approver", "viewer"}),
    ("GET", "/setups/{setup}/settings", {"admin", "operator", "approver", "viewer"}),
    ("GET", "/", {"admin", "operator", "approver", "viewer"}),
    ("GET", "/admin/users", {"admin"}),
    ("POST", "/admin/users", {"admin"}),
    ("GET", "/admin/users/{user}", {"admin"}),
    ("GET", "/admin/teams", {"admin"}),
    # Members read their teams' entries (tests/portal/test_teams.py).
    ("GET", "/admin/audit", {"admin", "operator", "approver", "viewer"}),
]


@pytest.mark.parametrize("role", ["operator", "approver", "viewer"])
def test_refuses_actions_outside_the_role_with_a_403_page(app, client, auth, users, make_setup, role):
    setup_id = make_setup()
    auth.login(role)
    for method, path, allowed in ACTIONS:
        if role in allowed:
            continue
        url = path.format(setup=setup_id, user=users["viewer"])
        response = submit(client, "/", {}, action=url) if method == "POST" else client.get(url)
        assert response.status_code == 403, (method, url)
        assert "Your role does not allow this." in response.get_data(as_text=True)


@pytest.mark.parametrize("role", ["admin", "operator", "approver", "viewer"])
def test_allows_the_pages_of_the_role(client, auth, users, make_setup, role):
    setup_id = make_setup()
    auth.login(role)
    for method, path, allowed in ACTIONS:
        if role in allowed and method == "GET":
            url = path.format(setup=setup_id, user=users["viewer"])
            assert client.get(url).status_code == 200, url


def test_audits_refused_attempts(app, client, auth, users, make_setup):
    setup_id = make_setup()
    auth.login("viewer")
    submit(client, "/", {}, action=f"/setups/{setup_id}/plan")
    with app.app_context():
        entry = get_session().scalars(select(AuditEntry).where(AuditEntry.outcome == "denied")).one()
    assert (entry.actor, entry.action, entry.target, entry.message) == (
        "viewer", "setup.plan", f"/setups/{setup_id}/plan", f"POST /setups/{setup_id}/plan")


def test_hides_links_the_role_cannot_use(client, auth, users, make_setup):
    make_setup()
    auth.login("viewer")
    page = client.get("/").get_data(as_text=True)
    assert "New setup" not in page and "Resume" not in page and "Users" not in page and "Teams" not in page
    auth.logout()
    auth.login("admin")
    page = client.get("/").get_data(as_text=True)
    assert "New setup" in page and "Audit log" in page and "Users" in page and "Teams" in page
