"""User administration and audit filter forms."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import ValidationError

from core.validation import InvalidValue
from portal import accounts

ROLE_CHOICES = [SelectChoice(role, role.capitalize()) for role in accounts.ROLES]


def _rule(check, *args):
    try:
        check(*args)
    except InvalidValue as err:
        raise ValidationError(err.messages[0]) from err


class NewUserForm(FlaskForm):
    username = StringField("Username", filters=[lambda value: value.strip() if value else value])
    role = SelectField("Role", choices=ROLE_CHOICES, default="viewer", validate_choice=False)
    password = PasswordField("Initial password", description=f"At least {accounts.PASSWORD_MIN} characters; "
                                                             "tell the user to change it.")

    def validate_username(self, field):
        _rule(accounts.check_username, field.data or "")

    def validate_role(self, field):
        _rule(accounts.check_role, field.data or "")

    def validate_password(self, field):
        _rule(accounts.check_password, field.data or "", self.username.data or "")


class EditUserForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES, validate_choice=False)
    is_active = BooleanField("Active (may sign in)")

    def validate_role(self, field):
        _rule(accounts.check_role, field.data or "")
