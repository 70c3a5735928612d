"""Signing in and out: CSRF on every form, throttled failures, everything audited."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from core.models import AuditEntry, User
from portal.db import get_session
from tests.portal.helpers import PASSWORD, csrf_token, submit


def audit_entries(app, action=None):
    with app.app_context():
        query = select(AuditEntry).order_by(AuditEntry.id)
        if action:
            query = query.where(AuditEntry.action == action)
        return [(e.actor, e.action, e.outcome, e.message) for e in get_session().scalars(query)]


def test_signs_in_and_lands_on_the_requested_page(client, auth, users):
    response = submit(client, "/login", {"username": "operator", "password": PASSWORD},
                      action="/login?next=/account/tokens")
    assert response.status_code == 302 and response.headers["Location"] == "/account/tokens"
    assert "operator" in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example"])
def test_does_not_redirect_off_site_after_sign_in(client, users, target):
    response = submit(client, "/login", {"username": "operator", "password": PASSWORD}, action=f"/login?next={target}")
    assert response.headers["Location"] == "/"


def test_refuses_a_post_without_csrf_token(client, users):
    response = client.post("/login", data={"username": "operator", "password": PASSWORD})
    assert response.status_code == 400
    assert "without a valid security token" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302  # not signed in


def test_refuses_a_signed_in_post_without_csrf_token_and_audits_it(app, client, auth, users):
    auth.login()
    response = client.post("/setups/new", data={"build_account_id": "111111111111"})
    assert response.status_code == 400
    assert ("operator", "csrf", "denied") in [entry[:3] for entry in audit_entries(app)]


@pytest.mark.parametrize("username, password", [("operator", "wrong password!"), ("nobody", PASSWORD)])
def test_wrong_credentials_get_one_message_and_an_audit_entry(app, client, users, username, password):
    response = submit(client, "/login", {"username": username, "password": password})
    assert "Wrong username or password." in response.get_data(as_text=True)
    assert audit_entries(app, "auth.login") == [(username, "auth.login", "failed", "Wrong username or password.")]


def test_inactive_users_cannot_sign_in(app, client, auth, make_user):
    make_user("gone", "operator", active=False)
    assert "Wrong username or password." in auth.login("gone").get_data(as_text=True)
    assert audit_entries(app, "auth.login")[-1][2:] == ("failed", "inactive user")


def test_deactivation_signs_a_user_out(app, client, auth, users):
    auth.login("viewer")
    with app.app_context():
        get_session().get(User, users["viewer"]).is_active = False
        get_session().commit()
    assert client.get("/").status_code == 302


def test_locks_sign_in_after_five_failures_with_a_clear_message(app, client, auth, users):
    for _ in range(5):
        assert auth.login("operator", "wrong password!").status_code == 200
    response = auth.login("operator", PASSWORD)  # the right password no longer helps
    assert response.status_code == 429
    assert "Too many failed sign-in attempts." in response.get_data(as_text=True)
    assert "try again in 15 minutes" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302
    assert audit_entries(app, "auth.login")[-1][:3] == ("operator", "auth.login", "denied")
    # Another username from the same address is not locked by operator's failures.
    assert auth.login("viewer").status_code == 302


def test_failures_older_than_the_window_do_not_count(app, client, auth, users):
    with app.app_context():
        session = get_session()
        old = datetime.now(UTC) - timedelta(minutes=16)
        session.add_all([AuditEntry(actor="operator", action="auth.login", outcome="failed", at=old,
                                    remote_addr="127.0.0.1") for _ in range(5)])
        session.commit()
    assert auth.login("operator").status_code == 302


def test_a_success_resets_the_failure_count(client, auth, users):
    for _ in range(4):
        auth.login("operator", "wrong password!")
    auth.login("operator")
    auth.logout()
    for _ in range(4):
        auth.login("operator", "wrong password!")
    assert auth.login("operator").status_code == 302


def test_locks_an_address_trying_many_usernames(app, client, auth, users):
    app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"] = 3
    for name in ("a", "b", "c"):
        auth.login(name, "wrong password!")
    assert auth.login("viewer").status_code == 429


def test_counts_failed_sign_ins_on_the_user(app, auth, users, load):
    auth.login("approver", "wrong password!")
    assert load(User, users["approver"]).failed_logins == 1


def test_sign_out_needs_a_post_with_csrf_and_is_audited(app, client, auth, users):
    auth.login()
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert auth.logout().status_code == 302
    assert client.get("/").status_code == 302
    assert ("operator", "auth.logout", "success") in [entry[:3] for entry in audit_entries(app)]


def test_sign_in_starts_a_fresh_session(client, auth, users):
    before = csrf_token(client, "/login")
    auth.login()
    # The anonymous session's CSRF token does not carry over into the signed-in session.
    assert client.post("/logout", data={"csrf_token": before}).status_code == 400


def test_changes_password(app, client, auth, users):
    auth.login("viewer")
    response = submit(client, "/account/password", {"current_password": PASSWORD, "new_password": "a brand new secret",
                                                     "confirm": "a brand new secret"})
    assert response.status_code == 302
    auth.logout()
    assert auth.login("viewer", PASSWORD).status_code == 200
    assert auth.login("viewer", "a brand new secret").status_code == 302
    assert ("viewer", "auth.password", "success") in [entry[:3] for entry in audit_entries(app)]


@pytest.mark.parametrize("current, new, confirm, message", [
    ("wrong one!", "a brand new secret", "a brand new secret", "This is not your current password."),
    (PASSWORD, "short", "short", "Use at least 12 characters."),
    (PASSWORD, "a brand new secret", "another secret!!", "The passwords differ."),
    (PASSWORD, "VIEWER", "VIEWER", "Use at least 12 characters."),
])
def test_refuses_bad_password_changes(client, auth, users, current, new, confirm, message):
    auth.login("viewer")
    response = submit(client, "/account/password", {"current_password": current, "new_password": new,
                                                     "confirm": confirm})
    assert response.status_code == 422 and message in response.get_data(as_text=True)
