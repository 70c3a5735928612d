"""The pipeline dashboard's pages, live endpoint and API, over snapshots seeded as the worker writes them."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.db import make_engine, make_session_factory
from core.models import AuditEntry, PipelineRequest, PipelineSnapshot, Setup, SetupStatus, utcnow
from core.times import as_utc, iso
from tests.portal import factories as f
from tests.portal.helpers import BUILD, PASSWORD, PRODUCTION, STAGING, TEST_BROKER_URL, TEST_SECRET, csrf_token
from tests.portal.live import chromium_page, serve_portal
from tests.portal.test_api import api, bearer  # noqa: F401 - fixtures
from tests.portal.test_plan import queued_messages

TOKEN = "secret-approval-token-0123456789"
EXECUTION = "0f5e1c2a-1111-4222-8333-444455556666"
COMMIT = "a" * 40


def action(name, status, started, ended, **extra):
    return {"name": name, "status": status, "action_execution_id": f"{name}-run", "started_at": iso(started),
            "updated_at": iso(ended), "summary": extra.pop("summary", ""), "external_id": "",
            "external_url": extra.pop("external_url", ""), "entity_url": "", "revision_id": "", "percent": None,
            "error": extra.pop("error", {}), **extra}


def seeded_stages(now, build_status="Succeeded"):
    t = lambda minutes: now - timedelta(minutes=minutes)  # noqa: E731
    build_error = {"code": "JobFailed", "message": "Unit tests failed"} if build_status == "Failed" else {}

    def stage(name, status, actions):
        return {"name": name, "status": status, "execution_id": EXECUTION if status else None,
                "waiting_execution_ids": [], "retry_attempt": 0, "actions": actions}

    return [
        stage("Source", "Succeeded", [action("Source", "Succeeded", t(140), t(139))]),
        stage("Build", build_status, [action("BuildAndTest", build_status, t(139), t(135), error=build_error,
                                             external_url="https://console.aws.amazon.com/codebuild/x")]),
        stage("DeployStaging", "Succeeded" if build_status == "Succeeded" else None,
              [action("Deploy", "Succeeded", t(135), t(131))] if build_status == "Succeeded" else
              [{"name": "Deploy", "status": None, "action_execution_id": None, "started_at": None}]),
        stage("ApproveProduction", "InProgress" if build_status == "Succeeded" else None,
              [action("CreateChangeSet", "Succeeded", t(131), t(130)),
               action("Approve", "InProgress", t(130), t(130))] if build_status == "Succeeded" else []),
        stage("DeployProduction", None, [{"name": "ExecuteChangeSet", "status": None, "action_execution_id": None}]),
    ]


def seed_snapshot(db, setup, *, read=True, build_status="Succeeded", executions=1, **fields):
    now = utcnow()
    waiting = build_status == "Succeeded"
    row = PipelineSnapshot(
        setup_id=setup.id, pipeline_name=f"{setup.name}-pipeline", account_id=setup.build_account_id,
        region=setup.region, read_at=now - timedelta(seconds=12) if read else None,
        stages=seeded_stages(now, build_status) if read else [],
        executions=[{"id": EXECUTION if i == 0 else f"older-{i:04d}",
                     "status": "InProgress" if waiting and i == 0 else ("Failed" if i == 0 else "Succeeded"),
                     "status_summary": "", "trigger": "CloudWatchEvent", "trigger_detail": "",
                     "started_at": iso(now - timedelta(minutes=140 + i)),
                     "updated_at": iso(now - timedelta(minutes=130)),
                     "stop_reason": "", "revisions": [{"action": "Source", "commit_id": COMMIT if i == 0 else "b" * 40,
                                                       "message": "Add the orders endpoint", "url": ""}]}
                    for i in range(executions)] if read else [],
        approval={"stage": "ApproveProduction", "action": "Approve", "execution_id": EXECUTION,
                  "since": iso(now - timedelta(hours=2, minutes=10, seconds=5)),
                  "expires": iso(now - timedelta(hours=2, minutes=10) + timedelta(days=7)),
                  "external_link": ""} if read and waiting else {},
        approval_token=TOKEN if read and waiting else "", active=waiting, version=3, **fields)
    db.add(row)
    db.commit()
    return row


@contextmanager
def open_pipeline_page(tmp_path, **seed) -> Iterator[tuple]:
    """A served portal with a deployed setup and its snapshot (``seed`` as seed_snapshot takes it), its pipeline
    page open in Chromium for the operator; yields (page, session factory, setup id) so a test can store what the
    worker's next read would."""
    url = f"sqlite:///{tmp_path / 'pipeline.db'}"
    with serve_portal({"DATABASE_URL": url, "SECRET_KEY": TEST_SECRET, "CELERY_BROKER_URL": TEST_BROKER_URL}) as base:
        engine = make_engine(url)
        factory = make_session_factory(engine)
        with factory() as db:
            setup = Setup(name="orders-api", build_account_id=BUILD, staging_account_id=STAGING,
                          production_account_id=PRODUCTION, region="eu-west-1", status=SetupStatus.READY.value)
            db.add(setup)
            db.flush()
            f.add_apply(db, setup, f.add_plan(db, setup), status="succeeded")
            db.commit()
            seed_snapshot(db, setup, **seed)
            setup_id = setup.id
        with chromium_page(base) as page:
            page.goto("/login")
            page.fill("#username", "olivia")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.goto(f"/pipelines/{setup_id}")
            yield page, factory, setup_id
        engine.dispose()


@pytest.fixture
def deployed(db, ready_setup, users):
    plan = f.add_plan(db, ready_setup)
    f.add_apply(db, ready_setup, plan, status="succeeded")
    db.commit()
    return ready_setup


def test_the_list_shows_state_commit_and_what_waits_for_whom(client, auth, db, deployed):
    seed_snapshot(db, deployed)
    auth.login("viewer")
    page = client.get("/pipelines").get_data(as_text=True)
    assert "orders-api" in page and "InProgress" in page and "aaaaaaa" in page and "Add the orders endpoint" in page
    assert "Approval pending for 2 h 10 min, expires in 6 d 21 h" in page
    assert TOKEN not in page


def test_a_pipeline_never_read_is_unknown_not_a_guess(client, auth, db, deployed):
    auth.login("viewer")
    listing = client.get("/pipelines").get_data(as_text=True)
    assert "unknown" in listing and "not read yet" in listing
    page = client.get(f"/pipelines/{deployed.id}").get_data(as_text=True)
    assert "State unknown: the pipeline has not been read yet." in page
    assert "Succeeded" not in page and "Failed" not in page


def test_the_list_filters_and_sorts_by_state_and_refuses_unknown_values(client, auth, db, deployed):
    seed_snapshot(db, deployed)
    auth.login("viewer")
    assert "orders-api" in client.get("/pipelines?state=InProgress&sort=state").get_data(as_text=True)
    assert "No pipeline is Failed." in client.get("/pipelines?state=Failed").get_data(as_text=True)
    assert client.get("/pipelines?state=Happy").status_code == 400
    assert client.get("/pipelines?sort=colour").status_code == 400


def test_the_pipeline_page_shows_stages_actions_durations_and_commit(client, auth, db, deployed):
    seed_snapshot(db, deployed, executions=25)
    auth.login("viewer")
    page = client.get(f"/pipelines/{deployed.id}").get_data(as_text=True)
    for name in ("Source", "Build", "DeployStaging", "ApproveProduction", "DeployProduction", "BuildAndTest",
                 "CreateChangeSet", "Approve", "ExecuteChangeSet"):
        assert f">{name}" in page or f'"{name}"' in page, name
    assert "4 min" in page  # the build ran from 139 to 135 minutes ago
    assert EXECUTION[:8] in page and "aaaaaaa" in page
    assert "State as of 12 s ago." in page
    assert "Page 1 of 2" in page and "older-0019" in page and "older-0020" not in page
    assert "older-0020" in client.get(f"/pipelines/{deployed.id}?page=2").get_data(as_text=True)
    assert TOKEN not in page
    # A viewer sees no buttons.
    assert "Start release" not in page and "Stop execution" not in page


def test_the_approve_action_links_its_approval_page(client, auth, db, deployed):
    seed_snapshot(db, deployed)
    auth.login("viewer")
    page = client.get(f"/pipelines/{deployed.id}").get_data(as_text=True)
    row = page.split('data-action="Approve"', 1)[1].split("</tr>", 1)[0]
    assert f'href="/pipelines/{deployed.id}/approval"' in row
    assert page.count('id="approval-link"') == 1  # on the Approve row only


def test_a_failed_build_shows_its_error_and_a_retry_button_for_operators(client, auth, db, deployed):
    seed_snapshot(db, deployed, build_status="Failed")
    auth.login("operator")
    page = client.get(f"/pipelines/{deployed.id}").get_data(as_text=True)
    assert "JobFailed" in page and "Unit tests failed" in page
    assert f"/pipelines/{deployed.id}/stages/Build/retry" in page and "Start release" in page


def test_console_links_only_against_real_aws(client, auth, db, deployed, app):
    seed_snapshot(db, deployed)
    auth.login("viewer")
    page = client.get(f"/pipelines/{deployed.id}").get_data(as_text=True)
    assert "console.aws.amazon.com/codesuite/codepipeline/pipelines/orders-api-pipeline" in page
    app.config["EMULATOR_URL"] = "http://127.0.0.1:4566"
    page = client.get(f"/pipelines/{deployed.id}").get_data(as_text=True)
    assert "console.aws.amazon.com" not in page


def test_unknown_and_undeployed_setups_are_404(client, auth, make_setup, users):
    auth.login("viewer")
    assert client.get("/pipelines/999").status_code == 404
    assert client.get("/pipelines/99999999999999").status_code == 404
    assert client.get(f"/pipelines/{make_setup(name='never-applied')}").status_code == 404
    assert client.get(f"/pipelines/{make_setup(name='never-applied2')}/live").status_code == 404


def test_the_live_endpoint_answers_304_while_the_snapshot_is_unchanged(client, auth, db, deployed):
    row = seed_snapshot(db, deployed)
    auth.login("viewer")
    first = client.get(f"/pipelines/{deployed.id}/live")
    body = first.get_json()
    assert first.status_code == 200 and first.headers["ETag"]
    assert [s["name"] for s in body["stages"]] == ["Source", "Build", "DeployStaging", "ApproveProduction",
                                                  "DeployProduction"]
    assert body["approval"] == {"stage": "ApproveProduction", "action": "Approve", "execution_id": EXECUTION,
                                "since": row.approval["since"], "expires": row.approval["expires"]}
    assert TOKEN not in first.get_data(as_text=True)
    again = client.get(f"/pipelines/{deployed.id}/live", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.get_data() == b""
    db.expire_all()
    db.get(PipelineSnapshot, row.id).version += 1
    db.commit()
    changed = client.get(f"/pipelines/{deployed.id}/live", headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200


def test_opening_a_page_records_interest_and_asks_for_a_read_once(client, auth, db, deployed):
    row = seed_snapshot(db, deployed, next_read_at=utcnow() + timedelta(minutes=5))
    auth.login("viewer")
    client.get(f"/pipelines/{deployed.id}")
    db.expire_all()
    watched = db.get(PipelineSnapshot, row.id)
    assert watched.watched_until is not None and as_utc(watched.next_read_at) <= utcnow()
    first_until = watched.watched_until
    # More viewers within the renew window write nothing: the worker's cadence does not move.
    for _ in range(20):
        client.get(f"/pipelines/{deployed.id}/live")
    db.expire_all()
    assert db.get(PipelineSnapshot, row.id).watched_until == first_until


def test_interest_running_out_is_renewed_without_a_new_read(client, auth, db, deployed):
    soon = utcnow() + timedelta(seconds=5)
    later = utcnow() + timedelta(minutes=1)
    row = seed_snapshot(db, deployed, watched_until=soon, next_read_at=later)
    auth.login("viewer")
    db.expire_all()
    db.get(PipelineSnapshot, row.id)  # loaded, as the request's own session loads it
    assert client.get(f"/pipelines/{deployed.id}/live").status_code == 200
    db.expire_all()
    renewed = db.get(PipelineSnapshot, row.id)
    assert as_utc(renewed.watched_until) > soon + timedelta(seconds=15)
    assert as_utc(renewed.next_read_at) == later  # still watched: the cadence goes on as it was


@pytest.mark.parametrize("page", ["/pipelines/{}", "/pipelines/{}/approval"])
def test_opening_a_page_reads_an_approval_known_only_from_its_event(client, auth, db, deployed, page):
    # Already watched, so opening alone asks for no read; but the approval started after the last read (its
    # event made it waiting): the page's reader needs the execution's commit and the CustomData, so one read now.
    later = utcnow() + timedelta(minutes=1)
    row = seed_snapshot(db, deployed, watched_until=utcnow() + timedelta(seconds=40), next_read_at=later)
    row.approval = {**row.approval, "since": iso(utcnow() - timedelta(seconds=2))}  # after read_at (12 s ago)
    db.commit()
    auth.login("approver")
    assert client.get(page.format(deployed.id)).status_code == 200
    db.expire_all()
    assert as_utc(db.get(PipelineSnapshot, row.id).next_read_at) <= utcnow()
    # Read since: opening asks for nothing more; the cadence goes on.
    fresh = db.get(PipelineSnapshot, row.id)
    fresh.read_at, fresh.next_read_at = utcnow(), later
    db.commit()
    assert client.get(page.format(deployed.id)).status_code == 200
    db.expire_all()
    assert as_utc(db.get(PipelineSnapshot, row.id).next_read_at) == later


def test_an_operator_releases_once_however_often_they_click(client, auth, db, deployed, broker):
    seed_snapshot(db, deployed)
    auth.login("operator")
    page = f"/pipelines/{deployed.id}"
    token = csrf_token(client, page)
    first = client.post(f"{page}/release", data={"csrf_token": token})
    second = client.post(f"{page}/release", data={"csrf_token": token}, follow_redirects=True)
    assert first.status_code == 302
    assert "was requested already" in second.get_data(as_text=True)
    [request] = db.scalars(select(PipelineRequest)).all()
    assert (request.kind, request.status, request.requested_by) == ("release", "pending", "operator")
    assert [(m["task"], m["args"]) for m in queued_messages(broker)] == [("worker.start_release", [request.id])]
    audit = db.scalars(select(AuditEntry).where(AuditEntry.action == "pipeline.release")).all()
    assert [(a.actor, a.outcome) for a in audit] == [("operator", "success")]


def test_retry_names_the_execution_shown_and_refuses_bad_stage_names(client, auth, db, deployed, broker):
    seed_snapshot(db, deployed, build_status="Failed")
    auth.login("operator")
    page = f"/pipelines/{deployed.id}"
    token = csrf_token(client, page)
    assert client.post(f"{page}/stages/Deploy/retry", data={"csrf_token": token}).status_code == 400
    assert client.post(f"{page}/stages/Build/retry", data={"csrf_token": token}).status_code == 302
    [request] = db.scalars(select(PipelineRequest)).all()
    assert (request.kind, request.stage, request.execution_id) == ("retry", "Build", EXECUTION)


def test_stop_needs_a_reason_and_something_running(client, auth, db, deployed, broker):
    seed_snapshot(db, deployed)
    auth.login("operator")
    page = f"/pipelines/{deployed.id}"
    token = csrf_token(client, page)
    assert client.post(f"{page}/stop", data={"csrf_token": token}).status_code == 400
    assert client.post(f"{page}/stop", data={"csrf_token": token, "reason": "x" * 201}).status_code == 400
    assert client.post(f"{page}/stop", data={"csrf_token": token, "reason": "Wrong branch"}).status_code == 302
    [request] = db.scalars(select(PipelineRequest)).all()
    assert (request.kind, request.execution_id, request.reason) == ("stop", EXECUTION, "Wrong branch")


def test_nothing_to_stop_is_said_not_sent(client, auth, db, deployed, broker):
    seed_snapshot(db, deployed, build_status="Failed")
    auth.login("operator")
    page = f"/pipelines/{deployed.id}"
    answer = client.post(f"{page}/stop", data={"csrf_token": csrf_token(client, page), "reason": "why"},
                         follow_redirects=True)
    assert "nothing to stop" in answer.get_data(as_text=True)
    assert db.scalars(select(PipelineRequest)).all() == [] and queued_messages(broker) == []


@pytest.mark.parametrize("role", ["viewer", "approver"])
def test_viewers_and_approvers_cannot_release_retry_or_stop(client, auth, db, deployed, role, broker):
    seed_snapshot(db, deployed, build_status="Failed")
    auth.login(role)
    token = csrf_token(client, "/pipelines")
    for path in ("release", "stages/Build/retry", "stop"):
        answer = client.post(f"/pipelines/{deployed.id}/{path}", data={"csrf_token": token, "reason": "r"})
        assert answer.status_code == 403
    assert db.scalars(select(PipelineRequest)).all() == []


def test_a_post_without_csrf_token_is_refused(client, auth, db, deployed, broker):
    seed_snapshot(db, deployed)
    auth.login("operator")
    assert client.post(f"/pipelines/{deployed.id}/release").status_code == 400
    assert db.scalars(select(PipelineRequest)).all() == []


def test_home_and_setup_page_link_the_pipeline(client, auth, deployed):
    auth.login("viewer")
    assert f'href="/pipelines/{deployed.id}"' in client.get("/").get_data(as_text=True)
    assert f'href="/pipelines/{deployed.id}"' in client.get(f"/setups/{deployed.id}").get_data(as_text=True)


# --- the JSON API ---------------------------------------------------------------------------------

def test_api_lists_and_reads_pipelines_without_the_token(api, db, deployed):
    seed_snapshot(db, deployed, executions=3)
    listing = api("get", "/pipelines", role="viewer").get_json()
    [row] = listing["pipelines"]
    assert (row["setup_id"], row["state"], row["latest_execution"]["commit_id"]) == (deployed.id, "InProgress", COMMIT)
    one = api("get", f"/pipelines/{deployed.id}", role="viewer")
    assert one.status_code == 200 and TOKEN not in one.get_data(as_text=True)
    assert one.get_json()["age_seconds"] >= 12
    history = api("get", f"/pipelines/{deployed.id}/executions?page=1", role="viewer").get_json()
    assert (history["total"], history["pages"], len(history["executions"])) == (3, 1, 3)
    assert api("get", "/pipelines?state=Nope", role="viewer").status_code == 400
    assert api("get", "/pipelines/999", role="viewer").status_code == 404


def test_api_requests_are_202_and_refusals_clear(api, db, deployed, broker):
    seed_snapshot(db, deployed, build_status="Failed")
    released = api("post", f"/pipelines/{deployed.id}/releases")
    assert released.status_code == 202 and released.get_json()["kind"] == "release"
    again = api("post", f"/pipelines/{deployed.id}/releases")
    assert again.status_code == 409 and again.get_json()["request"]["id"] == released.get_json()["id"]
    assert api("post", f"/pipelines/{deployed.id}/stages/Nope/retry").status_code == 400
    assert api("post", f"/pipelines/{deployed.id}/stages/Build/retry").status_code == 202
    assert api("post", f"/pipelines/{deployed.id}/stop", json={"reason": "r"}).status_code == 409  # none running
    assert api("post", f"/pipelines/{deployed.id}/stop", json={}).status_code == 422
    assert api("post", f"/pipelines/{deployed.id}/stop", json={"reason": "r", "x": 1}).status_code == 422
    assert api("post", f"/pipelines/{deployed.id}/releases", role="viewer").status_code == 403
    assert api("post", "/pipelines/999/releases").status_code == 404
    assert sorted(m["task"] for m in queued_messages(broker)) == ["worker.retry_stage", "worker.start_release"]
