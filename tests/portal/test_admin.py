"""Administration: users and roles, and the append-only audit log (paged, filtered by actor and action)."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from core.models import AuditEntry, AuditLogIsAppendOnly, User
from portal.db import get_session
from tests.portal.helpers import field_errors, fill, submit


@pytest.fixture
def admin(auth, users):
    auth.login("admin")


def test_creates_a_user_who_can_sign_in(app, client, admin, auth, load):
    response = submit(client, "/admin/users", {"username": "ann", "role": "approver",
                                               "password": "a long enough password"})
    assert response.status_code == 302
    with app.app_context():
        user = get_session().scalars(select(User).where(User.username == "ann")).one()
        assert user.role == "approver" and user.password_hash.startswith("pbkdf2:")
    auth.logout()
    assert auth.login("ann", "a long enough password").status_code == 302


@pytest.mark.parametrize("data, errors", [
    ({"username": "bad name", "role": "viewer", "password": "a long enough password"},
     {"username": ["Use 1 to 64 letters, digits, '.', '_', '@' or '-'."]}),
    ({"username": "ann", "role": "root", "password": "a long enough password"},
     {"role": ["Choose admin, operator, approver or viewer."]}),
    ({"username": "ann", "role": "viewer", "password": "short"}, {"password": ["Use at least 12 characters."]}),
    ({"username": "operator", "role": "viewer", "password": "a long enough password"},
     {"username": ["The username operator is already taken."]}),
])
def test_refuses_invalid_users_next_to_the_field(client, admin, data, errors):
    response = submit(client, "/admin/users", data)
    assert response.status_code == 422 and field_errors(response.get_data(as_text=True)) == errors


def test_changes_a_role_and_deactivates(app, client, admin, users, load):
    response = fill(client, f"/admin/users/{users['viewer']}", role="operator", is_active=None)
    assert response.status_code == 302
    user = load(User, users["viewer"])
    assert (user.role, user.is_active) == ("operator", False)
    with app.app_context():
        entry = get_session().scalars(select(AuditEntry).where(AuditEntry.action == "user.update")).one()
    assert entry.detail == {"before": {"role": "viewer", "is_active": True},
                            "after": {"role": "operator", "is_active": False}}


def test_an_admin_cannot_demote_themselves(client, admin, users, load):
    response = fill(client, f"/admin/users/{users['admin']}", role="viewer")
    assert response.status_code == 422
    assert "You cannot remove your own admin role" in response.get_data(as_text=True)
    assert load(User, users["admin"]).role == "admin"


def add_entries(app, count, actor="bot", action="test.event"):
    with app.app_context():
        session = get_session()
        session.add_all([AuditEntry(actor=actor, action=action, outcome="success", target=f"t{i}")
                         for i in range(count)])
        session.commit()


def test_pages_the_audit_log_newest_first(app, client, admin):
    add_entries(app, 120)
    first = client.get("/admin/audit").get_data(as_text=True)
    assert "121 entries." in first and "Page 1 of 3" in first
    assert first.count("<td>test.event</td>") == 50
    last = client.get("/admin/audit?page=3").get_data(as_text=True)
    assert "Page 3 of 3" in last and "<td>auth.login</td>" in last  # the oldest entry is on the last page


def test_filters_the_audit_log_by_actor_and_action(app, client, admin):
    add_entries(app, 3, actor="bot", action="test.one")
    add_entries(app, 2, actor="bot", action="test.two")
    add_entries(app, 4, actor="other", action="test.one")
    page = client.get("/admin/audit?actor=bot&action=test.one").get_data(as_text=True)
    assert "3 entries match." in page
    assert len(re.findall(r"<td>bot</td><td>test\.one</td>", page)) == 3
    assert "<option value=\"test.two\">" in page  # every action is offered as a filter


def test_records_who_when_what_and_outcome(app, client, admin):
    with app.app_context():
        entry = get_session().scalars(select(AuditEntry)).one()
    assert (entry.actor, entry.action, entry.outcome, entry.remote_addr) == ("admin", "auth.login", "success",
                                                                            "127.0.0.1")
    assert entry.at is not None


def test_the_audit_log_cannot_be_changed_or_deleted(app, client, admin):
    with app.app_context():
        session = get_session()
        entry = session.scalars(select(AuditEntry)).one()
        entry.outcome = "failed"
        with pytest.raises(AuditLogIsAppendOnly):
            session.flush()
        session.rollback()
        session.delete(session.scalars(select(AuditEntry)).one())
        with pytest.raises(AuditLogIsAppendOnly):
            session.flush()
