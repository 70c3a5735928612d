"""Wizard forms: each field's Rule applies the rule core.validation holds for that field."""
from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import ValidationError

from core import validation as v
from core.models import AccessMethod, SourceProvider
from core.regions import pipeline_regions
from portal import params
from portal.setups import document_rules


def strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def apply_rule(check: Callable[[Any], Any], field) -> None:
    """Run a core rule on the field; every message it gives lands next to the field.

    :raise ValidationError: the rule is broken
    """
    try:
        check(field.data if field.data is not None else "")
    except v.InvalidValue as err:
        # WTForms keeps one message per ValidationError; the others are added to the list directly.
        field.errors.extend(err.messages[:-1])
        raise ValidationError(err.messages[-1]) from err


class Rule:
    """A field's validator: the core rule for it, applied only ``when`` the form needs the field.

    A rule with a length limit (core.validation.MAX_LENGTHS) gives the field the same ``maxlength``,
    so a browser stops where the rule would refuse.
    """

    def __init__(self, check: Callable[[Any], Any], when: Callable[[Any], bool] | None = None):
        self.check = check
        self.when = when
        limit = v.MAX_LENGTHS.get(check)
        self.field_flags = {"maxlength": limit} if limit else {}

    def __call__(self, form, field) -> None:
        if self.when is None or self.when(form):
            apply_rule(self.check, field)


def version_of(form: FlaskForm) -> int | None:
    return params.number_or_none(form.version.data or "")


class AccountsForm(FlaskForm):
    build_account_id = StringField("Build account", filters=[strip], validators=[Rule(v.check_account_id)],
                                   description="Hosts the repository, the artifact bucket and the pipeline.")
    staging_account_id = StringField("Staging account", filters=[strip], validators=[Rule(v.check_account_id)],
                                     description="Where each push to the branch is deployed first.")
    production_account_id = StringField("Production account", filters=[strip], validators=[Rule(v.check_account_id)],
                                        description="Deployed after a person approves the change.")
    # The choice list is checked by the rule, so a bad value gets the portal's message.
    region = SelectField("Region", validate_choice=False, validators=[Rule(v.check_region)],
                         description="Where the pipeline and the application stacks are created.")
    version = HiddenField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.region.choices = [SelectChoice("", "Choose a region")] + [SelectChoice(r.name, r.label)
                                                                      for r in pipeline_regions()]

    def values(self) -> dict[str, Any]:
        # The rules' own answers: an account id typed as 1111-1111-1111 is saved as its 12 digits.
        return {field: v.check_account_id(getattr(self, field).data) for field in document_rules.ACCOUNT_FIELDS[:3]} | {
            "region": self.region.data}


class NewSetupForm(AccountsForm):
    """The first step of a new setup: its accounts, and which of the user's teams owns it."""

    team_id = SelectField("Team", validate_choice=False,
                          description="The team whose operators change it and whose approvers approve production; "
                                      "an admin can move it to another team later.")

    def __init__(self, *args, teams: list[tuple[int, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.team_id.choices = [SelectChoice(str(team_id), name) for team_id, name in teams]
        self.allowed_teams = {str(team_id) for team_id, _ in teams}
        # The page preselects the first team; a post without a team goes to the user's only team, if one.
        if not self.team_id.data and (len(teams) == 1 or not self.is_submitted()) and teams:
            self.team_id.data = str(teams[0][0])

    def validate_team_id(self, field):
        if field.data not in self.allowed_teams:
            raise ValidationError("Choose one of your teams: you may create setups only in a team where you are "
                                  "an operator.")


def retention_label(days: int) -> str:
    return "1 day" if days == 1 else f"{days} days"


class StageForm(Form):
    """The sample app's parameters for one stage (a sub-form: the outer form carries the CSRF token).

    The pipeline passes them to the stage's application stack; they override the values of
    sample_app/config/<stage>.json.
    """

    # Named after the CloudFormation parameters.
    LogLevel = SelectField("Log level", choices=list(v.LOG_LEVELS), validate_choice=False,
                           validators=[Rule(v.check_log_level)])
    Greeting = StringField("Greeting", validators=[Rule(v.check_greeting)],
                           description="What the function answers with, at most 64 characters.")
    MemorySize = StringField("Memory (MB)", filters=[strip], validators=[Rule(v.check_memory_size)],
                             description="128 to 10240.")
    LogRetentionInDays = SelectField("Log retention", validate_choice=False, validators=[Rule(v.check_log_retention)],
                                     choices=[SelectChoice(str(days), retention_label(days))
                                              for days in v.LOG_RETENTION_DAYS],
                                     description="How long CloudWatch Logs keeps the function's logs.")

    def values(self) -> dict[str, Any]:
        return {name: check(getattr(self, name).data) for name, check in v.STAGE_PARAMETER_CHECKS.items()}


def uses_github(form) -> bool:
    return form.source_provider.data == SourceProvider.GITHUB.value


class ApplicationForm(FlaskForm):
    name = StringField("Application name", filters=[strip], validators=[Rule(v.check_application_name)],
                       description="3 to 24 lowercase letters, digits and hyphens, starting with a letter.")
    branch = StringField("Branch", filters=[strip], default="main", validators=[Rule(v.check_branch)])
    source_provider = RadioField("Source", validate_choice=False, default=SourceProvider.CODECOMMIT.value,
                                 validators=[Rule(v.check_source_provider)],
                                 choices=[SelectChoice(SourceProvider.CODECOMMIT.value, "A new CodeCommit repository"),
                                          SelectChoice(SourceProvider.GITHUB.value,
                                                       "GitHub, through a CodeConnections connection")])
    connection_arn = StringField("Connection ARN", filters=[strip], validators=[Rule(v.check_connection_arn, uses_github)],
                                 description="arn:aws:codeconnections:REGION:ACCOUNT:connection/ID")
    full_repository_id = StringField("GitHub repository", filters=[strip],
                                     validators=[Rule(v.check_repository_id, uses_github)], description="owner/repo")
    approval_email = StringField("Approval e-mail", filters=[strip], validators=[Rule(v.check_approval_email)],
                                 description="Told when production waits for approval. Optional.")
    tags = TextAreaField("Tags", validators=[Rule(v.parse_tags_text)], description="One Key=Value per line, applied to the stacks the portal creates "
                                             "(deploy dependencies and pipeline). The application stacks take their "
                                             "tags from sample_app/config/<stage>.json in the repository. Optional.")
    # A checkbox: ticked or not, either is valid (the rule only says so).
    two_person_approval = BooleanField("Two approvers for production: the first approval is recorded, a second "
                                       "approver's sends it", validators=[Rule(bool)])
    staging = FormField(StageForm, label="Staging")
    production = FormField(StageForm, label="Production")
    version = HiddenField()

    def __init__(self, *args, build_account_id: str = "", region: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        # The connection must live where the pipeline does: the accounts step's answers.
        self.build_account_id = build_account_id
        self.region_name = region

    def uses_github(self) -> bool:
        return uses_github(self)

    def validate_connection_arn(self, field):
        # After the rule (the ARN's shape): the connection must also be where the pipeline runs.
        if self.uses_github() and not field.errors:
            problems = document_rules.connection_problems(field.data or "", self.build_account_id, self.region_name)
            if problems:
                raise ValidationError(problems[0])

    def values(self) -> dict[str, Any]:
        github = self.uses_github()
        return {
            "name": self.name.data,
            "branch": self.branch.data,
            "source_provider": self.source_provider.data,
            "connection_arn": self.connection_arn.data if github else "",
            "full_repository_id": self.full_repository_id.data if github else "",
            "approval_email": v.check_approval_email(self.approval_email.data or ""),
            "tags": v.parse_tags_text(self.tags.data or ""),
            "stage_parameters": {stage: getattr(self, stage).form.values() for stage in v.STAGES},
            "two_person_approval": bool(self.two_person_approval.data),
        }


def tags_text(tags: dict[str, str]) -> str:
    return "\n".join(f"{key}={value}" for key, value in tags.items())


def assumes_role(form) -> bool:
    return form.method.data == AccessMethod.ASSUME_ROLE.value


class AccountAccessForm(Form):
    method = RadioField("How the portal reaches this account", validate_choice=False,
                        default=AccessMethod.ASSUME_ROLE.value, validators=[Rule(v.check_access_method)],
                        choices=[SelectChoice(AccessMethod.ASSUME_ROLE.value, "Assume a role in it"),
                                 SelectChoice(AccessMethod.SELF_LAUNCH.value,
                                              "Its admin launches the stack (I'll send a link)")])
    role_name = StringField("Role name", filters=[strip], default=v.DEFAULT_ROLE_NAME,
                            validators=[Rule(v.check_role_name, assumes_role)])
    external_id = StringField("External ID", filters=[strip], validators=[Rule(v.check_external_id, assumes_role)],
                              description="Only if the role's trust policy asks for one.")

    def assumes_role(self) -> bool:
        return assumes_role(self)

    def values(self) -> dict[str, str]:
        if not self.assumes_role():
            return {"method": self.method.data}
        return {"method": self.method.data, "role_name": self.role_name.data,
                "external_id": self.external_id.data or ""}


class AccessForm(FlaskForm):
    accounts = FieldList(FormField(AccountAccessForm))
    version = HiddenField()

    def values(self, account_ids: list[str]) -> dict[str, Any]:
        return {account: entry.form.values() for account, entry in zip(account_ids, self.accounts.entries, strict=True)}


def access_form(account_ids: list[str], access: dict[str, Any], version: int, **kwargs: Any) -> AccessForm:
    """Build the access form with one entry per distinct account, in the setup's order."""
    # Sub-forms read initial values as attributes of an object, not as dict keys.
    data = [SimpleNamespace(**access.get(account, {})) for account in account_ids]
    form = AccessForm(data={"accounts": data, "version": str(version)}, **kwargs)
    # A tampered post with more or fewer entries must not shift answers onto the wrong account.
    while len(form.accounts.entries) > len(account_ids):
        form.accounts.pop_entry()
    while len(form.accounts.entries) < len(account_ids):
        form.accounts.append_entry({})
    return form
