"""Asking for a plan: the operation row is committed, then worker.plan_setup is sent to the real Redis."""
from __future__ import annotations

import base64
import json

import pytest
from sqlalchemy import select

from core.db import make_engine, make_session_factory
from core.models import AuditEntry, Operation
from portal import create_app, queue
from portal import db as portal_db
from portal.db import get_session
from tests.portal.helpers import portal_config, submit


def queued_messages(broker) -> list[dict]:
    """Decode the Celery messages waiting in the default queue."""
    messages = []
    for raw in broker.lrange("celery", 0, -1):
        envelope = json.loads(raw)
        args, kwargs, _embed = json.loads(base64.b64decode(envelope["body"]))
        messages.append({"task": envelope["headers"]["task"], "id": envelope["headers"]["id"], "args": args,
                         "kwargs": kwargs, "routing_key": envelope["properties"]["delivery_info"]["routing_key"]})
    return messages


def operations(app) -> list[Operation]:
    with app.app_context():
        return list(get_session().scalars(select(Operation).order_by(Operation.id)))


def test_enqueues_plan_setup_with_the_operation_id(app, client, auth, users, make_setup, broker):
    setup_id = make_setup()
    auth.login("operator")
    response = submit(client, f"/setups/{setup_id}", {}, action=f"/setups/{setup_id}/plan")
    assert response.status_code == 302 and response.headers["Location"] == f"/setups/{setup_id}/deployments"
    [operation] = operations(app)
    assert (operation.setup_id, operation.kind, operation.status, operation.requested_by) == (
        setup_id, "plan", "pending", "operator")
    assert queued_messages(broker) == [{"task": "worker.plan_setup", "id": operation.detail["task_id"],
                                        "args": [operation.id], "kwargs": {}, "routing_key": "celery"}]
    page = client.get(f"/setups/{setup_id}/deployments").get_data(as_text=True)
    assert f"Plan #{operation.id} requested: it is pending until a worker picks it up." in page
    assert '<span class="status status-pending">pending</span>' in page


def test_commits_the_operation_before_enqueueing(app, client, auth, users, make_setup, broker, monkeypatch):
    setup_id = make_setup()
    seen = []
    real_enqueue = queue.enqueue

    def enqueue_and_look(task_name, operation_id, **kwargs):
        # A worker reads the row from its own connection: it must already be committed.
        engine = make_engine(app.config["DATABASE_URL"])
        with make_session_factory(engine)() as other:
            seen.append(other.get(Operation, operation_id).status)
        engine.dispose()
        return real_enqueue(task_name, operation_id, **kwargs)

    monkeypatch.setattr(queue, "enqueue", enqueue_and_look)
    auth.login("operator")
    submit(client, f"/setups/{setup_id}", {}, action=f"/setups/{setup_id}/plan")
    assert seen == ["pending"]


def test_audits_the_plan_request(app, client, auth, users, make_setup, broker):
    setup_id = make_setup()
    auth.login("admin")
    submit(client, f"/setups/{setup_id}", {}, action=f"/setups/{setup_id}/plan")
    with app.app_context():
        entry = get_session().scalars(select(AuditEntry).where(AuditEntry.action == "setup.plan")).one()
    assert (entry.actor, entry.target, entry.outcome) == ("admin", f"setup {setup_id}", "success")


@pytest.fixture
def app_without_broker(database_url):
    # Nothing listens on port 1: the broker is down.
    app = create_app(portal_config(database_url, CELERY_BROKER_URL="redis://127.0.0.1:1/9"))
    yield app
    portal_db.dispose(app)


def test_marks_the_operation_failed_when_the_broker_is_down(app_without_broker, users, make_setup):
    app = app_without_broker
    client = app.test_client()
    from tests.portal.helpers import AuthActions

    AuthActions(client).login("operator")
    setup_id = make_setup()
    response = submit(client, f"/setups/{setup_id}", {}, action=f"/setups/{setup_id}/plan", follow_redirects=True)
    assert response.status_code == 200
    [operation] = operations(app)
    assert operation.status == "failed" and operation.finished_at is not None
    assert operation.error.startswith("The task queue at redis://127.0.0.1:1/9 did not answer")
    assert operation.error.endswith("Check that Redis is running, then ask again.")
    page = response.get_data(as_text=True)
    assert f"Plan #{operation.id} could not be requested." in page
    assert "Check that Redis is running" in page
    with app.app_context():
        outcomes = get_session().scalars(select(AuditEntry.outcome).where(AuditEntry.action == "setup.plan")).all()
    assert outcomes == ["failed"]


def test_refuses_a_plan_for_a_draft(app, client, auth, users, make_setup, broker):
    setup_id = make_setup(name="")
    auth.login("operator")
    response = submit(client, f"/setups/{setup_id}", {}, action=f"/setups/{setup_id}/plan", follow_redirects=True)
    assert "The setup is not complete: finish the application step before asking for a plan." in \
        response.get_data(as_text=True)
    assert operations(app) == [] and queued_messages(broker) == []


def test_hides_the_broker_password_in_messages():
    assert queue.redact("redis://user:s3cret@redis.internal:6380/0") == "redis://user:***@redis.internal:6380/0"
    assert queue.redact("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
