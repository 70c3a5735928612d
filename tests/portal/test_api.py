"""The JSON API: same rules and messages as the wizard, errors as {"errors": {field: [message]}}."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.models import Operation
from portal import tokens
from portal.db import get_session
from tests.portal.helpers import BUILD, PRODUCTION, STAGING

CONNECTION = f"arn:aws:codeconnections:eu-west-1:{BUILD}:connection/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
MINIMAL = {"name": "orders-api", "build_account_id": BUILD, "staging_account_id": STAGING,
           "production_account_id": PRODUCTION, "region": "eu-west-1"}


@pytest.fixture
def bearer(app, users):
    """Authorization headers for each role."""
    headers = {}
    with app.app_context():
        session = get_session()
        for role, user_id in users.items():
            _, plaintext = tokens.create_token(session, user_id, "test")
            headers[role] = {"Authorization": f"Bearer {plaintext}"}
        session.commit()
    return headers


@pytest.fixture
def api(client, bearer):
    """Call the API as a role: ``api("post", "/setups", json=..., role="operator")``."""

    def call(method, path, role="operator", **kwargs):
        return client.open(f"/api/v1{path}", method=method.upper(), headers=bearer[role], **kwargs)

    return call


def test_creates_a_ready_setup_from_the_minimum_with_defaults(api):
    response = api("post", "/setups", json=MINIMAL)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert response.headers["Location"] == f"/api/v1/setups/{body['id']}"
    assert (body["status"], body["wizard_step"], body["version"], body["branch"], body["source_provider"]) == (
        "ready", "review", 1, "main", "CodeCommit")
    assert body["stage_parameters"]["production"] == {"LogLevel": "INFO", "Greeting": "Hello", "MemorySize": 128,
                                                      "LogRetentionInDays": 30}
    assert body["access"][STAGING] == {"method": "assume_role", "role_name": "OrganizationAccountAccessRole",
                                       "external_id": ""}
    assert body["created_at"].endswith("+00:00") and body["operations"] == []


def test_reads_and_lists_setups(api):
    created = api("post", "/setups", json=MINIMAL).get_json()
    assert api("get", f"/setups/{created['id']}", role="viewer").get_json() == created
    listing = api("get", "/setups", role="viewer").get_json()
    assert (listing["total"], listing["page"], listing["pages"]) == (1, 1, 1)
    assert [setup["id"] for setup in listing["setups"]] == [created["id"]]


@pytest.mark.parametrize("changes, errors", [
    ({"name": "Orders"}, {"name": ["Use only lowercase letters (a-z), digits and hyphens."]}),
    ({"build_account_id": "123"}, {"build_account_id": ["An AWS account ID is exactly 12 digits, e.g. 123456789012."]}),
    ({"region": None}, {"region": ["Must be a string."]}),
    ({"branch": "a..b"}, {"branch": ["A branch name cannot contain '..'."]}),
    ({"tags": {"aws:x": "1"}}, {"tags": ["Tag key aws:x: the prefixes aws: and portal: are reserved."]}),
    ({"stage_parameters": {"staging": {"MemorySize": 64}}},
     {"stage_parameters.staging.MemorySize": ["Enter a whole number of MB from 128 to 10240."]}),
    ({"stage_parameters": {"production": {"LogRetentionInDays": 10}}},
     {"stage_parameters.production.LogRetentionInDays": [
         "Choose a retention CloudWatch Logs offers: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, "
         "1096, 1827, 2192, 2557, 2922, 3288, 3653 days."]}),
    ({"stage_parameters": {"production": {"LogRetentionInDays": "90"}}},
     {"stage_parameters.production.LogRetentionInDays": ["Must be a whole number."]}),
    ({"access": {BUILD: {"method": "assume_role", "role_name": "bad/role"}}},
     {f"access.{BUILD}.role_name": ["A role name is 1 to 64 letters, digits or + = , . @ _ - characters."]}),
    ({"connection_arn": CONNECTION},
     {"connection_arn": ["Only a GitHub source uses this field; leave it empty or set source_provider to GitHub."]}),
    ({"source_provider": "GitHub", "connection_arn": CONNECTION.replace("eu-west-1", "us-east-1"),
      "full_repository_id": "octo/app"},
     {"connection_arn": ["The connection must be in the pipeline's region eu-west-1; this one is in us-east-1."]}),
    ({"favourite": "blue"}, {"favourite": ["Unknown field."]}),
])
def test_refuses_invalid_fields_with_the_wizards_messages(api, changes, errors):
    body = {key: value for key, value in {**MINIMAL, **changes}.items()}
    response = api("post", "/setups", json=body)
    assert response.status_code == 422
    assert response.get_json() == {"errors": errors}


def test_refuses_a_missing_name_as_required(api):
    body = {key: value for key, value in MINIMAL.items() if key != "name"}
    assert api("post", "/setups", json=body).get_json() == {"errors": {"name": ["This field is required."]}}


@pytest.mark.parametrize("kwargs", [{"data": "not json", "content_type": "application/json"}, {"json": [1, 2]},
                                    {"data": "name=x", "content_type": "application/x-www-form-urlencoded"}])
def test_refuses_a_body_that_is_not_a_json_object(api, kwargs):
    response = api("post", "/setups", **kwargs)
    assert response.status_code == 400
    assert response.get_json() == {"errors": {"body": ["Send a JSON object with Content-Type: application/json."]}}


def test_refuses_a_duplicate_name_with_409(api):
    api("post", "/setups", json=MINIMAL)
    response = api("post", "/setups", json=MINIMAL)
    assert response.status_code == 409
    assert response.get_json()["errors"]["name"][0].startswith("Another setup already uses the name orders-api")


def test_updates_with_the_version_read(api):
    created = api("post", "/setups", json=MINIMAL).get_json()
    response = api("patch", f"/setups/{created['id']}", json={"version": 1, "branch": "develop",
                                                              "stage_parameters": {"staging": {"LogLevel": "DEBUG"}},
                                                              "access": {PRODUCTION: {"method": "self_launch"}}})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["version"], body["branch"]) == (2, "develop")
    assert body["stage_parameters"]["staging"] == {"LogLevel": "DEBUG", "Greeting": "Hello", "MemorySize": 128,
                                                   "LogRetentionInDays": 30}
    assert body["access"][PRODUCTION] == {"method": "self_launch"}
    assert body["access"][BUILD]["method"] == "assume_role"


def test_refuses_a_stale_version_with_409(api):
    created = api("post", "/setups", json=MINIMAL).get_json()
    api("patch", f"/setups/{created['id']}", json={"version": 1, "branch": "develop"})
    response = api("patch", f"/setups/{created['id']}", json={"version": 1, "branch": "release"})
    assert response.status_code == 409
    assert response.get_json()["errors"]["version"][0].startswith(
        "Someone else changed this setup while you were editing it (it is now at version 2; your copy was version 1)")
    assert api("get", f"/setups/{created['id']}").get_json()["branch"] == "develop"


@pytest.mark.parametrize("version", [None, "1", True, 0])
def test_an_update_needs_the_version(api, version):
    created = api("post", "/setups", json=MINIMAL).get_json()
    body = {"branch": "x"} if version is None else {"version": version, "branch": "x"}
    response = api("patch", f"/setups/{created['id']}", json=body)
    assert response.status_code == 422 and list(response.get_json()["errors"]) == ["version"]


def test_switching_to_codecommit_clears_the_github_fields(api):
    github = {**MINIMAL, "source_provider": "GitHub", "connection_arn": CONNECTION, "full_repository_id": "octo/app"}
    created = api("post", "/setups", json=github).get_json()
    body = api("patch", f"/setups/{created['id']}", json={"version": 1, "source_provider": "CodeCommit"}).get_json()
    assert (body["source_provider"], body["connection_arn"], body["full_repository_id"]) == ("CodeCommit", "", "")


def test_requests_a_plan_and_reads_its_status(app, api, broker):
    created = api("post", "/setups", json=MINIMAL).get_json()
    response = api("post", f"/setups/{created['id']}/plan")
    assert response.status_code == 202
    operation = response.get_json()
    assert (operation["kind"], operation["status"], operation["requested_by"]) == ("plan", "pending", "operator")
    assert response.headers["Location"] == f"/api/v1/operations/{operation['id']}"
    detail = api("get", f"/operations/{operation['id']}", role="viewer").get_json()
    assert {key: detail[key] for key in operation} == operation
    assert (detail["stacks"], detail["root_cause"]) == ([], {})
    assert api("get", f"/setups/{created['id']}").get_json()["operations"] == [operation]
    assert broker.llen("celery") == 1


def test_a_plan_for_a_draft_is_a_409(app, api, make_setup):
    setup_id = make_setup(name="")
    response = api("post", f"/setups/{setup_id}/plan")
    assert response.status_code == 409
    assert response.get_json() == {"errors": {"status": [
        "The setup is not complete: finish the application step before asking for a plan."]}}
    with app.app_context():
        assert get_session().scalar(select(Operation.id)) is None


def test_a_plan_with_the_broker_down_is_a_503_with_the_failed_operation(app, api):
    created = api("post", "/setups", json=MINIMAL).get_json()
    app.extensions["celery"].conf.broker_url = "redis://127.0.0.1:1/9"
    app.config["CELERY_BROKER_URL"] = "redis://127.0.0.1:1/9"
    response = api("post", f"/setups/{created['id']}/plan")
    assert response.status_code == 503
    body = response.get_json()
    assert body["operation"]["status"] == "failed"
    assert body["errors"]["queue"] == [body["operation"]["error"]]


@pytest.mark.parametrize("headers, message", [
    ({}, "Send an API token: Authorization: Bearer <token>. Create one on your API tokens page."),
    ({"Authorization": "Bearer lpp_nope"}, "The API token is unknown or revoked."),
    ({"Authorization": "Basic dXNlcjpwYXNz"},
     "Send an API token: Authorization: Bearer <token>. Create one on your API tokens page."),
])
def test_needs_a_valid_token(client, headers, message):
    response = client.get("/api/v1/setups", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="portal"'
    assert response.get_json() == {"errors": {"token": [message]}}


def test_a_signed_in_browser_session_does_not_authenticate_the_api(client, auth, users):
    auth.login("operator")
    assert client.post("/api/v1/setups", json=MINIMAL).status_code == 401


@pytest.mark.parametrize("role, method, path", [
    ("viewer", "post", "/setups"), ("approver", "post", "/setups"),
    ("viewer", "patch", "/setups/{id}"), ("viewer", "post", "/setups/{id}/plan"),
])
def test_refuses_actions_outside_the_role_with_403(api, role, method, path):
    created = api("post", "/setups", json=MINIMAL).get_json()
    response = api(method, path.format(id=created["id"]), role=role, json={**MINIMAL, "version": 1})
    assert response.status_code == 403
    assert response.get_json() == {"errors": {"request": [
        "Your role does not allow this. Ask an admin if you need it."]}}


@pytest.mark.parametrize("path, errors", [
    ("/setups/999", {"setup": ["There is no setup 999."]}),
    ("/setups/99999999999", {"setup": ["There is no setup 99999999999."]}),
    ("/operations/5", {"operation": ["There is no operation 5."]}),
    ("/nothing", {"request": ["There is nothing at this address."]}),
])
def test_unknown_objects_are_json_404s(api, path, errors):
    response = api("get", path)
    assert response.status_code == 404 and response.get_json() == {"errors": errors}


def test_wrong_method_is_a_json_405_with_allow(api):
    response = api("delete", "/setups")
    assert response.status_code == 405 and "POST" in response.headers["Allow"]
    assert "errors" in response.get_json()


@pytest.mark.parametrize("page", ["0", "x", "-1", "1000001"])
def test_refuses_a_bad_page_number(api, page):
    response = api("get", f"/setups?page={page}")
    assert response.status_code == 400
    assert response.get_json() == {"errors": {"page": ["Must be a whole number from 1 to 1000000."]}}


def test_serves_its_openapi_description(api, client, auth):
    spec = api("get", "/openapi.json").get_json()
    assert spec["openapi"].startswith("3.") and "/api/v1/setups/{setup_id}/plan" in spec["paths"]
    assert client.get("/api/v1/openapi.json").status_code == 401
    auth.login("viewer")
    assert client.get("/api/v1/openapi.json").status_code == 200
