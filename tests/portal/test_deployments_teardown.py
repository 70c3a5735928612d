"""Tearing a setup's stacks down: typed confirmation, one change at a time, and the application stacks stay."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.models import AuditEntry, Operation
from tests.portal import factories as f
from tests.portal.helpers import BUILD, PRODUCTION, STAGING, submit
from tests.portal.test_deployments_plan import page_of, section, text
from tests.portal.test_plan import queued_messages


def tear_down(client, setup_id: int, confirmation: str, **kwargs):
    page = f"/setups/{setup_id}/teardown"
    return submit(client, page, {"confirmation": confirmation}, **kwargs)


def teardowns(db) -> list[Operation]:
    db.expire_all()
    return list(db.scalars(select(Operation).where(Operation.kind == "teardown").order_by(Operation.id)))


def audit_outcomes(db) -> list[tuple[str, str]]:
    db.expire_all()
    return [(e.outcome, e.message) for e in db.scalars(
        select(AuditEntry).where(AuditEntry.action == "setup.teardown").order_by(AuditEntry.id))]


def test_the_page_lists_what_is_deleted_and_says_the_application_stacks_stay(client, auth, users, ready_setup):
    auth.login("operator")
    page = page_of(client, f"/setups/{ready_setup.id}/teardown")
    listed = text(page)
    for account, stack in ((BUILD, "orders-api-pipeline"), (PRODUCTION, "orders-api-deploy-dependencies"),
                           (STAGING, "orders-api-deploy-dependencies")):
        assert f"{account} {stack}" in listed
    assert listed.index(f"{BUILD} orders-api-pipeline") < listed.index(f"{STAGING} orders-api-deploy-dependencies")
    assert (f"What stays: the application stacks the pipeline deployed, orders-api-staging in account {STAGING} and "
            f"orders-api-production in account {PRODUCTION}, are not the portal's: they stay") in text(
        section_of(page, "what-stays"))
    assert "it is deleted with its whole history" in listed
    assert '<label for="confirmation">Type orders-api to confirm</label>' in page


def section_of(page: str, element_id: str) -> str:
    start = page.index(f'id="{element_id}"')
    return page[start:page.index("</p>", start)]


def test_the_right_name_records_the_teardown_then_enqueues_it(client, auth, users, db, ready_setup, broker):
    auth.login("operator")
    response = tear_down(client, ready_setup.id, " orders-api ")
    [operation] = teardowns(db)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/setups/{ready_setup.id}/operations/{operation.id}"
    assert (operation.status, operation.requested_by, operation.plan_id) == ("pending", "operator", None)
    assert queued_messages(broker) == [{"task": "worker.teardown_setup", "id": operation.detail["task_id"],
                                        "args": [operation.id], "kwargs": {}, "routing_key": "celery"}]
    assert audit_outcomes(db) == [("success", "")]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"Teardown #{operation.id} requested" in page
    assert "a teardown removes only the portal&#39;s stacks" in page or "a teardown removes only the portal's" in page


@pytest.mark.parametrize("typed", ["", "orders", "ORDERS-API", "orders-api-pipeline"])
def test_a_wrong_name_deletes_nothing(client, auth, users, db, ready_setup, broker, typed):
    auth.login("operator")
    response = tear_down(client, ready_setup.id, typed)
    assert response.status_code == 422
    assert "Type the application name, orders-api, exactly, to confirm the teardown." in \
        response.get_data(as_text=True)
    assert teardowns(db) == [] and queued_messages(broker) == []
    assert audit_outcomes(db) == [("failed", "Type the application name, orders-api, exactly, to confirm the teardown.")]


def test_refuses_while_an_apply_is_under_way(client, auth, users, db, ready_setup, broker):
    running = f.add_apply(db, ready_setup, f.add_plan(db, ready_setup), status="waiting")
    db.commit()
    auth.login("operator")
    message = f"Apply #{running.id} of this setup is still waiting: wait for it to finish."
    assert message in client.get(f"/setups/{ready_setup.id}/teardown").get_data(as_text=True)
    response = tear_down(client, ready_setup.id, "orders-api")
    assert response.status_code == 409 and message in response.get_data(as_text=True)
    assert teardowns(db) == [] and queued_messages(broker) == []
    assert audit_outcomes(db) == [("denied", message)]


def test_a_setup_without_accounts_has_nothing_to_tear_down(client, auth, users, db, make_setup, broker):
    setup_id = make_setup(name="", build_account_id="")
    auth.login("operator")
    page = client.get(f"/setups/{setup_id}/teardown").get_data(as_text=True)
    assert "there is nothing to tear down" in page and "Delete these stacks" not in page
    response = tear_down_without_form(client, setup_id)
    assert response.status_code == 409 and teardowns(db) == []


def tear_down_without_form(client, setup_id: int):
    # The page offers no form here; a hand-made post takes the CSRF token from another page.
    return submit(client, f"/setups/{setup_id}", {"confirmation": ""}, action=f"/setups/{setup_id}/teardown")


@pytest.mark.parametrize("role", ["viewer", "approver"])
def test_only_operators_and_admins_may_tear_down(client, auth, users, db, ready_setup, broker, role):
    auth.login(role)
    assert client.get(f"/setups/{ready_setup.id}/teardown").status_code == 403
    assert submit(client, "/", {"confirmation": "orders-api"},
                  action=f"/setups/{ready_setup.id}/teardown").status_code == 403
    assert teardowns(db) == [] and queued_messages(broker) == []


@pytest.mark.parametrize("role, shown", [("operator", True), ("viewer", False)])
def test_the_setup_page_offers_teardown_once_something_was_applied(client, auth, users, db, ready_setup, role, shown):
    auth.login(role)
    assert "Tear down…" not in client.get(f"/setups/{ready_setup.id}").get_data(as_text=True)
    f.add_apply(db, ready_setup, f.add_plan(db, ready_setup), status="failed")
    db.commit()
    assert ("Tear down…" in client.get(f"/setups/{ready_setup.id}").get_data(as_text=True)) is shown


def test_a_teardown_shows_the_emptied_bucket_and_the_delete_command_for_a_self_launched_stack(
        client, auth, users, db, ready_setup):
    operation = f.add_operation(db, ready_setup, "teardown", "waiting")
    build = f.add_stack(db, operation, "build", BUILD, action="delete", phase="done", stack_status="DELETE_COMPLETE",
                        changes=[{**change, "action": "Remove"} for change in f.BUILD_CHANGES],
                        detail={"emptied_bucket": f"orders-api-artifacts-{BUILD}-eu-west-1", "objects_removed": 7})
    staging = f.add_stack(db, operation, "deploy", STAGING, action="self_launch", phase="waiting", changes=[],
                          detail={"cli_command": "aws cloudformation delete-stack --region eu-west-1 "
                                                 "--stack-name orders-api-deploy-dependencies"})
    db.commit()
    auth.login("viewer")
    page = page_of(client, f"/setups/{ready_setup.id}/operations/{operation.id}")
    assert (f"Emptied the artifact bucket orders-api-artifacts-{BUILD}-eu-west-1 (7 object versions) so it could be "
            "deleted.") in text(section(page, f"stack-{build.id}"))
    assert "What it removes (4: 4 to remove)" in text(section(page, f"stack-{build.id}"))
    waiting = section(page, f"stack-{staging.id}")
    assert "the worker waits for its admin to delete the stack with:" in text(waiting)
    assert "<code>aws cloudformation delete-stack --region eu-west-1 --stack-name orders-api-deploy-dependencies</code>" \
        in waiting
