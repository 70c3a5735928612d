"""CLI commands: ``create-user`` and ``ensure-admin`` (the first admin, for `make run`)."""
from __future__ import annotations

import logging
import sys

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from core.validation import InvalidValue
from portal import accounts, audit
from portal.db import get_session

log = logging.getLogger(__name__)

CLI_ACTOR = "cli"
FIRST_ADMIN = "admin"


@click.command("create-user")
@click.argument("username")
@click.option("--role", type=click.Choice(accounts.ROLES), default="viewer", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@with_appcontext
def create_user_command(username: str, role: str, password_stdin: bool) -> None:
    """Create a local user; the password is prompted for unless --password-stdin is given."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    db = get_session()
    try:
        user = accounts.create_user(db, username, password, role)
    except (InvalidValue, accounts.UsernameTaken) as err:
        raise click.ClickException(str(err)) from err
    audit.record("user.create", audit.SUCCESS, actor=CLI_ACTOR, target=user.username, detail={"role": role})
    db.commit()
    if role == "admin":
        click.echo(f"Created user {user.username} with the role admin.")
    else:
        # Since teams, a non-admin's stored role grants nothing by itself: say so rather than imply it does.
        click.echo(f"Created user {user.username} (a member, in no team yet): add them to a team under Teams, "
                   f"with a role there, such as {role}.")


@click.command("ensure-admin")
@with_appcontext
def ensure_admin_command() -> None:
    """Create a first admin with a generated password, printed once, if the portal has no user yet."""
    db = get_session()
    if accounts.count_users(db) > 0:
        click.echo("Users exist already; no admin created.")
        return
    password = accounts.generate_password()
    user = accounts.create_user(db, FIRST_ADMIN, password, "admin")
    audit.record("user.create", audit.SUCCESS, actor=CLI_ACTOR, target=user.username,
                 detail={"role": "admin", "first_admin": True})
    db.commit()
    url = current_app.config["PUBLIC_URL"]
    click.echo(
        f"Created the first admin. Sign in at {url}/login as '{FIRST_ADMIN}' with the password:\n\n"
        f"    {password}\n\n"
        "It is shown only this once: change it under 'Password' after signing in."
    )


def register(app: Flask) -> None:
    app.cli.add_command(create_user_command)
    app.cli.add_command(ensure_admin_command)
