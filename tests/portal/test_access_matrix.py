"""Every route × role × team, generated from the URL map and the OpenAPI document.

Each view declares its rule (portal.security.AccessRule, set by the decorators of portal/security.py
and portal/access.py); a route without one fails here. For one deployed setup of team A, every user
(an admin; each team role in team A; each team role in team B) calls every route with real ids:
another team's setup is a 404 that says no more than a missing one would, a role lacking the
permission a 403, and the allowed ones get neither.
"""
from __future__ import annotations

import re

import pytest
from core import teams
from core.models import Setup, Team
from portal import tokens
from portal.api.openapi import build_spec
from portal.db import get_session
from portal.security import AccessRule
from tests.portal import factories
from tests.portal.helpers import AuthActions, csrf_token
from tests.portal.test_pipelines import seed_snapshot

pytestmark = pytest.mark.slow
TEAM_ROLES = ("operator", "approver", "viewer")
USERS = ["admin", *(f"{role}-a" for role in TEAM_ROLES), *(f"{role}-b" for role in TEAM_ROLES)]
# The rule of every route, written out here: a new route fails until it is listed, and a view whose
# declared rule (or its enforcement) differs from this table fails the matrix.
RULES: dict[tuple[str, str], list[str]] = {
    ("public", ""): ["auth.login", "health.healthz"],
    ("signed in", ""): ["auth.logout", "auth.change_password", "auth.list_tokens", "auth.create_token",
                        "auth.revoke_token", "setups.index", "pipelines.index", "approvals.by_application",
                        "api.openapi", "api.list_setups", "api.list_pipelines", "api.list_teams"],
    ("any team", "setup.edit"): ["setups.new", "api.create_setup"],
    ("setup", "setup.view"): ["setups.review", "setups.deployments", "setups.settings", "deployments.operation",
                              "deployments.events", "pipelines.pipeline", "pipelines.live", "approvals.approval",
                              "approvals.live", "api.get_setup", "api.get_operation", "api.get_pipeline",
                              "api.list_pipeline_executions", "api.get_approval", "api.list_operations",
                              "api.operation_events"],
    ("setup", "setup.edit"): ["setups.accounts", "setups.application", "setups.access", "api.update_setup"],
    ("setup", "setup.plan"): ["setups.request_plan", "api.request_plan"],
    ("setup", "setup.apply"): ["deployments.apply", "deployments.cancel", "api.apply_plan", "api.cancel_operation"],
    ("setup", "setup.teardown"): ["deployments.teardown", "api.request_teardown"],
    ("setup", "pipeline.operate"): ["pipelines.release", "pipelines.retry", "pipelines.stop", "api.request_release",
                                    "api.retry_stage", "api.stop_execution"],
    ("setup", "production.approve"): ["approvals.decide", "api.decide_approval"],
    ("setup", "setup.transfer"): ["setups.transfer", "api.transfer_setup"],
    ("team", "setup.view"): ["api.get_team", "api.list_members"],
    ("team", "teams.manage"): ["api.rename_team", "api.delete_team", "api.add_member", "api.change_member",
                               "api.remove_member"],
    ("any team", "teams.manage"): ["api.create_team", "admin.teams", "admin.create_team", "admin.team",
                                   "admin.rename_team", "admin.delete_team", "admin.add_member",
                                   "admin.change_member", "admin.remove_member"],
    ("any team", "users.manage"): ["admin.users", "admin.create_user", "admin.edit_user", "admin.sign_out_everywhere"],
    ("any team", "audit.view"): ["admin.audit_log"],
}
RULE_OF = {endpoint: AccessRule(*rule) for rule, names in RULES.items() for endpoint in names}
CSRF_VALUE = re.compile(r'name="csrf_token"[^>]*value="[^"]+"')
NOT_VISIBLE = re.compile(r"There is no (setup|operation|team) \d+\.")


def endpoints(app):
    """(endpoint, rule, method, view) for every route of the app, the static files aside."""
    for url_rule in app.url_map.iter_rules():
        if url_rule.endpoint == "static":
            continue
        for method in sorted(url_rule.methods - {"HEAD", "OPTIONS"}):
            yield url_rule.endpoint, url_rule, method, app.view_functions[url_rule.endpoint]


def test_every_route_declares_the_access_rule_this_table_gives_it(app):
    missing = sorted({endpoint for endpoint, _, _, view in endpoints(app) if not hasattr(view, "access")})
    assert missing == [], f"routes without an access rule (portal/access.py): {missing}"
    unlisted = sorted({endpoint for endpoint, _, _, _ in endpoints(app)} - set(RULE_OF))
    assert unlisted == [], f"routes missing from RULES: {unlisted}"
    assert {endpoint: view.access for endpoint, _, _, view in endpoints(app)} == RULE_OF
    for endpoint, url_rule, _, view in endpoints(app):
        rule = view.access
        assert rule.scope in ("public", "signed in", "any team", "setup", "team"), endpoint
        if rule.scope in ("any team", "setup", "team"):
            assert rule.permission in teams.PERMISSIONS, endpoint
        # A view of one setup or team must say so: the URL names it, so the rule can find its team.
        named = set(url_rule.arguments) & {"setup_id", "operation_id"}
        if named and not endpoint.startswith("admin."):
            assert rule.scope == "setup", f"{endpoint} names a setup but its rule is {rule.scope}"


def test_the_openapi_document_and_the_api_routes_are_the_same_set(app):
    documented = {(method.upper(), re.sub(r"\{(\w+)\}", r"<\1>", path))
                  for path, item in build_spec()["paths"].items() for method in item}
    routed = {(method, re.sub(r"<(?:\w+:)?(\w+)>", r"<\1>", url_rule.rule))
              for endpoint, url_rule, method, _ in endpoints(app)
              if endpoint.startswith("api.") and endpoint != "api.openapi"}
    assert documented == routed


@pytest.fixture
def world(app, db, make_user, make_setup, broker):
    """Team A (the default team) with a deployed setup; team B; a user per role in each; an admin; a bystander."""
    beta = Team(name="beta")
    db.add(beta)
    db.commit()
    ids = {"admin": make_user("admin", "admin")}
    for role in TEAM_ROLES:
        ids[f"{role}-a"] = make_user(f"{role}-a", role)
        ids[f"{role}-b"] = make_user(f"{role}-b", role, team="beta")
    bystander = make_user("bystander", "viewer")  # the user the admin routes act on
    setup = db.get(Setup, make_setup())
    plan = factories.add_plan(db, setup)
    factories.add_apply(db, setup, plan, status="succeeded")
    db.commit()
    seed_snapshot(db, setup)
    with app.app_context():
        session = get_session()
        bearer = {name: tokens.create_token(session, user_id, "matrix")[1] for name, user_id in ids.items()}
        session.commit()
    return {"setup": setup.id, "app": setup.name, "plan": plan.id, "team_a": setup.team_id, "team_b": beta.id,
            "bystander": bystander, "ids": ids, "bearer": bearer}


def url_of(url_rule, world) -> str:
    values = {"setup_id": world["setup"], "operation_id": world["plan"], "plan_id": world["plan"],
              "stage": "Build", "app": world["app"], "team_id": world["team_a"], "user_id": world["bystander"],
              "token_id": 1}
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), url_rule.rule)


def call(app, world, user: str, method: str, url: str):
    client = app.test_client()
    if url.startswith("/api/"):
        return client.open(url, method=method, json={}, headers={"Authorization": f"Bearer {world['bearer'][user]}"})
    AuthActions(client).login(user)
    data = {"csrf_token": csrf_token(client, "/account/tokens")} if method == "POST" else None
    return client.open(url, method=method, data=data)


def expected(rule, user: str, world) -> str:
    """"allowed", "403" or "404" for ``user`` under ``rule`` on team A's setup (or team A)."""
    role = None if user == "admin" else user.split("-")[0]
    admin = user == "admin"
    in_a = admin or user.endswith("-a")
    holds = admin or (role is not None and rule.permission in teams.TEAM_PERMISSIONS
                      and role in teams.TEAM_PERMISSIONS[rule.permission])
    if rule.scope in ("public", "signed in"):
        return "allowed"
    if rule.scope == "any team":
        return "allowed" if holds else "403"
    if not in_a:
        return "404"
    return "allowed" if holds else "403"


@pytest.mark.parametrize("user", USERS)
def test_route_role_team_matrix(app, world, user):
    wrong = []
    for endpoint, url_rule, method, view in endpoints(app):
        if endpoint == "auth.logout" or endpoint == "approvals.by_application":
            continue  # signs the user out / a list by name: both below
        url = url_of(url_rule, world)
        response = call(app, world, user, method, url)
        want = expected(RULE_OF[endpoint], user, world)
        text = response.get_data(as_text=True)
        got = str(response.status_code)
        if want == "allowed" and (got == "403" or NOT_VISIBLE.search(text)):
            wrong.append((method, url, want, got))
        elif want == "403" and got != "403":
            wrong.append((method, url, want, got))
        elif want == "404" and not (got == "404" and NOT_VISIBLE.search(text)):
            wrong.append((method, url, want, got))
    assert wrong == [], wrong


def same(response) -> str:
    """The answer without what differs per request anyway (the sign-out form's CSRF token)."""
    return CSRF_VALUE.sub("", response.get_data(as_text=True))


@pytest.mark.parametrize("user", ["operator-b", "viewer-b"])
def test_another_teams_setup_answers_as_a_missing_one_does(app, world, user):
    for url in ("/api/v1/setups/{}", "/setups/{}", "/pipelines/{}/live", "/api/v1/operations/{}"):
        ident = world["plan"] if "operations" in url else world["setup"]
        theirs, missing = (call(app, world, user, "GET", url.format(n)) for n in (ident, 999999))
        assert (theirs.status_code, same(theirs).replace(f" {ident}.", " N.")) == (
            missing.status_code, same(missing).replace(" 999999.", " N.")), url
    assert call(app, world, user, "GET", f"/approvals/{world['app']}").status_code == 404


def test_the_lists_show_only_the_users_teams(app, world):
    for user, sees in (("viewer-a", True), ("viewer-b", False), ("admin", True)):
        setups = call(app, world, user, "GET", "/api/v1/setups").get_json()["setups"]
        pipelines = call(app, world, user, "GET", "/api/v1/pipelines").get_json()["pipelines"]
        assert ([s["id"] for s in setups] == [world["setup"]]) is sees and (len(pipelines) == 1) is sees, user
        page = call(app, world, user, "GET", "/").get_data(as_text=True)
        assert (f"/setups/{world['setup']}" in page) is sees, user
        assert (call(app, world, user, "GET", f"/approvals/{world['app']}").status_code == 302) is sees, user
