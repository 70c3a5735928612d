"""The application factory: settings from the environment, migrations on start, headers, health."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import inspect, select

from core.db import make_engine
from core.models import AuditEntry
from portal import create_app
from portal import db as portal_db
from portal.db import get_session
from portal.settings import ConfigurationError
from tests.portal.helpers import TEST_SECRET
from tests.waiting import free_port, wait_for


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in ("PORTAL_SECRET_KEY", "PORTAL_ENV", "PORTAL_DATABASE_URL", "CELERY_BROKER_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("core.config.INSTANCE_DIR", tmp_path)
    monkeypatch.setenv("PORTAL_DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    return monkeypatch


def test_refuses_to_start_without_a_secret_key_outside_development(clean_env):
    with pytest.raises(ConfigurationError, match="PORTAL_SECRET_KEY is not set"):
        create_app({"MIGRATE_ON_START": False})


def test_refuses_a_short_secret_key(clean_env):
    clean_env.setenv("PORTAL_SECRET_KEY", "short")
    with pytest.raises(ConfigurationError, match="too short"):
        create_app({"MIGRATE_ON_START": False})


def test_development_generates_and_keeps_a_secret_key(clean_env, tmp_path):
    clean_env.setenv("PORTAL_ENV", "development")
    first = create_app({"MIGRATE_ON_START": False})
    second = create_app({"MIGRATE_ON_START": False})
    assert len(first.config["SECRET_KEY"]) >= 32
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"] == (tmp_path / "dev-secret-key").read_text()
    assert (tmp_path / "dev-secret-key").stat().st_mode & 0o077 == 0
    assert first.config["SESSION_COOKIE_SECURE"] is False
    for app in (first, second):
        portal_db.dispose(app)


def test_reads_database_and_broker_from_the_environment(clean_env, tmp_path):
    clean_env.setenv("PORTAL_SECRET_KEY", TEST_SECRET)
    clean_env.setenv("CELERY_BROKER_URL", "redis://broker.example:6379/3")
    app = create_app({"MIGRATE_ON_START": False})
    assert app.config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'env.db'}"
    assert app.config["CELERY_BROKER_URL"] == "redis://broker.example:6379/3"
    assert app.config["SESSION_COOKIE_SECURE"] is True
    portal_db.dispose(app)


def test_defaults_to_a_sqlite_file_under_instance_and_local_redis(clean_env, tmp_path):
    clean_env.delenv("PORTAL_DATABASE_URL")
    clean_env.setenv("PORTAL_SECRET_KEY", TEST_SECRET)
    app = create_app({"MIGRATE_ON_START": False})
    assert app.config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'portal.db'}"
    assert app.config["CELERY_BROKER_URL"] == "redis://127.0.0.1:6379/0"
    portal_db.dispose(app)


def test_applies_migrations_on_start(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": TEST_SECRET})
    engine = make_engine(url)
    assert {"users", "setups", "audit_entries", "alembic_version"} <= set(inspect(engine).get_table_names())
    engine.dispose()
    portal_db.dispose(app)


def test_login_required_everywhere_but_sign_in_and_health(client):
    for path in ("/", "/setups/new", "/setups/1", "/account/tokens", "/admin/users", "/admin/audit"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")
    assert client.get("/login").status_code == 200
    assert client.get("/healthz").status_code == 200


def test_health_reports_the_database(client):
    assert client.get("/healthz").get_json() == {"status": "ok", "database": "ok"}


def test_sets_security_headers(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "no-store"


def test_session_cookie_is_httponly_samesite_lax_and_secure(client, auth, users):
    response = auth.login()
    cookie = next(value for name, value in response.headers.items(lower=True)
                  if name == "set-cookie" and value.startswith("portal_session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie


def test_pages_load_no_outside_assets_and_no_inline_scripts(client, auth, users):
    auth.login("admin")
    for path in ("/login", "/", "/setups/new", "/account/tokens", "/admin/users", "/admin/audit"):
        page = client.get(path).get_data(as_text=True)
        assert not re.search(r'(src|href)="(https?:)?//', page), path
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), path
        assert not re.search(r"\son[a-z]+=", page), path
    for asset in ("/static/css/portal.css", "/static/js/portal.js"):
        assert client.get(asset).status_code == 200


def test_unknown_pages_get_the_portals_404_page(client, auth, users):
    auth.login()
    response = client.get("/no/such/page")
    assert response.status_code == 404 and "There is nothing at this address." in response.get_data(as_text=True)


def test_wrong_method_gets_the_portals_405_page(client, auth, users):
    auth.login()
    response = client.delete("/")
    assert response.status_code == 405 and "does not accept that kind of request" in response.get_data(as_text=True)
    assert "GET" in response.headers["Allow"]


def test_nul_characters_are_refused_not_stored(client, auth, users):
    response = client.get("/login?next=%00")
    assert response.status_code == 400
    auth.login()
    assert client.get("/admin/audit?actor=a%00b").status_code == 400


def test_unexpected_errors_get_the_portals_500_page(app, client, auth, users):
    @app.get("/boom")
    def boom():
        raise RuntimeError("kaboom")

    auth.login()
    response = client.get("/boom")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.get_data(as_text=True)
    assert "kaboom" not in response.get_data(as_text=True)


def health_of(port: int) -> dict | None:
    """/healthz's answer, or None while nothing listens on the port."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return json.load(response)
    except OSError:
        return None


@pytest.mark.slow
def test_gunicorn_serves_portal_wsgi_app(tmp_path):
    port, log = free_port(), tmp_path / "gunicorn.log"
    env = {**os.environ, "PORTAL_DATABASE_URL": f"sqlite:///{tmp_path / 'g.db'}", "PORTAL_SECRET_KEY": TEST_SECRET,
           "PORTAL_INSTANCE_DIR": str(tmp_path)}
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen([str(gunicorn), "--bind", f"127.0.0.1:{port}", "--workers", "1", "portal.wsgi:app"],
                              env=env, stdout=subprocess.DEVNULL, stderr=log.open("w"))
    try:
        health = wait_for(lambda: health_of(port), 30, "gunicorn to answer", interval=0.2,
                          process=server, output=log.read_text)
        assert health == {"status": "ok", "database": "ok"}
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5) as response:
            assert "Sign in" in response.read().decode()
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_refuses_a_malformed_proxy_count(clean_env):
    clean_env.setenv("PORTAL_SECRET_KEY", TEST_SECRET)
    clean_env.setenv("PORTAL_PROXY_COUNT", "two")
    with pytest.raises(ConfigurationError, match="PORTAL_PROXY_COUNT must be a whole number, not 'two'."):
        create_app({"MIGRATE_ON_START": False})


def test_trusts_forwarded_addresses_only_from_configured_proxies(clean_env):
    clean_env.setenv("PORTAL_SECRET_KEY", TEST_SECRET)
    clean_env.setenv("PORTAL_PROXY_COUNT", "1")
    app = create_app()
    # A post without a CSRF token is refused and audited with the client's address.
    app.test_client().post("/login", data={}, headers={"X-Forwarded-For": "203.0.113.9"})
    with app.app_context():
        assert get_session().scalars(select(AuditEntry.remote_addr)).one() == "203.0.113.9"
    portal_db.dispose(app)
