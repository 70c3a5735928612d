"""Sessions end for good: a captured cookie replayed after sign-out, a new password, deactivation or an
admin's "sign out everywhere" signs no one in; idle and over-age sessions lapse (time is moved, not slept).
Also the headers that keep a session on HTTPS and the open-redirect shapes of ``next``."""
from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from core.models import AuditEntry, UserSession
import portal
from portal import create_app, sessions
from portal import db as portal_db
from portal.auth.routes import safe_next
from portal.db import get_session
from portal.settings import ConfigurationError, settings_from_env
from tests.portal import factories as f
from tests.portal.helpers import PASSWORD, AuthActions, csrf_token, fill, portal_config, submit

COOKIE = "portal_session"
NEW_PASSWORD = "a brand new secret"


class Clock:
    """The portal's session clock, moved by the test."""

    def __init__(self):
        self.moment = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def app(database_url, clock):
    app = create_app(portal_config(database_url, SESSION_CLOCK=clock))
    yield app
    portal_db.dispose(app)


@pytest.fixture
def browser(app):
    """Another browser: ``browser("admin")`` is a test client signed in as that user."""

    def open_browser(username: str | None = None):
        client = app.test_client()
        if username:
            assert AuthActions(client).login(username).status_code == 302
        return client

    return open_browser


def captured_cookie(client) -> str:
    return client.get_cookie(COOKIE).value


def replay(app, cookie: str):
    """Send a copied session cookie from a client of its own, as a thief would."""
    thief = app.test_client()
    thief.set_cookie(COOKIE, cookie)
    return thief.get("/")


def signed_in(response) -> bool:
    if response.status_code == 302:
        assert response.headers["Location"].startswith("/login")
        return False
    assert response.status_code == 200
    return True


def test_a_captured_cookie_stops_working_after_sign_out(app, client, auth, users):
    auth.login("viewer")
    cookie = captured_cookie(client)
    assert signed_in(replay(app, cookie))
    auth.logout()
    assert not signed_in(replay(app, cookie))


def test_sign_out_ends_the_users_sessions_in_other_browsers_too(app, auth, users, browser):
    laptop = browser("viewer")
    auth.login("viewer")
    auth.logout()
    assert not signed_in(laptop.get("/"))


def test_a_captured_cookie_stops_working_after_a_password_change(app, client, auth, users):
    auth.login("viewer")
    cookie = captured_cookie(client)
    response = submit(client, "/account/password",
                      {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert not signed_in(replay(app, cookie))
    # The browser that changed the password goes on, in a new session.
    assert signed_in(client.get("/"))
    assert captured_cookie(client) != cookie


def test_a_captured_cookie_stays_dead_after_deactivation_and_reactivation(app, users, browser):
    viewer, admin = browser("viewer"), browser("admin")
    cookie = captured_cookie(viewer)
    assert fill(admin, f"/admin/users/{users['viewer']}", is_active=None).status_code == 302
    assert not signed_in(replay(app, cookie))
    assert fill(admin, f"/admin/users/{users['viewer']}", is_active="y").status_code == 302
    assert not signed_in(replay(app, cookie))
    assert not signed_in(viewer.get("/"))


def test_an_admin_signs_a_user_out_everywhere(app, users, browser):
    laptop, phone, admin = browser("viewer"), browser("viewer"), browser("admin")
    cookie = captured_cookie(laptop)
    page = admin.get(f"/admin/users/{users['viewer']}").get_data(as_text=True)
    assert "viewer is signed in 2 times." in page
    response = submit(admin, f"/admin/users/{users['viewer']}", {}, action=f"/admin/users/{users['viewer']}/sign-out")
    assert response.status_code == 302 and response.headers["Location"] == f"/admin/users/{users['viewer']}"
    assert "viewer is signed out everywhere (2 sessions ended)." in admin.get(response.headers["Location"]).get_data(
        as_text=True)
    assert not signed_in(laptop.get("/")) and not signed_in(phone.get("/"))
    assert not signed_in(replay(app, cookie))
    assert signed_in(admin.get("/"))
    with app.app_context():
        entry = get_session().scalars(select(AuditEntry).where(AuditEntry.action == "user.sign_out")).one()
        assert (entry.actor, entry.target, entry.outcome, entry.detail) == ("admin", "viewer", "success",
                                                                            {"sessions": 2})


def test_sign_out_everywhere_needs_csrf_and_the_users_permission(app, users, browser):
    viewer, admin, operator = browser("viewer"), browser("admin"), browser("operator")
    assert admin.post(f"/admin/users/{users['viewer']}/sign-out").status_code == 400
    response = submit(operator, "/", {}, action=f"/admin/users/{users['viewer']}/sign-out")
    assert response.status_code == 403
    assert signed_in(viewer.get("/"))


def test_sign_out_everywhere_of_an_unknown_user_is_404(users, browser):
    admin = browser("admin")
    assert submit(admin, "/", {}, action="/admin/users/999999/sign-out").status_code == 404
    assert submit(admin, "/", {}, action=f"/admin/users/{2**40}/sign-out").status_code == 404


def test_a_deactivated_users_api_tokens_stop_working(app, users, browser):
    viewer, admin = browser("viewer"), browser("admin")
    page = submit(viewer, "/account/tokens", {"name": "ci"}).get_data(as_text=True)
    token = re.search(r"lpp_[A-Za-z0-9_-]+", page).group(0)
    headers = {"Authorization": f"Bearer {token}"}
    assert app.test_client().get("/api/v1/setups", headers=headers).status_code == 200
    fill(admin, f"/admin/users/{users['viewer']}", is_active=None)
    response = app.test_client().get("/api/v1/setups", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["errors"] == {"token": ["The API token is unknown or revoked."]}


def test_a_signed_cookie_without_a_session_signs_no_one_in(app, client, auth, users):
    # Before server-side sessions, a cookie signed with the secret key and naming a user was enough.
    auth.login("viewer")
    serializer = app.session_interface.get_signing_serializer(app)
    cookie = serializer.loads(captured_cookie(client))
    del cookie["_session_token"]
    assert not signed_in(replay(app, serializer.dumps(cookie)))


def test_a_session_belongs_to_the_user_it_was_started_for(app, client, auth, users):
    auth.login("viewer")
    serializer = app.session_interface.get_signing_serializer(app)
    stolen = serializer.loads(captured_cookie(client))
    assert not signed_in(replay(app, serializer.dumps({**stolen, "_user_id": str(users["admin"])})))
    assert signed_in(replay(app, serializer.dumps(stolen)))


def test_an_idle_session_lapses(app, client, auth, users, clock):
    auth.login("viewer")
    clock.advance(minutes=29)
    assert signed_in(client.get("/"))
    clock.advance(minutes=29)  # counted from the last request, not from signing in
    assert signed_in(client.get("/"))
    clock.advance(minutes=30)
    assert not signed_in(client.get("/"))
    with app.app_context():
        assert get_session().scalars(select(UserSession)).all() == []


def test_a_page_left_open_does_not_keep_its_session_alive(app, client, auth, users, db, ready_setup, clock):
    """The live page's polls (sessions.POLL_HEADER, sent by deployments.js) are checked but are not activity."""
    applied = f.add_apply(db, ready_setup, f.add_plan(db, ready_setup), status="running")
    db.commit()
    auth.login("viewer")
    page = f"/setups/{ready_setup.id}/operations/{applied.id}"
    assert client.get(page).status_code == 200
    poll = {"headers": {sessions.POLL_HEADER: "1", "Accept": "application/json"}}
    for _ in range(5):
        clock.advance(minutes=5)
        assert client.get(f"{page}/events?after=0", **poll).status_code == 200
    clock.advance(minutes=6)  # 31 minutes since the person last did anything
    assert client.get(f"{page}/events?after=0", **poll).status_code == 302
    assert not signed_in(client.get("/"))


def test_the_same_requests_without_the_poll_header_are_activity(client, auth, users, db, ready_setup, clock):
    applied = f.add_apply(db, ready_setup, f.add_plan(db, ready_setup), status="running")
    db.commit()
    auth.login("viewer")
    events = f"/setups/{ready_setup.id}/operations/{applied.id}/events?after=0"
    for _ in range(7):
        clock.advance(minutes=5)
        assert client.get(events).status_code == 200
    assert signed_in(client.get("/"))


def test_the_live_pages_send_the_poll_header_with_every_poll():
    script = (Path(portal.__file__).parent / "static" / "js" / "deployments.js").read_text()
    assert f'"{sessions.POLL_HEADER}": "1"' in script
    assert script.count("fetch(") == script.count("POLL)") == 2


def test_a_busy_session_lapses_at_its_absolute_lifetime(client, auth, users, clock):
    auth.login("viewer")
    for _ in range(23):
        clock.advance(minutes=20)
        assert signed_in(client.get("/"))
    clock.advance(minutes=20)  # 8 hours after signing in
    assert not signed_in(client.get("/"))


def test_a_request_does_not_extend_the_cookie(client, auth, users):
    auth.login("viewer")
    client.get("/")  # the first page stores the session's CSRF token
    assert "Set-Cookie" not in client.get("/").headers


def test_session_limits_come_from_the_environment(app, client, auth, users, clock):
    limits = settings_from_env({"PORTAL_SESSION_IDLE_MINUTES": "5", "PORTAL_SESSION_LIFETIME_HOURS": "1"})
    assert (limits["SESSION_IDLE_TIMEOUT"], limits["PERMANENT_SESSION_LIFETIME"]) == (timedelta(minutes=5),
                                                                                      timedelta(hours=1))
    assert limits["WTF_CSRF_TIME_LIMIT"] == 3600
    app.config["SESSION_IDLE_TIMEOUT"] = limits["SESSION_IDLE_TIMEOUT"]
    auth.login("viewer")
    clock.advance(minutes=4)
    assert signed_in(client.get("/"))
    clock.advance(minutes=5)
    assert not signed_in(client.get("/"))


@pytest.mark.parametrize("name, value, message", [
    ("PORTAL_SESSION_IDLE_MINUTES", "0", "PORTAL_SESSION_IDLE_MINUTES must be at least 1, not 0."),
    ("PORTAL_SESSION_IDLE_MINUTES", "ten", "PORTAL_SESSION_IDLE_MINUTES must be a whole number, not 'ten'."),
    ("PORTAL_SESSION_LIFETIME_HOURS", "-1", "PORTAL_SESSION_LIFETIME_HOURS must be a whole number, not '-1'."),
])
def test_refuses_malformed_session_limits(name, value, message):
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        settings_from_env({name: value})


def test_a_sign_in_removes_the_users_lapsed_sessions(app, client, auth, users, clock):
    auth.login("viewer")
    auth.logout()
    AuthActions(app.test_client()).login("viewer")
    clock.advance(hours=9)
    auth.login("viewer")
    with app.app_context():
        assert len(get_session().scalars(select(UserSession)).all()) == 1


@pytest.mark.both_databases(False)  # headers and redirects: the database plays no part
@pytest.mark.parametrize("proxies, base_url, headers, hsts", [
    (0, "https://portal.example", {}, True),
    (1, "http://portal.example", {"X-Forwarded-Proto": "https"}, True),
    (1, "http://portal.example", {}, False),
    # With no proxy configured, the client's own header proves nothing.
    (0, "http://portal.example", {"X-Forwarded-Proto": "https"}, False),
])
def test_sends_hsts_only_over_https(database_url, proxies, base_url, headers, hsts):
    app = create_app(portal_config(database_url, PROXY_COUNT=proxies))
    response = app.test_client().get("/login", base_url=base_url, headers=headers)
    assert response.status_code == 200
    assert response.headers.get("Strict-Transport-Security") == ("max-age=31536000" if hsts else None)
    portal_db.dispose(app)


@pytest.mark.both_databases(False)  # headers and redirects: the database plays no part
def test_sends_a_permissions_policy_on_every_page(client):
    for path in ("/login", "/healthz", "/static/css/portal.css", "/nowhere"):
        policy = client.get(path).headers["Permissions-Policy"]
        assert "camera=()" in policy and "geolocation=()" in policy and "microphone=()" in policy


# The shapes of ``next`` a browser would carry off the site, and ones it must keep.
OFF_SITE = [
    "/%09/evil.example", "/%0a/evil.example", "/%0d/evil.example", "/%0d%0a/evil.example", "%09//evil.example",
    "/%5Cevil.example", "%5C%5Cevil.example", "/%5C/evil.example", "//evil.example", "///evil.example",
    "https://evil.example/", "https:evil.example", "http:/evil.example", "javascript:alert(1)",
    "%20//evil.example", "/%E3%80%82/evil.example", "evil.example",
]


@pytest.mark.both_databases(False)  # headers and redirects: the database plays no part
@pytest.mark.parametrize("target", OFF_SITE)
def test_sign_in_never_redirects_off_site_or_fails(client, users, target):
    response = submit(client, "/login", {"username": "operator", "password": PASSWORD}, action=f"/login?next={target}")
    assert response.status_code == 302 and response.headers["Location"] == "/"


@pytest.mark.both_databases(False)  # headers and redirects: the database plays no part
@pytest.mark.parametrize("target", ["/account/tokens", "/setups/1/review?tab=plan#changes", "/%2F%2Fevil.example",
                                    "/a%09b"])
def test_sign_in_keeps_a_path_on_this_site(client, users, target):
    response = submit(client, "/login", {"username": "operator", "password": PASSWORD},
                      action="/login", query_string={"next": target})
    assert response.status_code == 302 and response.headers["Location"] == target


def browser_location(location: str) -> tuple[str, str]:
    """Resolve a Location header against the portal as a browser would: WHATWG's URL parser drops tabs
    and newlines, trims control characters and spaces, and reads a backslash as a slash."""
    cleaned = re.sub(r"[\t\n\r]", "", location).strip("".join(map(chr, range(0x21)))).replace("\\", "/")
    parts = urlsplit(urljoin("https://portal.example/login", cleaned))
    return parts.scheme, parts.netloc


NEXT_TEXT = st.text(alphabet=st.sampled_from(list("/\\\t\n\r .:@%?#-_~aZ9é\u3002\x7f\x0b")), max_size=12)
NEXT = st.builds(lambda prefix, rest: prefix + rest,
                 st.sampled_from(["", "/", "//", "\\", "/\\", "/\t/", "/\n/", " /", "https:", "https://", "%2F"]),
                 NEXT_TEXT)


@pytest.mark.both_databases(False)  # headers and redirects: the database plays no part
@settings(max_examples=400, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(target=NEXT)
def test_safe_next_only_ever_names_this_site(app, target):
    with app.test_request_context():
        location = safe_next(target)
    assert location in (target, "/")
    assert location.isascii() and location.isprintable() and " " not in location
    assert browser_location(location) == ("https", "portal.example")


@pytest.mark.both_databases(False)  # headers and redirects: the database plays no part
@settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(target=NEXT.filter(lambda text: "\x00" not in text))
def test_sign_in_answers_any_next_with_a_redirect_on_this_site(app, users, target):
    client = app.test_client()
    response = client.post("/login", query_string={"next": target}, data={
        "username": "operator", "password": PASSWORD, "csrf_token": csrf_token(client, "/login")})
    assert response.status_code == 302
    assert browser_location(response.headers["Location"]) == ("https", "portal.example")


@pytest.mark.both_databases(False)  # headers and redirects: the database plays no part
def test_stores_only_a_hash_of_the_cookies_token(app, client, auth, users):
    auth.login("viewer")
    token = app.session_interface.get_signing_serializer(app).loads(captured_cookie(client))["_session_token"]
    with app.app_context():
        row = get_session().scalars(select(UserSession)).one()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
