"""Sign-in, password and API token forms."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from core.validation import InvalidValue
from portal import accounts


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=accounts.PASSWORD_MAX)])


class PasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired()])
    new_password = PasswordField("New password", description=f"At least {accounts.PASSWORD_MIN} characters.")
    confirm = PasswordField("New password again", validators=[EqualTo("new_password", "The passwords differ.")])

    def __init__(self, *args, username: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.username = username

    def validate_new_password(self, field):
        try:
            accounts.check_password(field.data or "", self.username)
        except InvalidValue as err:
            raise ValidationError(err.messages[0]) from err


class TokenForm(FlaskForm):
    name = StringField("Token name", description="What the token is for, e.g. ci-deploy.",
                       validators=[DataRequired(), Length(max=64)])

    def validate_name(self, field):
        if not field.data.isprintable():
            raise ValidationError("Use printable characters only.")


class ConfirmForm(FlaskForm):
    """Only the CSRF token: for buttons that act without other input (sign out, revoke)."""
