"""Teams end to end: memberships taking effect at once, the wizard's team, moving a setup, the audit log by team,
the two-person rule counting the team's approvers, and a property test that no request reaches another team."""
from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from core.models import ApprovalDecision, ApprovalVote, AuditEntry, Membership, Setup, Team, User
from portal import memberships, tokens
from portal.db import get_session
from tests.portal import factories
from tests.portal.helpers import (PASSWORD, TEST_BROKER_URL, TEST_SECRET, default_team, field_errors, fill,
                                  submit)
from tests.portal.live import chromium_page, serve_portal
from tests.portal.test_pipelines import EXECUTION, seed_snapshot


@pytest.fixture
def beta(db) -> int:
    team = Team(name="beta")
    db.add(team)
    db.commit()
    return team.id


def bearer(app, user_id: int) -> dict[str, str]:
    with app.app_context():
        _, plaintext = tokens.create_token(get_session(), user_id, "test")
        get_session().commit()
    return {"Authorization": f"Bearer {plaintext}"}


def deployed(db, make_setup, **values) -> Setup:
    setup = db.get(Setup, make_setup(**values))
    factories.add_apply(db, setup, factories.add_plan(db, setup), status="succeeded")
    db.commit()
    return setup


def test_a_removed_member_loses_the_team_on_the_next_request_by_session_and_token(app, client, auth, users,
                                                                                 make_setup):
    setup_id = make_setup()
    auth.login("viewer")
    token = bearer(app, users["viewer"])
    admin = bearer(app, users["admin"])
    api = app.test_client()
    assert client.get(f"/setups/{setup_id}").status_code == 200
    assert api.get(f"/api/v1/setups/{setup_id}", headers=token).status_code == 200
    team = api.get(f"/api/v1/setups/{setup_id}", headers=admin).get_json()["team_id"]
    assert api.delete(f"/api/v1/teams/{team}/members/{users['viewer']}", headers=admin).status_code == 204
    assert client.get(f"/setups/{setup_id}").status_code == 404
    assert api.get(f"/api/v1/setups/{setup_id}", headers=token).status_code == 404
    assert api.get("/api/v1/setups", headers=token).get_json()["setups"] == []


def test_a_new_role_applies_on_the_next_request(app, client, auth, users, make_setup, broker):
    setup_id = make_setup()
    token, admin = bearer(app, users["viewer"]), bearer(app, users["admin"])
    api = app.test_client()
    assert api.post(f"/api/v1/setups/{setup_id}/plan", headers=token).status_code == 403
    team = api.get(f"/api/v1/setups/{setup_id}", headers=admin).get_json()["team_id"]
    changed = api.patch(f"/api/v1/teams/{team}/members/{users['viewer']}", json={"role": "operator"}, headers=admin)
    assert changed.status_code == 200 and changed.get_json()["role"] == "operator"
    assert api.post(f"/api/v1/setups/{setup_id}/plan", headers=token).status_code == 202
    auth.login("viewer")
    assert client.get(f"/setups/{setup_id}/accounts").status_code == 200


def test_the_wizard_offers_only_the_users_teams(app, client, auth, make_user, db, beta):
    db.add(Team(name="gamma"))
    db.commit()
    user = make_user("ann", "operator")
    db.add(Membership(team_id=beta, user_id=user, role="operator"))
    db.commit()
    auth.login("ann")
    page = client.get("/setups/new").get_data(as_text=True)
    assert "beta" in page and "default" in page and "gamma" not in page
    gamma = db.scalar(select(Team.id).where(Team.name == "gamma"))
    refused = fill(client, "/setups/new", team_id=str(gamma), build_account_id="111111111111",
                   staging_account_id="222222222222", production_account_id="333333333333", region="eu-west-1")
    assert refused.status_code == 422 and "Choose one of your teams" in field_errors(refused.get_data(as_text=True))[
        "team_id"][0]
    saved = fill(client, "/setups/new", team_id=str(beta), build_account_id="111111111111",
                 staging_account_id="222222222222", production_account_id="333333333333", region="eu-west-1")
    assert saved.status_code == 302
    assert db.scalars(select(Setup.team_id)).all() == [beta]


def test_the_api_needs_a_team_when_the_user_has_several(app, make_user, db, beta, users):
    db.add(Membership(team_id=beta, user_id=users["operator"], role="operator"))
    db.commit()
    api, token = app.test_client(), bearer(app, users["operator"])
    body = {"name": "orders-api", "build_account_id": "111111111111", "staging_account_id": "222222222222",
            "production_account_id": "333333333333", "region": "eu-west-1"}
    assert api.post("/api/v1/setups", json=body, headers=token).get_json()["errors"].keys() == {"team_id"}
    created = api.post("/api/v1/setups", json={**body, "team_id": beta}, headers=token)
    assert created.status_code == 201 and created.get_json()["team_id"] == beta


def test_an_admin_moves_a_setup_and_both_teams_see_it_in_the_audit_log(app, client, auth, users, make_user,
                                                                        make_setup, beta, db):
    setup_id = make_setup()
    make_user("bea", "viewer", team="beta")
    assert app.test_client().post(f"/api/v1/setups/{setup_id}/transfer", json={"team_id": beta},
                                  headers=bearer(app, users["operator"])).status_code == 403
    auth.login("admin")
    assert submit(client, f"/setups/{setup_id}/settings", {"team_id": str(beta)},
                  action=f"/setups/{setup_id}/transfer").status_code == 302
    assert db.get(Setup, setup_id).team_id == beta
    auth.logout()
    auth.login("viewer")  # the default team's viewer: the setup is gone, its move is in their log
    assert client.get(f"/setups/{setup_id}").status_code == 404
    log = client.get("/admin/audit").get_data(as_text=True)
    assert "setup.transfer" in log and "setup.create" in log
    auth.logout()
    auth.login("bea")
    assert client.get(f"/setups/{setup_id}").status_code == 200
    log = client.get("/admin/audit").get_data(as_text=True)
    assert "setup.transfer" in log and "setup.create" not in log  # created before it was beta's


def test_members_read_their_teams_audit_entries_and_filter_by_team(app, client, auth, users, make_user, make_setup,
                                                                  beta, db):
    mine, theirs = make_setup(name="orders-api"), make_setup(team="beta", name="billing-api")
    entries = {e.target: e.team_id for e in db.scalars(select(AuditEntry).where(AuditEntry.action == "setup.create"))}
    assert entries == {f"setup {mine}": default_team(db), f"setup {theirs}": beta}
    auth.login("viewer")
    log = client.get("/admin/audit").get_data(as_text=True)
    assert f"setup {mine}" in log and f"setup {theirs}" not in log
    auth.logout()
    auth.login("admin")
    assert f"setup {theirs}" in client.get("/admin/audit").get_data(as_text=True)
    filtered = client.get(f"/admin/audit?team={beta}").get_data(as_text=True)
    assert f"setup {theirs}" in filtered and f"setup {mine}" not in filtered


def test_the_two_person_rule_counts_only_current_approvers_of_the_team(app, db, make_setup, make_user, users, broker):
    setup = deployed(db, make_setup, two_person_approval=True)
    seed_snapshot(db, setup)
    second, third = make_user("abby", "approver"), make_user("abe", "approver")
    api = app.test_client()
    decide = {"decision": "approve", "comment": "looks fine", "execution_id": EXECUTION}
    first = api.post(f"/api/v1/pipelines/{setup.id}/approval", json=decide, headers=bearer(app, users["approver"]))
    assert first.status_code == 200  # a first approval, recorded
    db.execute(delete(Membership).where(Membership.user_id == users["approver"]))
    db.commit()
    # The first approver has left the team: abby's approval is a first one again, not the second.
    again = api.post(f"/api/v1/pipelines/{setup.id}/approval", json=decide, headers=bearer(app, second))
    assert again.status_code == 200 and again.get_json()["decision"] is None
    sent = api.post(f"/api/v1/pipelines/{setup.id}/approval", json=decide, headers=bearer(app, third))
    assert sent.status_code == 202
    db.expire_all()
    assert db.scalars(select(ApprovalDecision.first_approver)).all() == ["abby"]
    assert sorted(db.scalars(select(ApprovalVote.username))) == ["abby", "approver"]


def test_admin_pages_create_a_team_and_manage_its_members(client, auth, users, make_user, db):
    make_user("ann", "viewer", team=None)
    auth.login("admin")
    created = submit(client, "/admin/teams", {"name": "payments"})
    team = db.scalar(select(Team).where(Team.name == "payments"))
    assert created.status_code == 302 and created.headers["Location"] == f"/admin/teams/{team.id}"
    assert submit(client, f"/admin/teams/{team.id}", {"username": "ann", "role": "approver"},
                  action=f"/admin/teams/{team.id}/members").status_code == 302
    ann = db.scalar(select(User.id).where(User.username == "ann"))
    assert db.scalar(select(Membership.role).where(Membership.user_id == ann)) == "approver"
    assert "payments</a>: approver" in client.get(f"/admin/users/{ann}").get_data(as_text=True)
    submit(client, f"/admin/teams/{team.id}", {"role": "operator"}, action=f"/admin/teams/{team.id}/members/{ann}")
    db.expire_all()
    assert db.scalar(select(Membership.role).where(Membership.user_id == ann)) == "operator"
    submit(client, f"/admin/teams/{team.id}", {}, action=f"/admin/teams/{team.id}/members/{ann}/remove")
    assert db.scalar(select(Membership).where(Membership.user_id == ann)) is None
    assert submit(client, "/admin/teams", {"name": "Payments!"}).status_code == 422
    assert submit(client, "/admin/teams", {"name": "payments"}).status_code == 409
    actions = db.scalars(select(AuditEntry.action).where(AuditEntry.team_id == team.id).order_by(AuditEntry.id)).all()
    assert actions == ["team.create", "team.member_add", "team.member_role", "team.member_remove"]


def test_admin_pages_rename_a_team_and_delete_it_once_empty(client, auth, users, make_user, make_setup, db,
                                                            beta):
    bea = make_user("bea", "viewer", team="beta")
    setup_id = make_setup(team="beta")
    auth.login("admin")
    page = f"/admin/teams/{beta}"
    taken = submit(client, page, {"name": "default"}, action=f"{page}/rename")
    assert taken.status_code == 409
    assert field_errors(taken.get_data(as_text=True))["name"] == ["A team called default exists already."]
    assert submit(client, page, {"name": "Beta!"}, action=f"{page}/rename").status_code == 422
    assert submit(client, page, {"name": "payments"}, action=f"{page}/rename").status_code == 302
    db.expire_all()
    assert db.get(Team, beta).name == "payments"
    assert "Team payments" in client.get(page).get_data(as_text=True)
    refused = submit(client, page, {}, action=f"{page}/delete")
    assert refused.status_code == 409 and "payments owns 1 setup: move it to another team first." in \
        refused.get_data(as_text=True)
    assert 'action="/admin/teams/%d/delete"' % beta not in client.get(page).get_data(as_text=True)
    submit(client, f"/setups/{setup_id}/settings", {"team_id": str(default_team(db))},
           action=f"/setups/{setup_id}/transfer")
    deleted = submit(client, page, {}, action=f"{page}/delete")
    assert deleted.status_code == 302 and deleted.headers["Location"] == "/admin/teams"
    db.expire_all()
    assert db.get(Team, beta) is None
    assert db.scalar(select(Membership).where(Membership.user_id == bea)) is None
    assert client.get(page).status_code == 404
    log = client.get("/admin/audit").get_data(as_text=True)
    assert f"<td>team {beta} (deleted)</td>" in log
    # What the log page shows: the names, kept in the messages once the team is gone.
    assert "Team beta is now called payments." in log and "Team payments deleted with 1 membership (bea)." in log
    changes = AuditEntry.action.in_(["team.rename", "team.delete"])
    entries = db.execute(select(AuditEntry.action, AuditEntry.detail)
                         .where(AuditEntry.team_id == beta, changes).order_by(AuditEntry.id))
    assert [tuple(row) for row in entries] == [("team.rename", {"before": "beta", "after": "payments"}),
                                               ("team.delete", {"name": "payments", "members": ["bea"]})]


def test_the_default_team_keeps_its_name_and_cannot_be_deleted(client, auth, users, db):
    default = default_team(db)
    auth.login("admin")
    page = client.get(f"/admin/teams/{default}").get_data(as_text=True)
    assert "keeps its name and cannot be deleted" in page and f"/admin/teams/{default}/delete" not in page
    refused = submit(client, f"/admin/teams/{default}", {}, action=f"/admin/teams/{default}/delete")
    assert refused.status_code == 409
    assert db.get(Team, default).name == "default"


def test_the_api_renames_and_deletes_teams_with_a_clear_4xx_for_each_refusal(app, users, make_user,
                                                                            make_setup, db, beta):
    api, admin = app.test_client(), bearer(app, users["admin"])
    default = default_team(db)

    def said(response) -> tuple[int, dict]:
        return response.status_code, response.get_json() if response.status_code != 204 else {}

    assert said(api.patch(f"/api/v1/teams/{beta}", json={"name": "default"}, headers=admin)) == (
        409, {"errors": {"name": ["A team called default exists already."]}})
    assert said(api.patch(f"/api/v1/teams/{default}", json={"name": "main"}, headers=admin)) == (
        409, {"errors": {"name": [memberships.KEEPS_NAME]}})
    assert api.patch(f"/api/v1/teams/{beta}", json={"name": "Beta"}, headers=admin).status_code == 422
    assert api.patch(f"/api/v1/teams/{beta}", json={"name": 7}, headers=admin).status_code == 422
    assert api.patch(f"/api/v1/teams/{beta}", json={"name": "b", "x": 1}, headers=admin).status_code == 422
    renamed = api.patch(f"/api/v1/teams/{beta}", json={"name": "billing"}, headers=admin)
    assert renamed.status_code == 200 and renamed.get_json()["name"] == "billing"
    assert said(api.delete(f"/api/v1/teams/{default}", headers=admin)) == (
        409, {"errors": {"team": [memberships.NOT_DELETED]}})
    setups = [make_setup(team="billing", name=name) for name in ("orders-api", "billing-api")]
    assert said(api.delete(f"/api/v1/teams/{beta}", headers=admin)) == (
        409, {"errors": {"team": ["billing owns 2 setups: move them to another team first."]}})
    for setup_id in setups:
        moved = api.post(f"/api/v1/setups/{setup_id}/transfer", json={"team_id": default}, headers=admin)
        assert moved.status_code == 200
    member = make_user("bea", "operator", team="billing")
    assert api.delete(f"/api/v1/teams/{beta}", headers=bearer(app, member)).status_code == 403
    assert api.delete(f"/api/v1/teams/{beta}", headers=bearer(app, users["operator"])).status_code == 404
    assert api.delete(f"/api/v1/teams/{beta}", headers=admin).status_code == 204
    assert api.get(f"/api/v1/teams/{beta}", headers=admin).status_code == 404
    assert api.delete(f"/api/v1/teams/{beta}", headers=admin).status_code == 404
    assert db.scalar(select(Membership).where(Membership.user_id == member)) is None


def test_a_team_made_after_one_was_deleted_does_not_inherit_its_audit_entries(app, client, auth, users,
                                                                              make_user, db):
    api, admin = app.test_client(), bearer(app, users["admin"])
    old = api.post("/api/v1/teams", json={"name": "old"}, headers=admin).get_json()["id"]
    api.post(f"/api/v1/teams/{old}/members", json={"username": "viewer", "role": "viewer"}, headers=admin)
    assert api.delete(f"/api/v1/teams/{old}", headers=admin).status_code == 204
    new = api.post("/api/v1/teams", json={"name": "new"}, headers=admin).get_json()["id"]
    assert new != old  # SQLite would hand out the highest id plus one again
    make_user("nat", "viewer", team="new")
    auth.login("nat")
    log = client.get("/admin/audit").get_data(as_text=True)
    assert "team.create" in log and f"team {old}" not in log


def access_cell(page: str, username: str) -> str:
    cell = page.split(f"<td>{username}</td>", 1)[1].split('<td class="access">', 1)[1].split("</td>", 1)[0]
    return " ".join(re.sub(r"<[^>]+>", "", cell).split())


def header(page: str) -> str:
    return page.split('class="who">', 1)[1].split("</span></span>", 1)[0]


def test_pages_show_team_roles_not_a_global_role_that_grants_nothing(client, auth, users, make_user, db,
                                                                     beta):
    ann = make_user("ann", "approver", team="beta")  # an "approver" globally, but a viewer in default
    db.add(Membership(team_id=default_team(db), user_id=ann, role="viewer"))
    db.commit()
    make_user("loner", "operator", team=None)
    auth.login("admin")
    page = client.get("/admin/users").get_data(as_text=True)
    assert access_cell(page, "ann") == "beta: approver, default: viewer"
    assert access_cell(page, "loner") == "no team yet" and access_cell(page, "admin") == "admin every team"
    choices = page.split('id="role"', 1)[1].split("</select>", 1)[0]
    assert re.findall(r'<option[^>]*value="(\w+)"', choices) == ["admin", "member"]
    edit = client.get(f"/admin/users/{ann}").get_data(as_text=True)
    assert re.search(r'<option selected value="member">|<option value="member" selected>', edit)
    assert "approver</option>" not in edit and header(edit).endswith('class="badge">admin')
    auth.logout()
    auth.login("ann")
    assert header(client.get("/").get_data(as_text=True)).count('class="badge"') == 2
    assert "approver · beta" in header(client.get("/").get_data(as_text=True))
    auth.logout()
    auth.login("loner")
    assert "no team" in header(client.get("/").get_data(as_text=True))
    assert "operator" not in header(client.get("/").get_data(as_text=True))


def test_a_member_is_created_in_no_team_and_keeps_the_stored_role_when_saved_as_a_member(client, auth, users,
                                                                                         db):
    auth.login("admin")
    created = submit(client, "/admin/users", {"username": "ann", "role": "member",
                                              "password": "a long enough password"}, follow_redirects=True)
    assert "they see no setup until you add them to a team" in created.get_data(as_text=True)
    ann = db.scalar(select(User).where(User.username == "ann"))
    assert (ann.role, db.scalar(select(Membership).where(Membership.user_id == ann.id))) == ("viewer", None)
    assert fill(client, f"/admin/users/{users['operator']}", role="member").status_code == 302
    assert fill(client, f"/admin/users/{ann.id}", role="admin").status_code == 302
    assert fill(client, f"/admin/users/{ann.id}", role="member").status_code == 302
    db.expire_all()
    assert db.get(User, users["operator"]).role == "operator" and db.get(User, ann.id).role == "viewer"


def test_a_team_nobody_can_join_yet_says_why_and_links_the_users_page(client, auth, make_user, db):
    make_user("admin", "admin", team=None)
    auth.login("admin")
    submit(client, "/admin/teams", {"name": "payments"})
    team = db.scalar(select(Team).where(Team.name == "payments"))
    page = client.get(f"/admin/teams/{team.id}").get_data(as_text=True)
    assert "No user can be added" in page and 'href="/admin/users"' in page


@pytest.mark.browser
@pytest.mark.both_databases(False)
@pytest.mark.parametrize("width", [1280, 390])
def test_the_audit_filters_labels_and_fields_line_up(tmp_path, broker, width):
    """Each label sits on its own field, and side by side (wide) the labels and fields are level."""
    config = {"DATABASE_URL": f"sqlite:///{tmp_path / 'audit.db'}", "SECRET_KEY": TEST_SECRET,
              "CELERY_BROKER_URL": TEST_BROKER_URL}
    with serve_portal(config, operator="olivia") as url, chromium_page(url) as page:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto("/login")
        page.fill("#username", "olivia")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.goto("/admin/audit")
        boxes = {name: (page.locator(f"label[for={name}]").bounding_box(),
                        page.locator(f"#{name}").bounding_box()) for name in ("actor", "action", "team")}
        assert page.problems == []
    for name, (label, field) in boxes.items():
        assert abs(label["x"] - field["x"]) < 1 and abs(label["width"] - field["width"]) < 1, name
        assert 0 <= field["y"] - (label["y"] + label["height"]) < 8, name
    fields = [field for _, field in boxes.values()]
    assert max(f["height"] for f in fields) - min(f["height"] for f in fields) < 1
    assert max(f["width"] for f in fields) - min(f["width"] for f in fields) < 1
    if width == 1280:  # one row: the labels level, the fields level
        labels = [label for label, _ in boxes.values()]
        assert max(label["y"] for label in labels) - min(label["y"] for label in labels) < 1
        assert max(f["y"] for f in fields) - min(f["y"] for f in fields) < 1


# Requests of every kind that name one setup, through the API (the pages share the same decorator), and
# those that name one team: a member (none is an admin here) may read their team but not rename or delete it.
REQUESTS = [("GET", "/api/v1/setups/{}"), ("PATCH", "/api/v1/setups/{}"), ("POST", "/api/v1/setups/{}/plan"),
            ("GET", "/api/v1/setups/{}/operations"), ("POST", "/api/v1/setups/{}/teardown"),
            ("GET", "/api/v1/pipelines/{}"), ("POST", "/api/v1/pipelines/{}/releases"),
            ("POST", "/api/v1/pipelines/{}/stop"), ("GET", "/api/v1/pipelines/{}/approval"),
            ("POST", "/api/v1/pipelines/{}/approval"), ("GET", "/api/v1/teams/{}/members"),
            ("PATCH", "/api/v1/teams/{}"), ("DELETE", "/api/v1/teams/{}")]
ROLE = st.sampled_from(["operator", "approver", "viewer"])


@pytest.mark.slow
@pytest.mark.both_databases(False)
def test_random_memberships_and_requests_never_reach_another_teams_setup(app, db, make_user, make_setup, broker):
    names = ("t0", "t1", "t2")
    team_ids = []
    for name in names:
        db.add(Team(name=name))
        db.commit()
        team_ids.append(db.scalar(select(Team.id).where(Team.name == name)))
    setups = [deployed(db, make_setup, team=name, name=f"app-{name}").id for name in names]
    users = [make_user(f"u{n}", "viewer", team=None) for n in range(3)]
    heads = [bearer(app, user) for user in users]
    api = app.test_client()

    @given(memberships=st.lists(st.dictionaries(st.sampled_from(range(3)), ROLE, max_size=3), min_size=3, max_size=3),
           calls=st.lists(st.tuples(st.sampled_from(range(3)), st.sampled_from(REQUESTS), st.sampled_from(range(3))),
                          min_size=1, max_size=6))
    @settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def check(memberships, calls):
        db.execute(delete(Membership))
        for user, teams in zip(users, memberships):
            db.add_all(Membership(team_id=team_ids[t], user_id=user, role=role) for t, role in teams.items())
        db.commit()
        for who, (method, path), which in calls:
            on_team = path.startswith("/api/v1/teams/")
            body = {"name": f"renamed-{which}"} if method == "PATCH" and on_team else {}
            answer = api.open(path.format((team_ids if on_team else setups)[which]), method=method, json=body,
                              headers=heads[who])
            if which not in memberships[who]:
                assert answer.status_code == 404, (memberships, who, method, path, which, answer.status_code)
            elif on_team and method != "GET":
                assert answer.status_code == 403, (memberships, who, method, path, which, answer.status_code)
        db.expire_all()
        assert [db.get(Team, team).name for team in team_ids] == list(names)
        for who in range(3):
            seen = {s["id"] for s in api.get("/api/v1/setups", headers=heads[who]).get_json()["setups"]}
            shown = {p["setup_id"] for p in api.get("/api/v1/pipelines", headers=heads[who]).get_json()["pipelines"]}
            allowed = {setups[t] for t in memberships[who]}
            assert seen == allowed and shown <= allowed, (memberships, who)

    check()


def test_a_members_refused_team_change_is_audited_under_that_team(app, users, db):
    # The team's own members read their team's audit entries: a refusal on the team's routes is one of them.
    team = default_team(db)
    api = app.test_client()
    answer = api.patch(f"/api/v1/teams/{team}", json={"name": "renamed"}, headers=bearer(app, users["operator"]))
    assert answer.status_code == 403
    db.expire_all()
    refused = db.scalars(select(AuditEntry).where(AuditEntry.outcome == "denied")).all()
    assert [(e.action, e.team_id) for e in refused] == [("teams.manage", team)]


def test_the_headers_team_roles_leave_a_pages_own_roles_alone(client, auth, users, make_setup):
    # The header lists a member's team roles; its name for them once shadowed the access step's own `roles`,
    # and every account's legend lost what it is (build, staging, production) for every non-admin.
    setup_id = make_setup()
    auth.login("operator")
    answer = client.get(f"/setups/{setup_id}/access")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200, page[:300]
    legends = re.findall(r"<legend>Account <code>(\d+)</code> <span class=\"muted\">\(([^)]*)\)</span>", page)
    assert [role for _, role in legends] == ["build", "staging", "production"], legends
    assert "operator · default" in header(page)
