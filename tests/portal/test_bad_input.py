"""Bad input gets a 4xx with a clear message, never a 500 (issue 10), in pages and in the API.

Each shape here once answered 500: digits that str.isdigit() accepts and int() refuses, numbers too
long for int(), ids past PostgreSQL's 32-bit integers, lone UTF-16 surrogates, NUL bytes, and JSON
nested deeper than Python's recursion limit.
"""
from __future__ import annotations

import pytest
from flask import url_for

from core import validation as v
from portal.settings import ConfigurationError, settings_from_env
from tests.portal import factories as f
from tests.portal.helpers import submit
from tests.portal.test_api import api, bearer  # noqa: F401 - fixtures

# '²' and '①' pass str.isdigit() and fail int(); '٣' passes both (it is 3) but is no ASCII digit; the
# long ones pass isdigit() and int() raises over 4,300 digits; 2**40 overflows PostgreSQL's integer.
NOT_NUMBERS = ["²", "①", "٣", "1" * 5000, "9" * 4300, str(2**40), "１２", "-1", " 1", "1.0", ""]
NOT_NUMBER_IDS = ["superscript", "circled", "arabic-indic", "5000-digits", "4300-digits", "2**40", "fullwidth",
                  "negative", "space", "decimal", "empty"]


@pytest.mark.parametrize("raw", NOT_NUMBERS, ids=NOT_NUMBER_IDS)
def test_the_api_refuses_a_page_that_is_no_ascii_number(api, raw):
    response = api("get", "/setups", query_string={"page": raw})
    assert response.status_code == 400
    assert response.get_json() == {"errors": {"page": ["Must be a whole number from 1 to 1000000."]}}


@pytest.mark.parametrize("raw", NOT_NUMBERS, ids=NOT_NUMBER_IDS)
def test_the_api_refuses_an_after_that_is_no_ascii_number(api, db, ready_setup, raw):
    applied = f.add_apply(db, ready_setup, f.add_plan(db, ready_setup))
    db.commit()
    response = api("get", f"/operations/{applied.id}/events", query_string={"after": raw})
    assert response.status_code == 400
    assert list(response.get_json()["errors"]) == ["after"]
    response = api("get", f"/setups/{ready_setup.id}/operations", query_string={"page": raw})
    assert response.status_code == 400 and list(response.get_json()["errors"]) == ["page"]


@pytest.mark.parametrize("raw", NOT_NUMBERS, ids=NOT_NUMBER_IDS)
def test_the_live_page_refuses_an_after_that_is_no_ascii_number(client, auth, users, db, ready_setup, raw):
    applied = f.add_apply(db, ready_setup, f.add_plan(db, ready_setup))
    db.commit()
    auth.login("viewer")
    response = client.get(f"/setups/{ready_setup.id}/operations/{applied.id}/events", query_string={"after": raw})
    assert response.status_code == 400
    assert response.get_json() == {"errors": {"after": ["Must be a whole number: the next_after of the previous "
                                                        "answer."]}}


@pytest.mark.parametrize("raw", NOT_NUMBERS, ids=NOT_NUMBER_IDS)
def test_the_audit_log_shows_its_first_page_for_a_page_that_is_no_number(client, auth, users, raw):
    auth.login("admin")
    response = client.get("/admin/audit", query_string={"page": raw})
    assert response.status_code == 200 and "Page 1 of 1" in response.get_data(as_text=True)


def arabic_indic(number: int) -> str:
    return "".join(chr(0x0660 + int(digit)) for digit in str(number))


@pytest.mark.parametrize("path", [
    "/setups/{id}", "/setups/{id}/deployments", "/setups/{id}/settings", "/setups/{id}/accounts",
    "/setups/{id}/teardown", "/api/v1/setups/{id}",
    "/api/v1/setups/{id}/operations", "/admin/users/{id}",
])
@pytest.mark.parametrize("spelled", [arabic_indic, lambda n: "1" * 5000, lambda n: str(2**40)],
                         ids=["arabic-indic", "5000-digits", "2**40"])
def test_an_id_that_is_no_ascii_number_in_range_is_no_page(client, auth, users, bearer, make_setup, path, spelled):
    setup_id = make_setup()
    auth.login("admin")
    response = client.get(path.format(id=spelled(setup_id)), headers=bearer["admin"] if "/api/" in path else {})
    assert response.status_code == 404


def test_a_setup_is_found_by_its_ascii_id(client, auth, users, make_setup):
    auth.login("viewer")
    assert client.get(f"/setups/{make_setup()}").status_code == 200


@pytest.mark.parametrize("version", ["²", "①", "1" * 5000], ids=["superscript", "circled", "5000-digits"])
def test_a_wizard_step_with_an_unreadable_version_is_a_conflict(client, auth, users, make_setup, setup_row, version):
    setup_id = make_setup()
    auth.login("operator")
    page = f"/setups/{setup_id}/accounts"
    response = submit(client, page, {"build_account_id": "444444444444", "staging_account_id": "222222222222",
                                     "production_account_id": "333333333333", "region": "eu-west-1",
                                     "version": version})
    assert response.status_code == 409
    assert setup_row(setup_id).build_account_id == "111111111111"


@pytest.mark.parametrize("user_id", ["²", "1" * 5000, str(2**40)], ids=["superscript", "5000-digits", "2**40"])
def test_a_session_naming_no_user_id_signs_nobody_in(client, users, user_id):
    with client.session_transaction() as session:
        session["_user_id"] = user_id
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("raw", ["²", "1" * 5000], ids=["superscript", "5000-digits"])
def test_a_setting_that_is_no_ascii_number_is_refused_at_start(raw):
    with pytest.raises(ConfigurationError, match="PORTAL_PROXY_COUNT must be a whole number"):
        settings_from_env({"PORTAL_PROXY_COUNT": raw})


def test_the_id_converter_still_builds_addresses(app):
    with app.test_request_context():
        assert url_for("setups.review", setup_id=12) == "/setups/12"


# --- text no column can hold: lone surrogates and NUL ---------------------------------------------

SURROGATE, NUL = "\\ud800", "\\u0000"  # as a JSON body spells them


def raw_json(method_call, path: str, text: str, **kwargs):
    return method_call(path, data=text.encode("utf-8"), content_type="application/json", **kwargs)


@pytest.mark.parametrize("escape, message", [(SURROGATE, v.LONE_SURROGATE), (NUL, v.NUL_CHARACTER)],
                         ids=["surrogate", "nul"])
@pytest.mark.parametrize("fields, path", [
    ('"stage_parameters": {"staging": {"Greeting": "Hi %s"}}', "stage_parameters.staging.Greeting"),
    ('"branch": "main%s"', "branch"),
    ('"name": "%s"', "name"),
    ('"approval_email": "a%s@example.com"', "approval_email"),
    ('"tags": {"team": "pay%s"}', "tags.team"),
    ('"tags": {"te%sam": "x"}', "tags.te{escaped}am"),
    ('"access": {"111111111111": {"method": "assume_role", "role_name": "R%s"}}', "access.111111111111.role_name"),
    ('"greeting": "%s"', "greeting"),
    ('"x%s": 1', "x{escaped}"),
], ids=["greeting", "branch", "name", "email", "tag-value", "tag-key", "role", "unknown-field", "unknown-key"])
def test_a_patch_with_unstorable_text_is_refused_and_stores_nothing(
        client, bearer, api, setup_row, make_setup, auth, users, fields, path, escape, message):
    setup_id = make_setup()
    before = api("get", f"/setups/{setup_id}").get_json()
    body = '{"version": 1, ' + fields.replace("%s", escape) + "}"
    response = raw_json(client.patch, f"/api/v1/setups/{setup_id}", body, headers=bearer["operator"])
    assert response.status_code == 400
    escaped = "\\ud800" if escape == SURROGATE else "\\x00"
    key = "The field's name: " if "{escaped}" in path else ""
    assert response.get_json() == {"errors": {path.format(escaped=escaped): [key + message]}}
    assert api("get", f"/setups/{setup_id}").get_json() == before
    auth.login("operator")
    for page in ("", "/accounts", "/application", "/access"):
        assert client.get(f"/setups/{setup_id}{page}").status_code == 200, page


@pytest.mark.parametrize("escape", [SURROGATE, NUL], ids=["surrogate", "nul"])
def test_a_new_setup_with_unstorable_text_is_refused(client, bearer, api, escape):
    body = '{"name": "orders-api", "branch": "b%s"}' % escape
    response = raw_json(client.post, "/api/v1/setups", body, headers=bearer["operator"])
    assert response.status_code == 400 and list(response.get_json()["errors"]) == ["branch"]
    assert api("get", "/setups").get_json()["total"] == 0


def test_a_teardown_confirmation_with_unstorable_text_is_refused(client, bearer, make_setup):
    response = raw_json(client.post, f"/api/v1/setups/{make_setup()}/teardown", '{"confirmation": "\\udfff"}',
                        headers=bearer["operator"])
    assert response.status_code == 400
    assert response.get_json() == {"errors": {"confirmation": [v.LONE_SURROGATE]}}


def test_a_body_that_is_not_utf8_is_refused(client, bearer, make_setup):
    response = client.patch(f"/api/v1/setups/{make_setup()}", data=b'{"branch": "\xff"}',
                            content_type="application/json", headers=bearer["operator"])
    assert response.status_code == 400 and response.get_json() == {"errors": {"body": ["Send the JSON as UTF-8."]}}


@pytest.mark.parametrize("page", ["/admin/audit?actor=a%00b", "/admin/audit?action=%00", "/admin/audit?%00=1"])
def test_a_query_holding_nul_is_a_400(client, auth, users, page):
    auth.login("admin")
    response = client.get(page)
    assert response.status_code == 400 and v.NUL_CHARACTER in response.get_data(as_text=True)


@pytest.mark.parametrize("page, field", [("/login", "username"), ("/login", "password")])
def test_a_form_holding_nul_is_a_400(client, users, page, field):
    response = submit(client, page, {"username": "admin", "password": "x", field: "ad\x00min"})
    assert response.status_code == 400 and v.NUL_CHARACTER in response.get_data(as_text=True)


def test_a_wizard_step_holding_nul_is_a_400_and_stores_nothing(client, auth, users, make_setup, setup_row):
    setup_id = make_setup()
    auth.login("operator")
    response = submit(client, f"/setups/{setup_id}/application", {
        "name": "orders-api", "branch": "ma\x00in", "source_provider": "CodeCommit", "version": "1"})
    assert response.status_code == 400 and setup_row(setup_id).branch == "main"


# --- JSON nested deeper than Python's recursion limit ----------------------------------------------

DEEP = "[" * 100_000 + "]" * 100_000
DEEP_OBJECT = '{"tags": ' + '{"a":' * 40_000 + "1" + "}" * 40_001  # 200 KiB, under the size limit


@pytest.mark.parametrize("text", [DEEP, DEEP_OBJECT, '{"version": 1, "x": ' + "[" * 9 + "]" * 9 + "}"],
                         ids=["array", "object", "just-too-deep"])
@pytest.mark.parametrize("method, path", [
    ("post", "/setups"), ("patch", "/setups/{setup}"), ("post", "/setups/{setup}/teardown"),
])
def test_a_body_nested_too_deep_is_a_400(client, bearer, make_setup, method, path, text):
    url = "/api/v1" + path.format(setup=make_setup())
    response = raw_json(getattr(client, method), url, text, headers=bearer["operator"])
    assert response.status_code == 400
    assert response.get_json() == {"errors": {"body": [
        "The JSON is nested more than 8 levels deep; a setup document needs three."]}}


@pytest.mark.parametrize("path", ["/setups/{setup}/plan", "/operations/{plan}/apply", "/operations/{plan}/cancel"])
def test_an_endpoint_without_a_body_ignores_a_deep_one(client, bearer, db, ready_setup, broker, path):
    plan = f.add_plan(db, ready_setup)
    db.commit()
    url = "/api/v1" + path.format(setup=ready_setup.id, plan=plan.id)
    response = raw_json(client.post, url, DEEP, headers=bearer["operator"])
    assert response.status_code in (200, 202, 409), response.get_json()


def test_a_strings_brackets_do_not_count_as_nesting(api, make_setup):
    setup_id = make_setup()
    response = api("patch", f"/setups/{setup_id}", json={"version": 1, "tags": {"team": "[[[[[[[[[[{{{{{{{{{{"}})
    assert response.status_code == 422 and list(response.get_json()["errors"]) == ["tags"]


def test_a_body_larger_than_a_setup_can_be_is_refused(client, bearer, make_setup):
    text = '{"version": 1, "tags": {"team": "' + "x" * 300_000 + '"}}'
    response = raw_json(client.patch, f"/api/v1/setups/{make_setup()}", text, headers=bearer["operator"])
    assert response.status_code == 400 and list(response.get_json()["errors"]) == ["body"]
