"""Sign-in with throttling, sign-out, password change and API tokens."""
from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from core.models import ApiToken, User
from portal import accounts, audit, sessions, throttle, tokens
from portal.auth import bp
from portal.auth.forms import ConfirmForm, LoginForm, PasswordForm, TokenForm
from portal.db import get_by_id, get_session
from portal.security import SignedInUser, rule

log = logging.getLogger(__name__)

WRONG_CREDENTIALS = "Wrong username or password."


# A path on this site, checked as it will be sent: only the characters RFC 3986 allows in a URL, so a
# browser finds nothing to strip or rewrite (it drops tabs and newlines, so "/<tab>/evil.example" would
# mean "//evil.example", and reads a backslash as "/"), and Werkzeug nothing to refuse in a header.
LOCAL_TARGET = re.compile(r"/(?!/)[A-Za-z0-9\-._~!$&'()*+,;=:@/%?#]*")


def safe_next(target: str | None) -> str:
    """Return ``target`` if it is a path on this site, else the home page (no open redirects)."""
    if target and LOCAL_TARGET.fullmatch(target):
        return target
    return url_for("setups.index")


@bp.route("/login", methods=["GET", "POST"])
@rule("public")
def login():
    if current_user.is_authenticated:
        return redirect(url_for("setups.index"))
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form), 422 if form.is_submitted() else 200
    db = get_session()
    username, address = form.username.data, request.remote_addr or ""
    config = current_app.config
    lockout = throttle.check_lockout(
        username, address, max_failures=config["LOGIN_MAX_FAILURES"],
        max_per_address=config["LOGIN_MAX_FAILURES_PER_ADDRESS"],
        window=timedelta(seconds=config["LOGIN_WINDOW_SECONDS"]),
    )
    if lockout is not None:
        audit.record(throttle.LOGIN_ACTION, audit.DENIED, actor=username, message="locked out after failed sign-ins")
        db.commit()
        return render_template("auth/login.html", form=form, error=lockout.message), 429
    user = accounts.find_user(db, username)
    if not accounts.verify_password(user, form.password.data):
        reason = "inactive user" if user is not None and not user.is_active else WRONG_CREDENTIALS
        audit.record(throttle.LOGIN_ACTION, audit.FAILED, actor=username, message=reason)
        if user is not None:
            user.failed_logins += 1
            user.last_failed_login_at = datetime.now(UTC)
        db.commit()
        return render_template("auth/login.html", form=form, error=WRONG_CREDENTIALS), 200
    user.failed_logins = 0
    audit.record(throttle.LOGIN_ACTION, audit.SUCCESS, actor=username)
    # A fresh session on sign-in: nothing planted before it (session fixation) survives.
    session.clear()
    sessions.begin(db, user.id)
    db.commit()
    login_user(SignedInUser.from_model(db, user))
    session.permanent = True
    return redirect(safe_next(request.args.get("next")))


@bp.post("/logout")
@rule("signed in")
def logout():
    if ConfirmForm().validate_on_submit():
        db = get_session()
        # Every session of the user ends, so no copy of any of their cookies outlives signing out.
        ended = sessions.end_all(db, current_user.id)
        audit.record("auth.logout", audit.SUCCESS, detail={"sessions": ended})
        db.commit()
        logout_user()
        session.clear()
        flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@rule("signed in")
def change_password():
    form = PasswordForm(username=current_user.username)
    if not form.validate_on_submit():
        return render_template("auth/password.html", form=form), 422 if form.is_submitted() else 200
    db = get_session()
    user = db.get(User, current_user.id)
    if not accounts.verify_password(user, form.current_password.data):
        audit.record("auth.password", audit.FAILED, target=user.username, message="wrong current password")
        db.commit()
        form.current_password.errors.append("This is not your current password.")
        return render_template("auth/password.html", form=form), 422
    accounts.set_password(user, form.new_password.data)
    # A new password ends every session, this one too (its cookie may be the stolen one); this browser
    # goes on in a new session.
    ended = sessions.end_all(db, user.id)
    sessions.begin(db, user.id)
    audit.record("auth.password", audit.SUCCESS, target=user.username, detail={"sessions": ended})
    db.commit()
    flash("Your password is changed.", "success")
    return redirect(url_for("setups.index"))


def render_tokens(form: TokenForm, created: str | None = None, status: int = 200):
    return render_template("auth/tokens.html", form=form, created=created, confirm=ConfirmForm(),
                           tokens=tokens.user_tokens(get_session(), current_user.id)), status


@bp.get("/account/tokens")
@rule("signed in")
def list_tokens():
    return render_tokens(TokenForm())


@bp.post("/account/tokens")
@rule("signed in")
def create_token():
    form = TokenForm()
    if not form.validate_on_submit():
        return render_tokens(form, status=422)
    db = get_session()
    token, plaintext = tokens.create_token(db, current_user.id, form.name.data)
    audit.record("token.create", audit.SUCCESS, target=f"token {token.id} ({token.prefix})")
    db.commit()
    # Rendered, not redirected: the plaintext is shown this once and stored nowhere.
    return render_tokens(TokenForm(formdata=None), created=plaintext, status=201)


@bp.post("/account/tokens/<int:token_id>/revoke")
@rule("signed in")
def revoke_token(token_id: int):
    db = get_session()
    token = get_by_id(db, ApiToken, token_id)
    if token is None or token.user_id != current_user.id:
        audit.record("token.revoke", audit.DENIED, target=f"token {token_id}")
        db.commit()
        return render_template("errors/error.html", code=404, title="Not found",
                               message="You have no such token."), 404
    if ConfirmForm().validate_on_submit():
        tokens.revoke(token)
        audit.record("token.revoke", audit.SUCCESS, target=f"token {token.id} ({token.prefix})")
        db.commit()
        flash(f"Token {token.name} is revoked.", "success")
    return redirect(url_for("auth.list_tokens"))
