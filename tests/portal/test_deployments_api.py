"""The deployment endpoints of /api/v1: operations, stacks and changes, events, apply, teardown."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.models import AuditEntry, Operation
from tests.portal import factories as f
from tests.portal.helpers import BUILD, STAGING
from tests.portal.test_api import api, bearer  # noqa: F401 - fixtures
from tests.portal.test_plan import queued_messages


def operations_of(db, kind: str) -> list[Operation]:
    db.expire_all()
    return list(db.scalars(select(Operation).where(Operation.kind == kind).order_by(Operation.id)))


def test_lists_a_setups_operations_newest_first(api, db, ready_setup, app):
    plan = f.add_plan(db, ready_setup)
    applied = f.add_apply(db, ready_setup, plan, status="succeeded")
    db.commit()
    app.config["API_PAGE_SIZE"] = 1
    first = api("get", f"/setups/{ready_setup.id}/operations", role="viewer").get_json()
    second = api("get", f"/setups/{ready_setup.id}/operations?page=2", role="viewer").get_json()
    assert (first["total"], first["pages"], second["page"]) == (2, 2, 2)
    assert [op["id"] for op in first["operations"] + second["operations"]] == [applied.id, plan.id]
    assert first["operations"][0]["plan_id"] == plan.id and second["operations"][0]["plan_id"] is None
    assert api("get", "/setups/999/operations").status_code == 404


def test_reads_a_plan_with_every_change_of_every_stack(api, db, ready_setup):
    plan = f.add_plan(db, ready_setup, build={"action": "recreate", "stack_status": "ROLLBACK_COMPLETE"})
    db.commit()
    body = api("get", f"/operations/{plan.id}", role="viewer").get_json()
    assert (body["kind"], body["status"], body["root_cause"]) == ("plan", "succeeded", {})
    assert [(s["account_id"], s["stack_name"], s["role"], s["action"]) for s in body["stacks"]] == [
        (STAGING, "orders-api-deploy-dependencies", "deploy", "create"),
        ("333333333333", "orders-api-deploy-dependencies", "deploy", "create"),
        (BUILD, "orders-api-pipeline", "build", "recreate")]
    assert body["stacks"][0]["changes"] == f.DEPLOY_CHANGES
    assert body["stacks"][2]["stack_status"] == "ROLLBACK_COMPLETE"


def test_reads_an_applys_root_cause_and_results(api, db, ready_setup):
    applied = f.add_apply(db, ready_setup, f.add_plan(db, ready_setup), status="failed",
                          root_cause={"resource": "BuildProject", "type": "AWS::CodeBuild::Project",
                                      "reason": "Project role cannot be assumed", "stack": "orders-api-pipeline"})
    applied.detail = {**applied.detail, **f.succeeded_detail(ready_setup, applied)}
    db.commit()
    body = api("get", f"/operations/{applied.id}", role="viewer").get_json()
    assert body["root_cause"]["resource"] == "BuildProject"
    assert body["result"]["outputs"] == f.OUTPUTS
    assert body["result"]["git_commands"][:2] == ["git remote add aws codecommit::eu-west-1://orders-api",
                                                  "git push aws main"]
    assert body["result"]["pipeline_name"] == "orders-api-pipeline"
    assert body["stacks"][2]["console_url"].endswith(f"stackId={BUILD}")


def test_pages_events_by_cursor(api, db, ready_setup):
    applied = f.add_apply(db, ready_setup, f.add_plan(db, ready_setup))
    events = [f.add_event(db, applied.stacks[0], name, "AWS::IAM::Role", "CREATE_COMPLETE",
                          recorded_at=f.minutes_ago(3)) for name in ("DeployRole", "CloudFormationExecutionRole")]
    db.commit()
    body = api("get", f"/operations/{applied.id}/events?after={events[0].id}", role="viewer").get_json()
    assert [e["logical_id"] for e in body["events"]] == ["CloudFormationExecutionRole"]
    assert body["next_after"] == events[1].id and body["operation"]["terminal"] is False
    assert len(body["stacks"]) == 3


@pytest.mark.parametrize("query, field", [("after=x", "after"), ("after=2147483648", "after"), ("page=2", "page")])
def test_refuses_bad_or_unknown_event_parameters(api, db, ready_setup, query, field):
    applied = f.add_apply(db, ready_setup, f.add_plan(db, ready_setup))
    db.commit()
    response = api("get", f"/operations/{applied.id}/events?{query}")
    assert response.status_code == 400 and list(response.get_json()["errors"]) == [field]


def test_applies_a_plan(api, db, ready_setup, broker):
    plan = f.add_plan(db, ready_setup)
    db.commit()
    response = api("post", f"/operations/{plan.id}/apply")
    [applied] = operations_of(db, "apply")
    assert response.status_code == 202
    assert response.headers["Location"] == f"/api/v1/operations/{applied.id}"
    assert response.get_json() | {"created_at": None} == {
        "id": applied.id, "setup_id": ready_setup.id, "kind": "apply", "status": "pending", "requested_by": "operator",
        "created_at": None, "started_at": None, "finished_at": None, "error": "", "plan_id": plan.id}
    assert [m["task"] for m in queued_messages(broker)] == ["worker.apply_setup"]


def test_refuses_to_apply_a_stale_plan_with_409(api, db, ready_setup, broker):
    plan = f.add_plan(db, ready_setup)
    newer = f.add_plan(db, ready_setup)
    db.commit()
    response = api("post", f"/operations/{plan.id}/apply")
    assert response.status_code == 409
    assert response.get_json() == {"errors": {"plan": [
        f"Plan #{newer.id} is newer than plan #{plan.id}: review and apply that one instead."]}}
    assert operations_of(db, "apply") == [] and queued_messages(broker) == []
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "setup.apply")).one()
    assert (entry.actor, entry.outcome) == ("operator", "denied")


def test_only_a_plan_can_be_applied(api, db, ready_setup, broker):
    applied = f.add_apply(db, ready_setup, f.add_plan(db, ready_setup), status="succeeded")
    db.commit()
    response = api("post", f"/operations/{applied.id}/apply")
    assert response.status_code == 409
    assert response.get_json()["errors"]["plan"] == [
        f"Operation {applied.id} is an apply, not a plan: only a plan can be applied."]
    assert api("post", "/operations/999/apply").status_code == 404


@pytest.mark.parametrize("role, method, path", [
    ("viewer", "post", "/operations/{plan}/apply"), ("approver", "post", "/operations/{plan}/apply"),
    ("viewer", "post", "/setups/{setup}/teardown"), ("approver", "post", "/setups/{setup}/teardown"),
])
def test_only_operators_and_admins_change_stacks(api, db, ready_setup, broker, role, method, path):
    plan = f.add_plan(db, ready_setup)
    db.commit()
    response = api(method, path.format(plan=plan.id, setup=ready_setup.id), role=role,
                   json={"confirmation": "orders-api"})
    assert response.status_code == 403 and queued_messages(broker) == []


def test_requests_a_teardown(api, db, ready_setup, broker):
    response = api("post", f"/setups/{ready_setup.id}/teardown", role="admin", json={"confirmation": "orders-api"})
    [operation] = operations_of(db, "teardown")
    assert response.status_code == 202 and response.get_json()["id"] == operation.id
    assert (operation.status, operation.requested_by) == ("pending", "admin")
    assert [m["task"] for m in queued_messages(broker)] == ["worker.teardown_setup"]


@pytest.mark.parametrize("body, errors", [
    ({"confirmation": "orders"}, {"confirmation": ["Type the application name, orders-api, exactly, to confirm the "
                                                   "teardown."]}),
    ({}, {"confirmation": ["Type the application name, orders-api, exactly, to confirm the teardown."]}),
    ({"confirmation": 1}, {"confirmation": ["Must be a string."]}),
    ({"confirmation": "orders-api", "force": True}, {"force": ["Unknown field."]}),
])
def test_a_teardown_needs_the_application_name(api, db, ready_setup, broker, body, errors):
    response = api("post", f"/setups/{ready_setup.id}/teardown", json=body)
    assert response.status_code == 422 and response.get_json() == {"errors": errors}
    assert operations_of(db, "teardown") == [] and queued_messages(broker) == []


def test_a_teardown_waits_for_the_running_apply(api, db, ready_setup, broker):
    running = f.add_apply(db, ready_setup, f.add_plan(db, ready_setup), status="running")
    db.commit()
    response = api("post", f"/setups/{ready_setup.id}/teardown", json={"confirmation": "orders-api"})
    assert response.status_code == 409 and response.get_json() == {"errors": {"status": [
        f"Apply #{running.id} of this setup is still running: wait for it to finish."]}}
