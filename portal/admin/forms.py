"""User administration and audit filter forms."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import ValidationError

from core.models import Role
from core.validation import InvalidValue
from portal import accounts

# Since teams, a non-admin's global role grants nothing (roles act per team, portal/memberships.py): the
# forms offer only admin or not. The other stored values are still accepted (the CLI's, older clients').
MEMBER = "member"
ACCESS_CHOICES = [SelectChoice(Role.ADMIN.value, "Admin (every team)"),
                  SelectChoice(MEMBER, "Member (roles per team)")]


def stored_role(chosen: str, current: str | None = None) -> str:
    """The ``User.role`` to store for the access chosen: a member keeps a non-admin value they have."""
    if chosen != MEMBER:
        return chosen
    return current if current not in (None, Role.ADMIN.value) else Role.VIEWER.value


def shown_access(role: str) -> str:
    return Role.ADMIN.value if role == Role.ADMIN.value else MEMBER


def _rule(check, *args):
    try:
        check(*args)
    except InvalidValue as err:
        raise ValidationError(err.messages[0]) from err


class NewUserForm(FlaskForm):
    username = StringField("Username", filters=[lambda value: value.strip() if value else value])
    role = SelectField("Access", choices=ACCESS_CHOICES, default=MEMBER, validate_choice=False,
                       description="A member sees nothing until an admin adds them to a team (Teams).")
    password = PasswordField("Initial password", description=f"At least {accounts.PASSWORD_MIN} characters; "
                                                             "tell the user to change it.")

    def validate_username(self, field):
        _rule(accounts.check_username, field.data or "")

    def validate_role(self, field):
        if field.data != MEMBER:
            _rule(accounts.check_role, field.data or "")

    def validate_password(self, field):
        _rule(accounts.check_password, field.data or "", self.username.data or "")


class EditUserForm(FlaskForm):
    role = SelectField("Access", choices=ACCESS_CHOICES, validate_choice=False)
    is_active = BooleanField("Active (may sign in)")

    def validate_role(self, field):
        if field.data != MEMBER:
            _rule(accounts.check_role, field.data or "")
