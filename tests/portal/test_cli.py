"""The CLI: create-user (prompted or --password-stdin) and ensure-admin for the first start."""
from __future__ import annotations

import re
import subprocess
import sys

from sqlalchemy import select

from core.models import AuditEntry, User
from portal.db import get_session
from tests.portal.helpers import TEST_SECRET


def test_creates_a_user_with_a_password_from_stdin(app, load):
    result = app.test_cli_runner().invoke(args=["create-user", "ann", "--role", "admin", "--password-stdin"],
                                          input="a long enough password\n")
    assert result.exit_code == 0 and result.output == "Created user ann with the role admin.\n"
    with app.app_context():
        user = get_session().scalars(select(User)).one()
        assert (user.username, user.role) == ("ann", "admin")
        assert get_session().scalars(select(AuditEntry.actor)).one() == "cli"


def test_prompts_for_the_password_twice(app):
    result = app.test_cli_runner().invoke(args=["create-user", "ann"], input="a long enough password\n" * 2)
    assert result.exit_code == 0, result.output


def test_refuses_a_weak_password_or_a_taken_name(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-user", "ann", "--password-stdin"], input="short\n")
    assert result.exit_code == 1 and "Use at least 12 characters." in result.output
    runner.invoke(args=["create-user", "ann", "--password-stdin"], input="a long enough password\n")
    result = runner.invoke(args=["create-user", "ann", "--password-stdin"], input="a long enough password\n")
    assert result.exit_code == 1 and "The username ann is already taken." in result.output


def test_ensure_admin_creates_the_first_admin_once_and_prints_the_password(app, auth):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["ensure-admin"])
    assert first.exit_code == 0
    password = re.search(r"\n\n    (\S+)\n\n", first.output).group(1)
    assert "Sign in at http://127.0.0.1:8000/login as 'admin'" in first.output
    assert auth.login("admin", password).status_code == 302
    second = runner.invoke(args=["ensure-admin"])
    assert second.exit_code == 0 and second.output == "Users exist already; no admin created.\n"
    with app.app_context():
        assert len(get_session().scalars(select(User)).all()) == 1


def test_python_m_portal_runs_the_same_commands(tmp_path):
    env = {"PORTAL_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "PORTAL_SECRET_KEY": TEST_SECRET,
           "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-m", "portal", "create-user", "ann", "--role", "operator",
                             "--password-stdin"], input="a long enough password\n", env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ("Created user ann (a member, in no team yet): add them to a team under Teams, with a "
                             "role there, such as operator.\n")


def test_flask_app_portal_wsgi_runs_the_same_commands(tmp_path):
    env = {"PORTAL_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "PORTAL_SECRET_KEY": TEST_SECRET,
           "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "portal.wsgi", "ensure-admin"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Created the first admin." in result.stdout
