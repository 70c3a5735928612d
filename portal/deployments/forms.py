"""Forms of the deployment pages: planning and applying take no input, a teardown asks for the application name."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField


class PlanForm(FlaskForm):
    """Only the CSRF token: asking for a plan takes no input."""


class ApplyForm(FlaskForm):
    """Only the CSRF token: the plan to apply is in the address."""


class TeardownForm(FlaskForm):
    confirmation = StringField("Application name", description="Deleting the stacks cannot be undone.")
