"""Property-based: the shapes of input that once answered 500, anywhere in pages and the API, get a 4xx.

The strategies are the shapes issue 10 found by hand (digits str.isdigit() takes and int() refuses,
numbers past int()'s 4,300 digits or PostgreSQL's integers, lone surrogates, NUL and other control
characters, JSON nested past the recursion limit), mixed with ordinary text, so the next such input is
found here rather than by a user.
"""
from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.portal.test_api import api, bearer  # noqa: F401 - fixtures

UNICODE_DIGITS = st.text(st.characters(categories=["Nd", "No", "Nl"]), min_size=1, max_size=6)
HUGE_NUMBERS = st.one_of(st.integers(2**31, 10**40).map(str), st.integers(4290, 5000).map(lambda n: "9" * n))
CONTROL = st.text(st.characters(categories=["Cc"]), min_size=1, max_size=3)
SURROGATES = st.text(st.characters(categories=["Cs"]), min_size=1, max_size=2)
HOSTILE_TEXT = st.one_of(UNICODE_DIGITS, HUGE_NUMBERS, CONTROL, SURROGATES, st.text(max_size=20),
                         st.tuples(st.text(max_size=5), st.one_of(CONTROL, SURROGATES, UNICODE_DIGITS), st.text(max_size=5))
                         .map("".join))
# What a query string or form can carry: werkzeug turns encoded surrogates into U+FFFD itself.
QUERY_TEXT = HOSTILE_TEXT.map(lambda text: text.encode("utf-8", "surrogatepass").decode("utf-8", "replace"))
DEEP_JSON = st.tuples(st.sampled_from(["[", '{"a":']), st.integers(9, 100_000)).map(
    lambda shape: shape[0] * shape[1] + "1" + ("]" if shape[0] == "[" else "}") * shape[1])
FIELDS = ["name", "branch", "build_account_id", "region", "source_provider", "approval_email", "connection_arn",
          "full_repository_id", "version", "tags", "stage_parameters", "access", "greeting", "x"]
PROPERTY = settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))


def hostile_value(text_strategy):
    """A JSON value of any type around the hostile text, nested at most a little."""
    return st.recursive(st.one_of(text_strategy, st.integers(-2**70, 2**70), st.none(), st.booleans()),
                        lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                st.dictionaries(text_strategy, inner, max_size=3)),
                        max_leaves=6)


def test_query_numbers_and_paths_never_answer_500(app, client, bearer, make_setup, users, auth):
    setup_id = make_setup()
    auth.login("admin")
    pages = ["/api/v1/setups?page={}", f"/api/v1/setups/{setup_id}/operations?page={{}}", "/admin/audit?page={}",
             "/admin/audit?actor={}", "/api/v1/setups/{}", "/setups/{}", "/setups/{}/deployments",
             "/setups/{}/settings", "/setups/{}/application", "/admin/users/{}",
             f"/setups/{setup_id}/operations/{{}}/events?after=1", "/api/v1/operations/{}/events?after={}",
             "/pipelines/{}", "/pipelines/{}?page={}", "/api/v1/pipelines/{}", "/api/v1/pipelines/{}/executions?page={}",
             "/pipelines?q={}"]

    @PROPERTY
    @given(page=st.sampled_from(pages), text=QUERY_TEXT)
    def check(page, text):
        from urllib.parse import quote
        response = client.get(page.replace("{}", quote(text, safe="")), headers=bearer["admin"])
        assert response.status_code < 500, (page, text[:40], response.status_code)

    check()


def at(path: str, value):
    """The body fields that put ``value`` at the dotted ``path`` of a setup document."""
    *outer, last = path.split(".")
    body = {last: value}
    for key in reversed(outer):
        body = {key: body}
    return body


# Each string a setup holds, alone, so one hostile value meets its own rule rather than another's refusal.
STRING_PATHS = ["name", "branch", "region", "approval_email", "build_account_id", "tags.team",
                "stage_parameters.staging.Greeting", "stage_parameters.production.LogLevel",
                "access.111111111111.role_name", "access.222222222222.external_id"]
ONE_STRING = st.builds(at, st.sampled_from(STRING_PATHS), HOSTILE_TEXT)
ANY_FIELDS = st.dictionaries(st.sampled_from(FIELDS), hostile_value(HOSTILE_TEXT), min_size=1, max_size=3)


def test_api_bodies_never_answer_500_and_a_refusal_stores_nothing(client, bearer, api, make_setup):
    setup_id = make_setup()

    @settings(PROPERTY, max_examples=150)
    @given(fields=st.one_of(ONE_STRING, ANY_FIELDS))
    def check(fields):
        before = api("get", f"/setups/{setup_id}").get_json()
        # ensure_ascii spells a lone surrogate as \ud800, as a hand-written client would.
        text = json.dumps({"version": before["version"], **fields})
        response = client.patch(f"/api/v1/setups/{setup_id}", data=text, content_type="application/json",
                                headers=bearer["operator"])
        assert response.status_code < 500, (fields, response.status_code)
        if response.status_code >= 400:
            assert api("get", f"/setups/{setup_id}").get_json() == before

    check()


def test_deep_json_never_answers_500_on_any_endpoint_with_a_body(client, bearer, make_setup):
    setup_id = make_setup()
    endpoints = [("post", "/api/v1/setups"), ("patch", f"/api/v1/setups/{setup_id}"),
                 ("post", f"/api/v1/setups/{setup_id}/teardown"), ("post", f"/api/v1/pipelines/{setup_id}/stop")]

    @settings(max_examples=20, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(endpoint=st.sampled_from(endpoints), text=DEEP_JSON)
    def check(endpoint, text):
        method, path = endpoint
        response = client.open(path, method=method.upper(), data=text, content_type="application/json",
                               headers=bearer["operator"])
        # The stop endpoint finds no deployed pipeline here (404) before it reads the body.
        assert response.status_code == (404 if "/stop" in path else 400), (path, len(text), response.status_code)

    check()


def test_wizard_forms_never_answer_500(client, auth, users, make_setup):
    setup_id = make_setup()
    auth.login("operator")
    from tests.portal.helpers import csrf_token
    token = csrf_token(client, f"/setups/{setup_id}/application")

    @PROPERTY
    @given(field=st.sampled_from(["name", "branch", "approval_email", "tags", "version",
                                  "staging-Greeting", "production-MemorySize"]), text=QUERY_TEXT)
    def check(field, text):
        data = {"name": "orders-api", "branch": "main", "source_provider": "CodeCommit", "version": "1",
                field: text, "csrf_token": token}
        response = client.post(f"/setups/{setup_id}/application", data=data)
        assert response.status_code < 500, (field, text[:40], response.status_code)

    check()


def test_approval_pages_and_decisions_never_answer_500_and_hostile_ones_record_nothing(app, client, bearer, auth, db,
                                                                                     ready_setup, users):
    from sqlalchemy import func, select

    from core.models import ApprovalDecision, ApprovalVote
    from tests.portal import factories as f
    from tests.portal.helpers import csrf_token
    from tests.portal.test_pipelines import seed_snapshot

    f.add_apply(db, ready_setup, f.add_plan(db, ready_setup), status="succeeded")
    seed_snapshot(db, ready_setup)
    setup_id = ready_setup.id
    auth.login("approver")
    token = csrf_token(client, f"/pipelines/{setup_id}/approval")
    pages = ["/approvals/{}", "/approvals/orders-api?account={}", "/approvals/orders-api?region={}",
             "/pipelines/{}/approval", "/pipelines/{}/approval/live", "/api/v1/pipelines/{}/approval"]

    @PROPERTY
    @given(page=st.sampled_from(pages), text=QUERY_TEXT)
    def check_pages(page, text):
        from urllib.parse import quote
        response = client.get(page.replace("{}", quote(text, safe="")), headers=bearer["approver"])
        assert response.status_code < 500, (page, text[:40], response.status_code)

    @PROPERTY
    @given(field=st.sampled_from(["decision", "comment", "execution_id"]), text=QUERY_TEXT)
    def check_form(field, text):
        data = {"decision": "reject", "comment": "", "csrf_token": token, field: text}
        response = client.post(f"/pipelines/{setup_id}/approval", data=data)
        assert response.status_code < 500, (field, text[:40], response.status_code)

    @PROPERTY
    @given(fields=st.dictionaries(st.sampled_from(["decision", "comment", "execution_id", "x"]),
                                  hostile_value(HOSTILE_TEXT), min_size=1, max_size=3))
    def check_api(fields):
        fields.pop("decision", None) if fields.get("decision") in ("approve", "reject") else None
        response = client.post(f"/api/v1/pipelines/{setup_id}/approval", data=json.dumps(fields),
                               content_type="application/json", headers=bearer["approver"])
        assert 400 <= response.status_code < 500, (fields, response.status_code)

    check_pages()
    check_api()
    check_form()
    recorded = db.scalar(select(func.count()).select_from(ApprovalDecision)) + db.scalar(
        select(func.count()).select_from(ApprovalVote))
    # Only a form whose hostile text landed in a comment or execution id could be a decision; none is an approval.
    assert db.scalar(select(func.count()).select_from(ApprovalDecision).where(
        ApprovalDecision.decision == "approve")) == 0 and recorded <= 1
