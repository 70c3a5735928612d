"""Applying a reviewed plan: nothing runs without the user's POST, and a plan that cannot be applied is refused."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.db import make_engine, make_session_factory
from core.models import AuditEntry, Membership, Operation, Setup
from portal import accounts, create_app, queue
from portal import db as portal_db
from portal.db import get_session
from portal.setups import service
from tests.portal import factories as f
from tests.portal.helpers import PASSWORD, AuthActions, default_team, portal_config, setup_values, submit
from tests.portal.test_plan import queued_messages


def apply_plan(client, setup_id: int, plan_id: int, **kwargs):
    return submit(client, f"/setups/{setup_id}", {}, action=f"/setups/{setup_id}/plans/{plan_id}/apply", **kwargs)


def applies(db) -> list[Operation]:
    db.expire_all()
    return list(db.scalars(select(Operation).where(Operation.kind == "apply").order_by(Operation.id)))


def audit_entries(db, action: str) -> list[AuditEntry]:
    db.expire_all()
    return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def test_applying_records_the_apply_then_enqueues_apply_setup(client, auth, users, db, ready_setup, broker):
    plan = f.add_plan(db, ready_setup)
    db.commit()
    auth.login("operator")
    response = apply_plan(client, ready_setup.id, plan.id)
    [applied] = applies(db)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/setups/{ready_setup.id}/operations/{applied.id}"
    assert (applied.setup_id, applied.plan_id, applied.status, applied.requested_by) == (
        ready_setup.id, plan.id, "pending", "operator")
    assert applied.detail["setup_version"] == ready_setup.version
    assert queued_messages(broker) == [{"task": "worker.apply_setup", "id": applied.detail["task_id"],
                                        "args": [applied.id], "kwargs": {}, "routing_key": "celery"}]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"Apply #{applied.id} of plan #{plan.id} requested" in page
    assert "Waiting for a worker to pick this apply up." in page and "data-live" in page


def test_commits_the_apply_before_enqueueing(app, client, auth, users, db, ready_setup, broker, monkeypatch):
    plan = f.add_plan(db, ready_setup)
    db.commit()
    seen = []
    real_enqueue = queue.enqueue

    def enqueue_and_look(task_name, operation_id, **kwargs):
        engine = make_engine(app.config["DATABASE_URL"])
        with make_session_factory(engine)() as other:
            seen.append((task_name, other.get(Operation, operation_id).status))
        engine.dispose()
        return real_enqueue(task_name, operation_id, **kwargs)

    monkeypatch.setattr(queue, "enqueue", enqueue_and_look)
    auth.login("operator")
    apply_plan(client, ready_setup.id, plan.id)
    assert seen == [("worker.apply_setup", "pending")]


def test_audits_the_apply(client, auth, users, db, ready_setup, broker):
    plan = f.add_plan(db, ready_setup)
    db.commit()
    auth.login("admin")
    apply_plan(client, ready_setup.id, plan.id)
    [entry] = audit_entries(db, "setup.apply")
    [applied] = applies(db)
    assert (entry.actor, entry.target, entry.outcome, entry.detail) == (
        "admin", f"setup {ready_setup.id}", "success", {"operation": applied.id, "plan": plan.id})


def change_the_setup(db, setup, plan) -> None:
    setup.branch = "release"  # the version column moves on: the plan was made from version 1


def newer_plan(db, setup, plan) -> None:
    f.add_plan(db, setup)


def applied_already(db, setup, plan) -> None:
    f.add_apply(db, setup, plan, status="succeeded")


def teardown_pending(db, setup, plan) -> None:
    f.add_operation(db, setup, "teardown", "pending")


# (plan status, what happens after the plan, the message; {plan} is the plan's id, {other} the newest operation's)
REFUSALS = [
    ("pending", None, "Plan #{plan} is still pending: wait until its changes are listed, then review them."),
    ("running", None, "Plan #{plan} is still running: wait until its changes are listed, then review them."),
    ("failed", None, "Plan #{plan} failed, so there is nothing to apply. Plan again."),
    ("succeeded", change_the_setup, "The setup changed since plan #{plan} was made (version 1 then, 2 now). "
                                    "Plan again and review the new changes."),
    ("succeeded", newer_plan, "Plan #{other} is newer than plan #{plan}: review and apply that one instead."),
    ("succeeded", applied_already, "Plan #{plan} was already applied by operation #{other}. "
                                   "Plan again to see what is left to change."),
    ("succeeded", teardown_pending, "Teardown #{other} of this setup is still pending: wait for it to finish."),
]


@pytest.mark.parametrize("status, after, message", REFUSALS,
                         ids=["pending", "running", "failed", "setup-changed", "newer-plan", "applied", "teardown"])
def test_refuses_a_plan_that_cannot_be_applied_now(client, auth, users, db, ready_setup, broker, status, after, message):
    plan = f.add_plan(db, ready_setup, status=status)
    db.commit()
    if after is not None:
        after(db, ready_setup, plan)
        db.commit()
    other = db.scalar(select(Operation.id).order_by(Operation.id.desc()).limit(1))
    before = [op.id for op in applies(db)]
    auth.login("operator")
    response = apply_plan(client, ready_setup.id, plan.id, follow_redirects=True)
    expected = message.format(plan=plan.id, other=other)
    assert response.status_code == 200 and response.request.path == f"/setups/{ready_setup.id}/deployments"
    assert f"Plan #{plan.id} was not applied. {expected}" in response.get_data(as_text=True)
    assert [op.id for op in applies(db)] == before and queued_messages(broker) == []
    [entry] = audit_entries(db, "setup.apply")
    assert (entry.outcome, entry.message, entry.detail) == ("denied", expected, {"plan": plan.id})


def test_refuses_while_another_apply_runs(client, auth, users, db, ready_setup, broker):
    running = f.add_apply(db, ready_setup, f.add_plan(db, ready_setup), status="running")
    plan = f.add_plan(db, ready_setup)
    db.commit()
    auth.login("operator")
    page = apply_plan(client, ready_setup.id, plan.id, follow_redirects=True).get_data(as_text=True)
    assert f"Apply #{running.id} of this setup is still running: wait for it to finish." in page
    assert len(applies(db)) == 1 and queued_messages(broker) == []


def test_a_failed_newer_plan_does_not_replace_the_reviewed_one(client, auth, users, db, ready_setup, broker):
    plan = f.add_plan(db, ready_setup)
    f.add_plan(db, ready_setup, status="failed", error="throttled")
    db.commit()
    auth.login("operator")
    apply_plan(client, ready_setup.id, plan.id)
    assert [op.plan_id for op in applies(db)] == [plan.id]


def test_an_apply_that_never_started_may_be_retried(client, auth, users, db, ready_setup, broker):
    plan = f.add_plan(db, ready_setup)
    f.add_operation(db, ready_setup, "apply", "failed", plan_id=plan.id, error="The task queue did not answer")
    db.commit()
    auth.login("operator")
    apply_plan(client, ready_setup.id, plan.id)
    assert [op.status for op in applies(db)] == ["failed", "pending"]


@pytest.mark.parametrize("role", ["viewer", "approver"])
def test_only_operators_and_admins_may_apply(client, auth, users, db, ready_setup, broker, role):
    plan = f.add_plan(db, ready_setup)
    db.commit()
    auth.login(role)
    response = apply_plan(client, ready_setup.id, plan.id)
    assert response.status_code == 403 and applies(db) == [] and queued_messages(broker) == []
    [entry] = audit_entries(db, "setup.apply")
    assert (entry.actor, entry.outcome) == (role, "denied")


def test_applying_needs_the_csrf_token(client, auth, users, db, ready_setup, broker):
    plan = f.add_plan(db, ready_setup)
    db.commit()
    auth.login("operator")
    response = client.post(f"/setups/{ready_setup.id}/plans/{plan.id}/apply", data={})
    assert response.status_code == 400 and applies(db) == [] and queued_messages(broker) == []


def test_only_a_plan_of_this_setup_can_be_applied(client, auth, users, db, make_setup, ready_setup, broker):
    other = db.get(Setup, make_setup(name="other-api"))
    plan = f.add_plan(db, other)
    not_a_plan = f.add_operation(db, ready_setup, "teardown", "succeeded")
    db.commit()
    auth.login("operator")
    assert apply_plan(client, ready_setup.id, plan.id).status_code == 404
    assert apply_plan(client, ready_setup.id, not_a_plan.id).status_code == 404
    assert apply_plan(client, ready_setup.id, 2**40).status_code == 404
    assert applies(db) == []


@pytest.fixture
def app_without_broker(database_url):
    app = create_app(portal_config(database_url, CELERY_BROKER_URL="redis://127.0.0.1:1/9"))
    yield app
    portal_db.dispose(app)


def test_marks_the_apply_failed_when_the_broker_is_down(app_without_broker):
    app = app_without_broker
    session = app.extensions["db_sessions"]()
    operator = accounts.create_user(session, "operator", PASSWORD, "operator")
    session.add(Membership(team_id=default_team(session), user_id=operator.id, role="operator"))
    session.commit()
    setup = service.new_setup(None, default_team(session))
    with app.test_request_context():  # the audit entry of the save reads the request
        service.save(get_session(), setup, setup_values(), action="setup.create")
    plan = f.add_plan(session, session.get(Setup, setup.id))
    session.commit()
    client = app.test_client()
    AuthActions(client).login("operator")
    response = apply_plan(client, setup.id, plan.id, follow_redirects=True)
    [applied] = applies(session)
    assert applied.status == "failed" and applied.error.startswith("The task queue at redis://127.0.0.1:1/9")
    assert f"Apply #{applied.id} could not be requested." in response.get_data(as_text=True)
    assert [e.outcome for e in audit_entries(session, "setup.apply")] == ["failed"]
    session.close()
