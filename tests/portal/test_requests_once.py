"""A request becomes at most one operation, a plan is applied only from evidence, and a lost task can be cancelled.

The races are made deterministic by running the rival request at the exact moment between the
portal's check and its insert (a monkeypatched check that commits a rival row from another
connection, as a second tab would): nothing here waits on timing.
"""
from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from core.db import make_engine, make_session_factory
from core.models import AuditEntry, Operation, OperationKind, Setup, StackRecord
from portal import operation_requests
from portal.db import get_session
from portal.deployments import service as deployments
from tests.portal import factories as f
from tests.portal.helpers import submit
from tests.portal.test_api import api, bearer  # noqa: F401 - fixtures
from tests.portal.test_deployments_apply import applies, apply_plan, audit_entries
from tests.portal.test_plan import queued_messages


def operations_of(db, kind: str) -> list[Operation]:
    db.expire_all()
    return list(db.scalars(select(Operation).where(Operation.kind == kind).order_by(Operation.id)))


def commit_rival(app, setup_id: int, kind: str, **fields) -> int:
    """Insert an unfinished operation from another connection, as another tab's request would."""
    engine = make_engine(app.config["DATABASE_URL"])
    with make_session_factory(engine)() as other:
        rival = Operation(setup_id=setup_id, kind=kind, status="pending", requested_by="other-tab", **fields)
        other.add(rival)
        other.commit()
        rival_id = rival.id
    engine.dispose()
    return rival_id


def rival_between_check_and_insert(monkeypatch, app, setup_id: int, kind: str, **fields) -> list[int]:
    """Let a rival request commit at the worst moment each database allows.

    On SQLite nothing locks the setup, so the rival commits after the portal's check passed and
    only the unique index can refuse the insert. On PostgreSQL the portal's row lock on the setup
    serialises requests (a rival would wait for it), so the rival commits just before that lock.
    """
    made: list[int] = []

    def once() -> None:
        if not made:  # later calls are the pages shown after the request
            made.append(commit_rival(app, setup_id, kind, **fields))

    if not app.config["DATABASE_URL"].startswith("sqlite"):
        real_lock = deployments._lock_setup

        def lock(*args):
            once()
            return real_lock(*args)

        monkeypatch.setattr(deployments, "_lock_setup", lock)
        return made

    def after_check(real):
        def check(*args):
            reason = real(*args)
            once()
            return reason
        return check

    monkeypatch.setattr(deployments, "apply_refusal", after_check(deployments.apply_refusal))
    monkeypatch.setattr(deployments, "teardown_refusal", after_check(deployments.teardown_refusal))
    return made


def test_second_of_two_simultaneous_applies_is_refused_with_a_409_and_no_failed_operation(
        app, client, auth, users, db, ready_setup, broker, monkeypatch, caplog):
    plan = f.add_plan(db, ready_setup)
    db.commit()
    rivals = rival_between_check_and_insert(monkeypatch, app, ready_setup.id, "apply", plan_id=plan.id)
    auth.login("operator")
    with caplog.at_level(logging.INFO):
        page = apply_plan(client, ready_setup.id, plan.id, follow_redirects=True).get_data(as_text=True)
    [only] = applies(db)
    assert [only.id] == rivals and only.requested_by == "other-tab" and only.status == "pending"
    assert f"Apply #{only.id} of this setup is still pending" in page
    assert queued_messages(broker) == []
    [entry] = audit_entries(db, "setup.apply")
    assert (entry.outcome, entry.detail) == ("denied", {"plan": plan.id})
    assert f"Apply #{only.id} of this setup is still pending" in entry.message
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


def test_the_api_answers_409_to_the_second_of_two_simultaneous_applies(api, app, db, ready_setup, broker,
                                                                         monkeypatch):
    plan = f.add_plan(db, ready_setup)
    db.commit()
    rival_between_check_and_insert(monkeypatch, app, ready_setup.id, "apply", plan_id=plan.id)
    response = api("post", f"/operations/{plan.id}/apply")
    assert response.status_code == 409
    assert "of this setup is still pending" in response.get_json()["errors"]["plan"][0]
    assert [op.requested_by for op in operations_of(db, "apply")] == ["other-tab"]
    assert [op.status for op in operations_of(db, "apply")] == ["pending"]


def test_a_teardown_racing_an_apply_is_refused_by_the_database(app, client, auth, users, db, ready_setup, broker,
                                                               monkeypatch):
    f.add_apply(db, ready_setup, f.add_plan(db, ready_setup), status="succeeded")
    db.commit()
    rival_between_check_and_insert(monkeypatch, app, ready_setup.id, "apply")
    auth.login("operator")
    response = submit(client, f"/setups/{ready_setup.id}/teardown", {"confirmation": "orders-api"})
    assert response.status_code == 409
    assert "of this setup is still pending" in response.get_data(as_text=True)
    assert operations_of(db, "teardown") == []
    assert [e.outcome for e in audit_entries(db, "setup.teardown")] == ["denied"]


def test_two_plan_requests_at_once_make_one_plan(app, client, auth, users, db, ready_setup, broker, monkeypatch):
    auth.login("operator")
    first = submit(client, f"/setups/{ready_setup.id}", {}, action=f"/setups/{ready_setup.id}/plan")
    second = submit(client, f"/setups/{ready_setup.id}", {}, action=f"/setups/{ready_setup.id}/plan",
                    follow_redirects=True)
    assert first.status_code == 302 and second.status_code == 200
    [plan] = operations_of(db, "plan")
    assert [m["args"] for m in queued_messages(broker)] == [[plan.id]]
    assert f"Plan #{plan.id} requested" in second.get_data(as_text=True)
    entries = audit_entries(db, "setup.plan")
    assert [(e.outcome, e.detail) for e in entries] == [
        ("success", {"operation": plan.id}), ("success", {"operation": plan.id, "joined": True})]


def test_the_api_answers_the_plan_already_being_prepared(api, db, ready_setup, broker):
    first = api("post", f"/setups/{ready_setup.id}/plan")
    second = api("post", f"/setups/{ready_setup.id}/plan")
    assert (first.status_code, second.status_code) == (202, 202)
    assert first.get_json()["id"] == second.get_json()["id"]
    assert len(operations_of(db, "plan")) == 1 and len(queued_messages(broker)) == 1


def test_a_plan_request_while_an_older_versions_plan_is_prepared_is_refused(api, app, db, ready_setup, broker):
    rival = commit_rival(app, ready_setup.id, "plan", detail={"setup_version": ready_setup.version - 1})
    response = api("post", f"/setups/{ready_setup.id}/plan")
    assert response.status_code == 409
    assert f"Plan #{rival} of an earlier version of this setup is still being prepared" in \
        response.get_json()["errors"]["plan"][0]
    assert [op.id for op in operations_of(db, "plan")] == [rival] and queued_messages(broker) == []
    assert [e.outcome for e in audit_entries(db, "setup.plan")] == ["denied"]


@pytest.mark.parametrize("stack, reason", [
    ({"change_set_status": ""}, "the change set of orders-api-pipeline in account 111111111111 is not described yet"),
    ({"change_set_status": "CREATE_PENDING"}, "is not described yet"),
    ({"phase": "change_set"}, "is not described yet"),
    ({"action": "unchanged", "change_set_status": ""}, "has not yet said that orders-api-pipeline"),
], ids=["no-status", "pending", "still-describing", "unchanged-without-answer"])
def test_apply_is_refused_for_a_plan_with_a_change_set_not_described(client, auth, users, db, ready_setup, broker,
                                                                     stack, reason):
    plan = f.add_plan(db, ready_setup, build=stack)
    if stack.get("action") == "unchanged":
        plan.stacks[-1].change_set_status = stack["change_set_status"]
    db.commit()
    auth.login("operator")
    page = client.get(f"/setups/{ready_setup.id}/deployments").get_data(as_text=True)
    assert f'action="/setups/{ready_setup.id}/plans/{plan.id}/apply"' not in page
    refused = apply_plan(client, ready_setup.id, plan.id, follow_redirects=True).get_data(as_text=True)
    assert f"Plan #{plan.id} cannot be applied" in refused and reason in refused
    assert applies(db) == [] and queued_messages(broker) == []


def test_apply_is_refused_for_a_plan_whose_stacks_were_not_all_recorded(client, auth, users, db, ready_setup, broker):
    plan = f.add_plan(db, ready_setup)
    plan.stacks_expected = None  # the worker's start step had not committed its records
    db.commit()
    auth.login("operator")
    refused = apply_plan(client, ready_setup.id, plan.id, follow_redirects=True).get_data(as_text=True)
    assert "the plan has not recorded all of its stacks yet" in refused and applies(db) == []


def test_a_plan_with_every_stack_up_to_date_says_so_and_offers_no_apply(client, auth, users, db, ready_setup, broker):
    unchanged = {"action": "unchanged"}
    plan = f.add_plan(db, ready_setup, staging=unchanged, production=unchanged, build=unchanged)
    db.commit()
    auth.login("operator")
    for page in (f"/setups/{ready_setup.id}/deployments", f"/setups/{ready_setup.id}/operations/{plan.id}"):
        html = client.get(page).get_data(as_text=True)
        assert f"Plan #{plan.id} found every stack up to date: there is nothing to apply." in html, page
        assert f"/plans/{plan.id}/apply" not in html, page
    apply_plan(client, ready_setup.id, plan.id)
    assert applies(db) == [] and queued_messages(broker) == []


def test_an_operator_cancels_a_pending_operation_and_the_setup_is_free_again(client, auth, users, db, ready_setup,
                                                                             broker):
    plan = f.add_plan(db, ready_setup)
    stuck = f.add_operation(db, ready_setup, "apply", "pending", plan_id=plan.id)
    db.commit()
    auth.login("operator")
    page_url = f"/setups/{ready_setup.id}/operations/{stuck.id}"
    assert "Cancel this apply" in client.get(page_url).get_data(as_text=True)
    done = submit(client, page_url, {}, action=f"{page_url}/cancel", follow_redirects=True).get_data(as_text=True)
    assert f"Apply #{stuck.id} was cancelled before anything ran." in done
    db.expire_all()
    assert db.get(Operation, stuck.id).status == "cancelled"
    assert db.get(Operation, stuck.id).error == "Cancelled by operator before a worker started it."
    [entry] = audit_entries(db, "operation.cancel")
    assert (entry.actor, entry.outcome, entry.detail) == (
        "operator", "success", {"operation": stuck.id, "kind": "apply", "was": "pending"})
    apply_plan(client, ready_setup.id, plan.id)
    assert [op.status for op in applies(db)] == ["cancelled", "pending"]


def test_a_started_operation_cannot_be_cancelled(api, db, ready_setup, broker):
    running = f.add_apply(db, ready_setup, f.add_plan(db, ready_setup), status="running")
    db.commit()
    response = api("post", f"/operations/{running.id}/cancel")
    assert response.status_code == 409
    assert response.get_json()["errors"]["status"] == [
        f"Apply #{running.id} is running: only an operation that no worker has started yet (pending), or one "
        "waiting for a self-launched stack while none of its stacks is being changed, can be cancelled."]
    db.expire_all()
    assert db.get(Operation, running.id).status == "running"
    [entry] = audit_entries(db, "operation.cancel")
    assert entry.outcome == "denied"


def waiting_apply(db, setup, *, production_phase: str = "done") -> Operation:
    """An apply waiting for the staging account's admin: production's stack as given, the build stack not begun."""
    plan = f.add_plan(db, setup, staging={"action": "self_launch"})
    applied = f.add_apply(db, setup, plan, status="waiting", started_at=f.minutes_ago(5))
    staging, production, _build = applied.stacks
    staging.phase, production.phase = "waiting", production_phase
    db.commit()
    return applied


def test_an_operator_stops_a_waiting_apply_and_what_it_finished_stays(client, auth, users, db, ready_setup, broker):
    applied = waiting_apply(db, ready_setup)
    auth.login("operator")
    page_url = f"/setups/{ready_setup.id}/operations/{applied.id}"
    assert "Stop waiting and cancel this apply" in client.get(page_url).get_data(as_text=True)
    done = submit(client, page_url, {}, action=f"{page_url}/cancel", follow_redirects=True).get_data(as_text=True)
    assert (f"Apply #{applied.id} was cancelled: the portal no longer waits for the self-launched stack. The stacks "
            "it finished stay as they are; plan again to see what is left.") in done
    db.expire_all()
    cancelled = db.get(Operation, applied.id)
    assert cancelled.status == "cancelled" and cancelled.finished_at is not None
    assert cancelled.error == "Cancelled by operator while it waited for a self-launched stack; the stacks it finished stay."
    assert [r.phase for r in cancelled.stacks] == ["waiting", "done", "pending"]  # the worker's record, untouched
    [entry] = audit_entries(db, "operation.cancel")
    assert (entry.actor, entry.outcome, entry.detail) == (
        "operator", "success", {"operation": applied.id, "kind": "apply", "was": "waiting"})
    # It ran: the setup is not shown as if nothing happened, and its plan is spent.
    setup_page = client.get(f"/setups/{ready_setup.id}").get_data(as_text=True)
    assert setup_page.split('id="setup-state">', 1)[1].split("<", 1)[0] == "failed"
    assert f"Apply #{applied.id} was cancelled while it waited for a self-launched stack" in setup_page
    apply_plan(client, ready_setup.id, applied.plan_id)
    assert [op.status for op in applies(db)] == ["cancelled"] and queued_messages(broker) == []
    # The setup is free for the next plan.
    assert submit(client, f"/setups/{ready_setup.id}", {}, action=f"/setups/{ready_setup.id}/plan").status_code == 302
    assert [m["task"] for m in queued_messages(broker)] == ["worker.plan_setup"]


def test_a_waiting_apply_with_a_stack_in_flight_is_not_cancelled(client, auth, users, api, db, ready_setup, broker):
    applied = waiting_apply(db, ready_setup, production_phase="executing")
    response = api("post", f"/operations/{applied.id}/cancel")
    assert response.status_code == 409
    assert response.get_json()["errors"]["status"] == [
        f"Apply #{applied.id} is waiting, but the worker is changing orders-api-deploy-dependencies in account "
        f"{f.PRODUCTION} right now: cancel it once that has settled, so no stack is left half-changed."]
    db.expire_all()
    assert db.get(Operation, applied.id).status == "waiting"
    [entry] = audit_entries(db, "operation.cancel")
    assert entry.outcome == "denied" and "right now" in entry.message
    auth.login("operator")
    assert "cancel this apply" not in client.get(f"/setups/{ready_setup.id}/operations/{applied.id}").get_data(as_text=True)


def test_a_stack_the_worker_starts_during_the_cancel_wins(api, app, db, ready_setup, broker, monkeypatch):
    """The worker moves a stack in flight after the portal read the operation: the UPDATE's guard sees it."""
    applied = waiting_apply(db, ready_setup)
    build_id = applied.stacks[2].id
    real = operation_requests._in_flight

    def worker_starts_the_build_stack(operation_id):
        engine = make_engine(app.config["DATABASE_URL"])
        with make_session_factory(engine)() as worker:
            worker.get(StackRecord, build_id).phase = "executing"
            worker.commit()
        engine.dispose()
        return real(operation_id)

    monkeypatch.setattr(operation_requests, "_in_flight", worker_starts_the_build_stack)
    response = api("post", f"/operations/{applied.id}/cancel")
    assert response.status_code == 409, response.get_json()
    assert "the worker is changing orders-api-pipeline" in response.get_json()["errors"]["status"][0]
    db.expire_all()
    assert db.get(Operation, applied.id).status == "waiting"


def test_the_api_cancels_a_teardown_waiting_for_an_admin(api, db, ready_setup, broker):
    teardown = f.add_operation(db, ready_setup, "teardown", "waiting", started_at=f.minutes_ago(2), stacks_expected=2)
    f.add_stack(db, teardown, "build", f.BUILD, action="delete", phase="done")
    f.add_stack(db, teardown, "deploy", f.STAGING, action="self_launch", phase="waiting")
    db.commit()
    response = api("post", f"/operations/{teardown.id}/cancel")
    assert response.status_code == 200 and response.get_json()["status"] == "cancelled"


def test_the_api_cancels_a_pending_plan(api, db, ready_setup, broker):
    pending = f.add_operation(db, ready_setup, "plan", "pending")
    db.commit()
    response = api("post", f"/operations/{pending.id}/cancel")
    assert response.status_code == 200 and response.get_json()["status"] == "cancelled"


@pytest.mark.parametrize("role", ["viewer", "approver"])
def test_only_operators_and_admins_may_cancel(client, auth, users, db, ready_setup, broker, role):
    pending = f.add_operation(db, ready_setup, "plan", "pending")
    db.commit()
    auth.login(role)
    page_url = f"/setups/{ready_setup.id}/operations/{pending.id}"
    assert "Cancel this plan" not in client.get(page_url).get_data(as_text=True)
    response = submit(client, page_url, {}, action=f"{page_url}/cancel")
    assert response.status_code == 403
    db.expire_all()
    assert db.get(Operation, pending.id).status == "pending"


def test_record_and_enqueue_refuses_a_second_unfinished_change_on_the_insert(app, db, ready_setup, broker):
    setup_id = ready_setup.id
    with app.test_request_context():
        session = get_session()
        setup = session.get(Setup, setup_id)
        first = operation_requests.record_and_enqueue(session, setup, OperationKind.APPLY, "alice", "setup.apply")
        with pytest.raises(operation_requests.AlreadyRequested) as refused:
            operation_requests.record_and_enqueue(session, setup, OperationKind.TEARDOWN, "bob", "setup.teardown")
        assert refused.value.existing is not None and refused.value.existing.id == first.id
    assert [op.kind for op in operations_of(db, "apply") + operations_of(db, "teardown")] == ["apply"]
    assert [m["args"] for m in queued_messages(broker)] == [[first.id]]
