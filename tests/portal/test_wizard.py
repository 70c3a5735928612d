"""The setup wizard: steps saved as drafts, messages next to fields, unique names, optimistic locking."""
from __future__ import annotations

from html.parser import HTMLParser

import pytest
from sqlalchemy import select
from wtforms import FieldList, FormField

from core import validation as v

from core.models import AuditEntry, Setup
from portal.db import get_session
from portal.setups.forms import AccountsForm, ApplicationForm, Rule, access_form
from tests.portal.helpers import BUILD, PRODUCTION, STAGING, field_errors, fill

ACCOUNTS = {"build_account_id": BUILD, "staging_account_id": STAGING, "production_account_id": PRODUCTION,
            "region": "eu-west-1"}
APPLICATION = {"name": "orders-api", "approval_email": "team@example.com", "tags": "team=payments\ncost center=42",
               "staging-LogLevel": "DEBUG", "production-MemorySize": "512", "production-LogRetentionInDays": "365"}
CONNECTION = f"arn:aws:codeconnections:eu-west-1:{BUILD}:connection/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"


@pytest.fixture
def operator(auth, users):
    auth.login("operator")


def start(client, **accounts) -> int:
    response = fill(client, "/setups/new", **{**ACCOUNTS, **accounts})
    assert response.status_code == 302, field_errors(response.get_data(as_text=True))
    return int(response.headers["Location"].split("/")[2])


def walk(client, **application) -> int:
    """Complete every step; return the setup id."""
    setup_id = start(client)
    assert fill(client, f"/setups/{setup_id}/application", **{**APPLICATION, **application}).status_code == 302
    assert fill(client, f"/setups/{setup_id}/access").status_code == 302
    return setup_id


def test_walks_the_wizard_to_a_ready_setup(app, client, operator, setup_row):
    setup_id = start(client)
    assert setup_row(setup_id).status == "draft"
    response = fill(client, f"/setups/{setup_id}/application", **APPLICATION)
    assert response.headers["Location"] == f"/setups/{setup_id}/access"
    response = fill(client, f"/setups/{setup_id}/access")
    assert response.headers["Location"] == f"/setups/{setup_id}"
    setup = setup_row(setup_id)
    assert (setup.status, setup.wizard_step, setup.name, setup.branch) == ("ready", "review", "orders-api", "main")
    assert setup.tags == {"team": "payments", "cost center": "42"}
    assert setup.stage_parameters == {
        "staging": {"LogLevel": "DEBUG", "Greeting": "Hello", "MemorySize": 128, "LogRetentionInDays": 30},
        "production": {"LogLevel": "INFO", "Greeting": "Hello", "MemorySize": 512, "LogRetentionInDays": 365}}
    assert setup.access == {account: {"method": "assume_role", "role_name": "OrganizationAccountAccessRole",
                                      "external_id": ""} for account in (BUILD, STAGING, PRODUCTION)}
    page = client.get(f"/setups/{setup_id}").get_data(as_text=True)
    assert "orders-api-deploy-dependencies" in page and "orders-api-pipeline" in page
    assert "Request the plan" in page
    with app.app_context():
        actions = get_session().scalars(select(AuditEntry.action).where(AuditEntry.outcome == "success")).all()
    assert actions == ["auth.login", "setup.create", "setup.update", "setup.update"]


@pytest.mark.parametrize("field, value, message", [
    ("build_account_id", "12345", "An AWS account ID is exactly 12 digits, e.g. 123456789012."),
    ("staging_account_id", "", "This field is required."),
    ("production_account_id", "abcdefghijkl", "An AWS account ID is exactly 12 digits, e.g. 123456789012."),
    ("region", "mars-north-1", "Choose a region where both CodePipeline and CloudFormation are available."),
])
def test_shows_each_accounts_error_next_to_its_field(client, operator, setup_row, field, value, message):
    response = fill(client, "/setups/new", **{**ACCOUNTS, field: value})
    assert response.status_code == 422
    assert field_errors(response.get_data(as_text=True)) == {field: [message]}
    with client.application.app_context():
        assert get_session().scalar(select(Setup.id)) is None  # nothing half-valid saved


@pytest.mark.parametrize("field, value, message", [
    ("name", "Orders_API", "Use only lowercase letters (a-z), digits and hyphens."),
    ("branch", "feature..x", "A branch name cannot contain '..'."),
    ("source_provider", "SVN", "Choose CodeCommit or GitHub."),
    ("approval_email", "not-an-email", "Enter a valid e-mail address, e.g. team@example.com, or leave it empty."),
    ("tags", "aws:team=x", "Tag key aws:team: the prefixes aws: and portal: are reserved."),
    ("staging-LogLevel", "LOUD", "Choose DEBUG, INFO, WARN or ERROR."),
    ("staging-Greeting", "x" * 65, "Use at most 64 characters."),
    ("production-MemorySize", "64", "Enter a whole number of MB from 128 to 10240."),
    ("staging-LogRetentionInDays", "13", "Choose a retention CloudWatch Logs offers: 1, 3, 5, 7, 14, 30, 60, 90, "
     "120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653 days."),
    ("production-LogRetentionInDays", "forever", "Choose a retention CloudWatch Logs offers: 1, 3, 5, 7, 14, 30, 60, "
     "90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653 days."),
])
def test_shows_each_application_error_next_to_its_field(client, operator, setup_row, field, value, message):
    setup_id = start(client)
    response = fill(client, f"/setups/{setup_id}/application", **{**APPLICATION, field: value})
    assert response.status_code == 422
    assert field_errors(response.get_data(as_text=True)) == {field: [message]}
    assert setup_row(setup_id).name is None


def test_shows_every_tag_problem(client, operator):
    setup_id = start(client)
    response = fill(client, f"/setups/{setup_id}/application", **{**APPLICATION, "tags": "a!=1\nnovalue\nb=x;y"})
    assert field_errors(response.get_data(as_text=True))["tags"] == ["Line 2: write each tag as Key=Value."]
    response = fill(client, f"/setups/{setup_id}/application", **{**APPLICATION, "tags": "a!=1\nb=x;y"})
    assert field_errors(response.get_data(as_text=True))["tags"] == [
        "Tag key a!: use only letters, digits, spaces and _ . : / = + - @.",
        "Tag b: the value can use only letters, digits, spaces and _ . : / = + - @."]


@pytest.mark.parametrize("changes, errors", [
    ({}, {"connection_arn": ["A GitHub source needs the ARN of a CodeConnections connection."],
          "full_repository_id": ["A GitHub source needs the repository as owner/repo."]}),
    ({"connection_arn": CONNECTION.replace(BUILD, STAGING), "full_repository_id": "octo/app"},
     {"connection_arn": [f"The connection must belong to the build account {BUILD}, where the pipeline runs; "
                         f"this one belongs to {STAGING}."]}),
    ({"connection_arn": CONNECTION, "full_repository_id": "octo"},
     {"full_repository_id": ["Write the repository as owner/repo, e.g. octo-org/orders-api."]}),
])
def test_checks_the_github_source(client, operator, changes, errors):
    setup_id = start(client)
    changes = {**APPLICATION, "source_provider": "GitHub", **changes}
    response = fill(client, f"/setups/{setup_id}/application", **changes)
    assert field_errors(response.get_data(as_text=True)) == errors


def test_saves_a_github_source(client, operator, setup_row):
    setup_id = walk(client, source_provider="GitHub", connection_arn=CONNECTION, full_repository_id="octo/app")
    setup = setup_row(setup_id)
    assert (setup.source_provider, setup.connection_arn, setup.full_repository_id) == ("GitHub", CONNECTION, "octo/app")


def test_resumes_a_draft_where_it_was_left(client, operator, setup_row):
    setup_id = start(client)
    response = fill(client, f"/setups/{setup_id}/application", **APPLICATION, leave="1")
    assert response.headers["Location"] == "/"
    listing = client.get("/").get_data(as_text=True)
    assert f'href="/setups/{setup_id}/access">Resume at Access' in listing
    page = client.get(f"/setups/{setup_id}/application").get_data(as_text=True)
    assert 'value="orders-api"' in page and "cost center=42" in page
    review = client.get(f"/setups/{setup_id}").get_data(as_text=True)
    assert "the access step is not complete yet" in review and "Request the plan" not in review


def test_back_posts_the_step_naming_the_previous_one(client, operator):
    setup_id = start(client)
    page = client.get(f"/setups/{setup_id}/access").get_data(as_text=True)
    assert '<button type="submit" name="goto" value="application" class="secondary">Back</button>' in page
    assert f'href="/setups/{setup_id}/accounts" data-goto="accounts">' in page  # portal.js posts the tabs too


def test_back_saves_what_was_typed_as_a_draft(client, operator, setup_row):
    setup_id = start(client)
    response = fill(client, f"/setups/{setup_id}/application", name="orders-api", branch="develop", goto="accounts")
    assert response.status_code == 302 and response.headers["Location"] == f"/setups/{setup_id}/accounts"
    setup = setup_row(setup_id)
    assert (setup.name, setup.branch, setup.status, setup.wizard_step) == ("orders-api", "develop", "draft", "access")
    page = client.get(f"/setups/{setup_id}/application").get_data(as_text=True)
    assert 'value="orders-api"' in page and 'value="develop"' in page


@pytest.mark.parametrize("step, goto, location", [
    ("application", "review", "/setups/{id}"),
    ("access", "accounts", "/setups/{id}/accounts"),
    ("accounts", "index", "/"),
])
def test_a_step_tab_saves_the_step_then_goes_there(client, operator, setup_row, step, goto, location):
    setup_id = walk(client)
    changes = {"application": {"branch": "develop"}, "access": {"accounts-0-role_name": "PortalBootstrap"},
               "accounts": {"region": "us-east-1"}}[step]
    response = fill(client, f"/setups/{setup_id}/{step}", **changes, goto=goto)
    assert response.status_code == 302 and response.headers["Location"] == location.format(id=setup_id)
    setup = setup_row(setup_id)
    assert (setup.branch, setup.access[BUILD]["role_name"], setup.region) == (
        changes.get("branch", "main"), changes.get("accounts-0-role_name", "OrganizationAccountAccessRole"),
        changes.get("region", "eu-west-1"))


def test_leaving_an_untouched_step_saves_nothing(app, client, operator, setup_row):
    setup_id = start(client)
    version = setup_row(setup_id).version
    # The application step is still empty (its name is required): going back must not be refused.
    response = fill(client, f"/setups/{setup_id}/application", goto="accounts")
    assert response.status_code == 302 and response.headers["Location"] == f"/setups/{setup_id}/accounts"
    assert fill(client, "/setups/new", goto="index").headers["Location"] == "/"
    assert setup_row(setup_id).version == version
    with app.app_context():
        outcomes = get_session().scalars(select(AuditEntry.outcome).where(AuditEntry.action.like("setup.%"))).all()
    assert outcomes == ["success"]  # only the first step's save


def test_leaving_a_step_with_a_mistake_keeps_the_typing_and_says_it_is_not_saved(client, operator, setup_row):
    setup_id = start(client)
    response = fill(client, f"/setups/{setup_id}/application", name="Orders API", branch="develop", goto="accounts")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert field_errors(page) == {"name": ["Use only lowercase letters (a-z), digits and hyphens."]}
    assert ("Your answers on this step are not saved yet: fix the ones marked below to save them and go on, "
            "or leave this step without saving them.") in page
    assert f'<a href="/setups/{setup_id}/accounts">Leave without saving</a>' in page
    assert 'value="Orders API"' in page and 'value="develop"' in page
    assert setup_row(setup_id).name is None


@pytest.mark.parametrize("page, goto, message", [
    ("/setups/{id}/application", "elsewhere", "The wizard has no place called &#39;elsewhere&#39; to go to"),
    ("/setups/new", "application", "Save this step with Next first: the other steps need a saved setup."),
])
def test_going_to_no_such_place_is_a_400(client, operator, setup_row, page, goto, message):
    setup_id = start(client)
    response = fill(client, page.format(id=setup_id), name="orders-api", goto=goto)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert setup_row(setup_id).name is None


def test_saves_account_ids_typed_as_the_console_shows_them(client, operator, setup_row):
    setup_id = start(client, build_account_id="1111-1111-1111", staging_account_id="2222 2222 2222")
    setup = setup_row(setup_id)
    assert (setup.build_account_id, setup.staging_account_id) == (BUILD, STAGING)
    assert 'value="111111111111"' in client.get(f"/setups/{setup_id}/accounts").get_data(as_text=True)


class _Inputs(HTMLParser):
    """Each named form control of a page with its attributes (the first of a radio group)."""

    def __init__(self):
        super().__init__()
        self.found: dict[str, dict[str, str | None]] = {}

    def handle_starttag(self, tag, attrs):
        named = dict(attrs)
        if tag in ("input", "textarea", "select") and named.get("name"):
            self.found.setdefault(named["name"], named)


def rendered_inputs(page: str) -> dict[str, dict[str, str | None]]:
    reader = _Inputs()
    reader.feed(page)
    return reader.found


def form_fields(form, prefix=""):
    """Every leaf field of a form, through its sub-forms and lists, by the name it is posted as."""
    for field in form:
        if isinstance(field, FormField):
            yield from form_fields(field.form)
        elif isinstance(field, FieldList):
            for entry in field.entries:
                yield from form_fields(entry.form)
        else:
            yield field


def test_every_field_carries_the_length_limit_of_its_rule(app, client, operator):
    setup_id = walk(client)
    with app.test_request_context():
        forms = {"/setups/new": AccountsForm(), f"/setups/{setup_id}/accounts": AccountsForm(),
                 f"/setups/{setup_id}/application": ApplicationForm(),
                 f"/setups/{setup_id}/access": access_form([BUILD, STAGING, PRODUCTION], {}, 1)}
    limited = set()
    for path, form in forms.items():
        inputs = rendered_inputs(client.get(path).get_data(as_text=True))
        for field in form_fields(form):
            if field.type in ("HiddenField", "CSRFTokenField"):
                continue
            [rule] = [r for r in field.validators if isinstance(r, Rule)]  # every field applies its rule
            limit = v.MAX_LENGTHS.get(rule.check)
            assert inputs[field.name].get("maxlength") == (str(limit) if limit else None), (path, field.name)
            if limit:
                limited.add(field.name.rsplit("-", 1)[-1])
    assert limited == {"build_account_id", "staging_account_id", "production_account_id", "name", "branch",
                       "connection_arn", "full_repository_id", "approval_email", "Greeting", "MemorySize",
                       "role_name", "external_id"}


def test_asks_access_once_per_distinct_account_and_explains_sharing(client, operator, setup_row):
    setup_id = start(client, production_account_id=STAGING)
    page = client.get(f"/setups/{setup_id}/access").get_data(as_text=True)
    assert page.count('<fieldset class="account"') == 2
    assert f"Staging and production share account {STAGING}: one deploy stack serves both." in page
    fill(client, f"/setups/{setup_id}/application", **APPLICATION)
    fill(client, f"/setups/{setup_id}/access", **{"accounts-1-method": "self_launch",
                                                  "accounts-0-role_name": "PortalBootstrap",
                                                  "accounts-0-external_id": "tenant-42"})
    assert setup_row(setup_id).access == {
        BUILD: {"method": "assume_role", "role_name": "PortalBootstrap", "external_id": "tenant-42"},
        STAGING: {"method": "self_launch"}}


@pytest.mark.parametrize("changes, errors", [
    ({"accounts-0-role_name": ""},
     {"accounts-0-role_name": ["Enter the role the portal assumes, e.g. OrganizationAccountAccessRole."]}),
    ({"accounts-2-external_id": "x"},
     {"accounts-2-external_id": ["An external ID is 2 to 1224 letters, digits or + = , . @ : / _ - characters."]}),
    ({"accounts-1-method": "telepathy"}, {"accounts-1-method": ["Choose how the portal reaches this account."]}),
])
def test_shows_access_errors_next_to_the_accounts_fields(client, operator, setup_row, changes, errors):
    setup_id = start(client)
    fill(client, f"/setups/{setup_id}/application", **APPLICATION)
    response = fill(client, f"/setups/{setup_id}/access", **changes)
    assert response.status_code == 422 and field_errors(response.get_data(as_text=True)) == errors
    assert setup_row(setup_id).status == "draft"


def test_a_self_launched_account_needs_no_role(client, operator, setup_row):
    setup_id = start(client)
    fill(client, f"/setups/{setup_id}/application", **APPLICATION)
    response = fill(client, f"/setups/{setup_id}/access", **{"accounts-0-method": "self_launch",
                                                             "accounts-0-role_name": ""})
    assert response.status_code == 302 and setup_row(setup_id).access[BUILD] == {"method": "self_launch"}


def test_changing_accounts_sends_a_ready_setup_back_to_the_access_step(client, operator, setup_row):
    setup_id = walk(client)
    fill(client, f"/setups/{setup_id}/accounts", production_account_id="444444444444")
    setup = setup_row(setup_id)
    assert (setup.status, setup.wizard_step) == ("draft", "access")
    assert set(setup.access) == {BUILD, STAGING}  # the dropped account's answer is forgotten


def test_refuses_a_name_used_in_the_same_build_account_and_region(client, operator, make_setup):
    make_setup(name="orders-api")
    setup_id = start(client)
    response = fill(client, f"/setups/{setup_id}/application", **APPLICATION)
    assert response.status_code == 409
    assert field_errors(response.get_data(as_text=True)) == {"name": [
        f"Another setup already uses the name orders-api in build account {BUILD}, region eu-west-1. "
        "Choose another name (or another build account or region)."]}


@pytest.mark.parametrize("accounts", [{"region": "us-east-1"}, {"build_account_id": "999999999999"}])
def test_allows_the_same_name_in_another_build_account_or_region(client, operator, make_setup, setup_row, accounts):
    make_setup(name="orders-api")
    setup_id = start(client, **accounts)
    assert fill(client, f"/setups/{setup_id}/application", **APPLICATION).status_code == 302
    assert setup_row(setup_id).name == "orders-api"


def test_refuses_moving_a_setup_onto_a_name_taken_there(client, operator, make_setup, setup_row):
    make_setup(name="orders-api", region="us-east-1")
    setup_id = walk(client)
    response = fill(client, f"/setups/{setup_id}/accounts", region="us-east-1")
    assert response.status_code == 409
    assert "Another setup already uses the name orders-api" in field_errors(response.get_data(as_text=True))[
        "build_account_id"][0]
    assert setup_row(setup_id).region == "eu-west-1"


def test_shows_a_conflict_when_someone_saved_in_between(app, client, operator, setup_row):
    setup_id = walk(client)
    stale = client.get(f"/setups/{setup_id}/application").get_data(as_text=True)
    # Someone else saves first: the version moves on.
    fill(client, f"/setups/{setup_id}/application", branch="develop")
    from tests.portal.helpers import form_values

    response = client.post(f"/setups/{setup_id}/application", data={**form_values(stale), "branch": "release"})
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Someone else changed this setup while you were editing it" in page
    assert "reload the page" in page
    assert setup_row(setup_id).branch == "develop"


def test_a_tampered_version_is_treated_as_stale(client, operator, setup_row):
    setup_id = walk(client)
    response = fill(client, f"/setups/{setup_id}/application", branch="develop", version="abc")
    assert response.status_code == 409 and setup_row(setup_id).branch == "main"


def test_unknown_setups_get_a_404_page(client, operator):
    for path in ("/setups/999", "/setups/999/accounts", "/setups/99999999999999999999"):
        assert client.get(path).status_code == 404
