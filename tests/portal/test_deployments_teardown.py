"""Tearing a setup's stacks down: typed confirmation, one change at a time, and the application stacks stay."""
from __future__ import annotations

import pytest
from openapi_schema_validator import OAS30Validator
from sqlalchemy import select

from core.models import AuditEntry, Operation
from portal.api.openapi import build_spec
from tests.portal import factories as f
from tests.portal.helpers import BUILD, PRODUCTION, STAGING, submit
from tests.portal.test_api import api, bearer  # noqa: F401 - fixtures
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
    assert "Tear down…" not in client.get(f"/setups/{ready_setup.id}/deployments").get_data(as_text=True)
    f.add_apply(db, ready_setup, f.add_plan(db, ready_setup), status="failed")
    db.commit()
    assert ("Tear down…" in client.get(f"/setups/{ready_setup.id}/deployments").get_data(as_text=True)) is shown


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


# What worker/teardown.py stores for a stack it cannot reach (_mark_unreachable) and for the
# stacks it leaves in another region (_note_left); the portal only reads these rows.
def delete_command(stack: str, region: str = f.REGION) -> str:
    return f"aws cloudformation delete-stack --region {region} --stack-name {stack}"


def unreachable_detail(account: str, stack: str, why: str, **more) -> dict:
    command = delete_command(stack)
    return {"access": {"method": "assume_role"}, "cli_command": command, "unreachable_reason": why,
            "unreachable": f"cannot tear down {stack} in account {account}: {why}. Make it reachable and tear down "
                           f"again, or delete the stack yourself: {command}", **more}


NO_WAY_IN = (f"no way into account {STAGING}: no role_name is configured for it (the setup no longer uses this "
             "account, and the apply that deployed the stack recorded no access to it)")
LEFT = [{"role": "build", "account_id": BUILD, "region": "us-east-1", "stack_name": "orders-api-pipeline",
         "cli_command": delete_command("orders-api-pipeline", "us-east-1"),
         "artifact_bucket": f"orders-api-artifacts-{BUILD}-us-east-1"},
        {"role": "deploy", "account_id": STAGING, "region": "us-east-1", "stack_name": "orders-api-deploy-dependencies",
         "cli_command": delete_command("orders-api-deploy-dependencies", "us-east-1")}]


@pytest.fixture
def stranded_teardown(db, ready_setup):
    """A failed teardown: build and production deleted, the old staging account's stack unreachable."""
    operation = f.add_operation(db, ready_setup, "teardown", "failed", error=f"orders-api-deploy-dependencies in "
                                f"{STAGING}: cannot tear down ...")
    stacks = {
        "build": f.add_stack(db, operation, "build", BUILD, action="delete", phase="done", stack_status="DELETE_COMPLETE",
                             detail={"access": {"method": "assume_role", "role_name": "OrganizationAccountAccessRole"}}),
        "staging": f.add_stack(db, operation, "deploy", STAGING, action="delete", phase="failed", changes=[],
                               status_reason=unreachable_detail(STAGING, "orders-api-deploy-dependencies",
                                                                NO_WAY_IN)["unreachable"],
                               detail=unreachable_detail(STAGING, "orders-api-deploy-dependencies", NO_WAY_IN)),
        "production": f.add_stack(db, operation, "deploy", PRODUCTION, action="delete", phase="done",
                                  stack_status="DELETE_COMPLETE", detail={
                                      "access": {"method": "assume_role", "role_name": "OldDeployer",
                                                 "external_id": "ext-4471"},
                                      "access_from_apply": True}),
    }
    db.commit()
    return operation, stacks


def test_an_unreachable_stack_is_listed_with_why_and_the_exact_command_to_delete_it(
        client, auth, users, ready_setup, stranded_teardown):
    operation, stacks = stranded_teardown
    auth.login("viewer")
    page = page_of(client, f"/setups/{ready_setup.id}/operations/{operation.id}")
    left = section(page, "left-for-admins")
    assert "Stacks left for their admins to delete" in text(left)
    assert "This teardown cannot delete this stack of the setup's applies: it stays" in text(left)
    assert f"orders-api-deploy-dependencies in account {STAGING}, eu-west-1" in text(left)
    assert f"The worker cannot reach it: {NO_WAY_IN}." in text(left)
    assert f"Either give the worker a way into account {STAGING} again and tear down again, or delete the stack " \
           f"yourself, signed in to account {STAGING}:" in text(left)
    assert f"<code>{delete_command('orders-api-deploy-dependencies')}</code>" in left
    assert "artifact bucket" not in left  # a deploy stack has none to empty
    card = section(page, f"stack-{stacks['staging'].id}")
    assert f"The worker cannot delete this stack: {NO_WAY_IN}. How to finish" in text(card)
    assert f'href="#left-{stacks["staging"].id}"' in card and f'id="left-{stacks["staging"].id}"' in left


def test_a_stack_reached_through_its_applys_access_says_so_without_the_external_id(
        client, auth, users, ready_setup, stranded_teardown, api):
    operation, stacks = stranded_teardown
    auth.login("viewer")
    page = page_of(client, f"/setups/{ready_setup.id}/operations/{operation.id}")
    assert (f"The setup no longer uses account {PRODUCTION}: the worker reaches it as the apply that deployed this "
            "stack did, through role OldDeployer.") in text(section(page, f"stack-{stacks['production'].id}"))
    assert "no longer uses" not in text(section(page, f"stack-{stacks['build'].id}"))
    body = api("get", f"/operations/{operation.id}", role="viewer").get_data(as_text=True)
    assert "ext-4471" not in page and "ext-4471" not in body


def test_an_unreachable_build_stack_says_to_empty_its_bucket_first(client, auth, users, db, ready_setup):
    operation = f.add_operation(db, ready_setup, "teardown", "running")
    why = "it is in region us-east-1, and the setup is in eu-west-1 now"
    build = f.add_stack(db, operation, "build", BUILD, action="delete", phase="pending", region="us-east-1",
                        detail={**unreachable_detail(BUILD, "orders-api-pipeline", why),
                                "cli_command": delete_command("orders-api-pipeline", "us-east-1"),
                                "artifact_bucket": f"orders-api-artifacts-{BUILD}-us-east-1"})
    db.commit()
    auth.login("viewer")
    left = section(page_of(client, f"/setups/{ready_setup.id}/operations/{operation.id}"), "left-for-admins")
    assert f"The worker cannot reach it: {why}." in text(left)
    assert (f"first empty its artifact bucket orders-api-artifacts-{BUILD}-us-east-1. The bucket is versioned, and "
            "CloudFormation cannot delete a bucket that still holds object versions or delete markers") in text(left)
    assert f"<code>{delete_command('orders-api-pipeline', 'us-east-1')}</code>" in left
    assert text(left).index("first empty its artifact bucket") < text(left).index("aws cloudformation delete-stack")
    assert f'id="left-{build.id}"' in left


def test_stacks_left_in_another_region_are_listed_with_their_commands(client, auth, users, db, ready_setup):
    operation = f.add_operation(db, ready_setup, "teardown", "succeeded", detail={"left_in_other_regions": LEFT})
    f.add_stack(db, operation, "build", BUILD, action="delete", phase="done", stack_status="DELETE_COMPLETE")
    db.commit()
    auth.login("viewer")
    left = section(page_of(client, f"/setups/{ready_setup.id}/operations/{operation.id}"), "left-for-admins")
    assert "This teardown cannot delete these stacks of the setup's applies: they stay" in text(left)
    for number, entry in enumerate(LEFT, start=1):
        assert f'id="left-region-{number}"' in left
        assert f"{entry['stack_name']} in account {entry['account_id']}, us-east-1" in text(left)
        assert f"<code>{entry['cli_command']}</code>" in left
    assert ("the one in the setup's region (eu-west-1) when there is one, and leaves this copy in us-east-1: the "
            "worker acts only in the setup's region.") in text(left)
    assert text(left).count("first empty its artifact bucket") == 1
    assert f"first empty its artifact bucket orders-api-artifacts-{BUILD}-us-east-1." in text(left)


def test_a_teardown_that_deleted_everything_lists_nothing_left(client, auth, users, db, ready_setup):
    operation = f.add_operation(db, ready_setup, "teardown", "succeeded")
    f.add_stack(db, operation, "build", BUILD, action="delete", phase="done", stack_status="DELETE_COMPLETE")
    db.commit()
    auth.login("viewer")
    page = page_of(client, f"/setups/{ready_setup.id}/operations/{operation.id}")
    assert 'id="left-for-admins"' not in page and "cannot delete" not in page


def test_the_api_reports_what_the_teardown_left_and_how_to_delete_it(api, db, ready_setup, stranded_teardown):
    operation, _ = stranded_teardown
    operation.detail = {**operation.detail, "left_in_other_regions": LEFT}
    db.commit()
    body = api("get", f"/operations/{operation.id}", role="viewer").get_json()
    assert body["left_in_other_regions"] == [{**LEFT[0]}, {**LEFT[1], "artifact_bucket": ""}]
    build, staging, production = body["stacks"]
    assert staging["unreachable"].startswith(f"cannot tear down orders-api-deploy-dependencies in account {STAGING}")
    assert staging["unreachable_reason"] == NO_WAY_IN
    assert staging["delete_command"] == delete_command("orders-api-deploy-dependencies")
    assert (staging["artifact_bucket"], staging["access_from_apply"]) == ("", False)
    assert (build["unreachable"], build["delete_command"], build["access_from_apply"]) == ("", "", False)
    assert production["access_from_apply"] is True
    assert_matches_openapi(body, "OperationDetail")


def test_the_api_gives_no_delete_command_for_an_apply(api, db, ready_setup):
    launch = {"cli_command": "aws cloudformation deploy --region eu-west-1 --stack-name orders-api-deploy-dependencies"}
    applied = f.add_apply(db, ready_setup, f.add_plan(db, ready_setup, staging={"action": "self_launch",
                                                                                "detail": launch}))
    db.commit()
    body = api("get", f"/operations/{applied.id}", role="viewer").get_json()
    staging = body["stacks"][0]
    assert staging["launch"] == launch and staging["delete_command"] == ""
    assert body["left_in_other_regions"] == []
    assert_matches_openapi(body, "OperationDetail")


def assert_matches_openapi(body: dict, schema_name: str) -> None:
    spec = build_spec()
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": spec["components"]}
    OAS30Validator(schema).validate(body)  # raises with the first mismatch
