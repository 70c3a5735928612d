"""The approval page, its link and its API, over snapshots and reviews seeded as the worker writes them.

What reaches AWS is what is queued: the tests read the Celery messages on the real local Redis.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.models import (ApprovalDecision, ApprovalReview, ApprovalVote, AuditEntry, Setup, utcnow)
from tests.portal import factories as f
from tests.portal.helpers import csrf_token
from tests.portal import test_api
from tests.portal.test_pipelines import COMMIT, EXECUTION, TOKEN, seed_snapshot
from tests.portal.test_plan import queued_messages

api, bearer = test_api.api, test_api.bearer  # fixtures

CHANGES = [
    {"action": "Add", "logical_id": "OrdersTable", "physical_id": "", "type": "AWS::DynamoDB::Table", "replacement": ""},
    {"action": "Modify", "logical_id": "Function", "physical_id": "orders-api-production-Function-1",
     "type": "AWS::Lambda::Function", "replacement": "False"},
    {"action": "Modify", "logical_id": "Api", "physical_id": "a1b2c3", "type": "AWS::ApiGateway::RestApi",
     "replacement": "True"},
    {"action": "Remove", "logical_id": "OldQueue", "physical_id": "old-queue", "type": "AWS::SQS::Queue",
     "replacement": ""},
]


@pytest.fixture
def deployed(db, ready_setup, users):
    plan = f.add_plan(db, ready_setup)
    f.add_apply(db, ready_setup, plan, status="succeeded")
    db.commit()
    return ready_setup


@pytest.fixture
def waiting(db, deployed):
    """The deployed setup with execution EXECUTION waiting at the approval, as last read."""
    seed_snapshot(db, deployed)
    return deployed


def seed_review(db, setup, **fields):
    values = {"status": "read", "change_set_name": f"orders-api-production-{EXECUTION}", "read_at": utcnow(),
              "change_set": {"status": "CREATE_COMPLETE", "status_reason": "", "execution_status": "AVAILABLE",
                             "changes": CHANGES},
              "staging": {"stack_name": "orders-api-staging", "status": "UPDATE_COMPLETE", "status_reason": "",
                          "outputs": [{"key": "ApiUrl", "value": "https://staging.example.com/", "description": ""}]},
              "custom_data": "Check the staging endpoint first", "complete": True, **fields}
    row = db.scalar(select(ApprovalReview).where(ApprovalReview.setup_id == setup.id))
    if row is None:
        row = ApprovalReview(setup_id=setup.id, execution_id=EXECUTION)
        db.add(row)
    for key, value in values.items():
        setattr(row, key, value)
    db.commit()
    return row


def approval_url(setup):
    return f"/pipelines/{setup.id}/approval"


def decide(client, setup, decision, comment="", **extra):
    token = csrf_token(client, approval_url(setup))
    return client.post(approval_url(setup), data={"decision": decision, "comment": comment,
                                                  "csrf_token": token, **extra})


def sent(broker):
    return [(m["task"], m["args"]) for m in queued_messages(broker) if m["task"] == "worker.send_approval"]


def decisions(db):
    db.expire_all()
    return db.scalars(select(ApprovalDecision)).all()


def test_the_pipeline_link_resolves_to_the_one_setup(client, auth, waiting):
    auth.login("approver")
    response = client.get("/approvals/orders-api")
    assert response.status_code == 302 and response.headers["Location"].endswith(approval_url(waiting))


@pytest.mark.parametrize("app_name", ["payments-api", "Not_A_Name", "x" * 300])
def test_an_unknown_application_is_404(client, auth, waiting, app_name):
    auth.login("approver")
    response = client.get(f"/approvals/{app_name}")
    assert response.status_code == 404 and "no deployed pipeline" in response.get_data(as_text=True)


def test_one_name_in_two_build_accounts_asks_which(client, auth, db, waiting, make_setup):
    other = db.get(Setup, make_setup(build_account_id="444444444444"))
    f.add_apply(db, other, f.add_plan(db, other), status="succeeded")
    db.commit()
    auth.login("approver")
    page = client.get("/approvals/orders-api").get_data(as_text=True)
    assert "Which pipeline of orders-api?" in page and "444444444444" in page and approval_url(other) in page
    narrowed = client.get("/approvals/orders-api?account=444444444444")
    assert narrowed.headers["Location"].endswith(approval_url(other))


def test_the_page_shows_the_waiting_execution_and_asks_for_one_review(client, auth, db, waiting, broker):
    auth.login("approver")
    page = client.get(approval_url(waiting)).get_data(as_text=True)
    assert EXECUTION in page and COMMIT[:12] in page and "Add the orders endpoint" in page
    assert "2 h 10 min" in page and "in 6 d 21 h" in page and "The worker is reading the change set" in page
    assert TOKEN not in page
    client.get(approval_url(waiting))  # a second viewer costs no second read
    [review] = db.scalars(select(ApprovalReview)).all()
    reads = [m for m in queued_messages(broker) if m["task"] == "worker.read_approval"]
    assert [m["args"] for m in reads] == [[review.id]] and review.execution_id == EXECUTION


def test_an_incomplete_review_is_read_again_once_it_is_old_enough(client, auth, db, waiting, broker):
    from datetime import timedelta
    seed_review(db, waiting, complete=False, read_at=utcnow() - timedelta(seconds=30), change_set={},
                change_set_problem="The change set does not exist (yet).")
    auth.login("approver")
    client.get(approval_url(waiting))
    client.get(approval_url(waiting))
    assert len([m for m in queued_messages(broker) if m["task"] == "worker.read_approval"]) == 1


def test_the_page_shows_every_production_change_with_replacement_flagged(client, auth, db, waiting):
    seed_review(db, waiting)
    auth.login("viewer")
    page = client.get(approval_url(waiting)).get_data(as_text=True)
    for change in CHANGES:
        assert change["logical_id"] in page
    assert "1 to add · 2 to modify (1 replaced) · 1 to remove" in page
    assert "Replaced" in page and "will be <strong>replaced</strong>" in page
    assert "https://staging.example.com/" in page and "UPDATE_COMPLETE" in page
    assert "Check the staging endpoint first" in page
    assert "Only approvers and admins decide" in page and 'name="decision"' not in page


def test_an_unreadable_production_account_is_said_with_a_console_link(client, auth, db, waiting):
    seed_review(db, waiting, change_set={}, complete=False, change_set_problem="The portal cannot read the "
                "production account 333333333333: it is self-launched.")
    auth.login("approver")
    page = client.get(approval_url(waiting)).get_data(as_text=True)
    assert "cannot read the production account" in page and "console.aws.amazon.com/cloudformation" in page


def test_an_approver_approves_once_however_often_they_click(client, auth, db, waiting, broker):
    seed_review(db, waiting)
    auth.login("approver")
    first = decide(client, waiting, "approve", "Looks good")
    assert first.status_code == 302
    again = decide(client, waiting, "approve", "Looks good")
    assert "approved already by approver" in client.get(again.headers["Location"]).get_data(as_text=True)
    [row] = decisions(db)
    assert (row.decision, row.decided_by, row.comment, row.execution_id, row.approval_run_id, row.commit_id) == (
        "approve", "approver", "Looks good", EXECUTION, "Approve-run", COMMIT)
    assert sent(broker) == [("worker.send_approval", [row.id])]
    [entry] = db.scalars(select(AuditEntry).where(AuditEntry.action == "production.approve")).all()
    assert entry.actor == "approver" and entry.detail["execution_id"] == EXECUTION and entry.detail["comment"]


def test_an_admin_rejects_with_a_comment(client, auth, db, waiting, broker):
    auth.login("admin")
    decide(client, waiting, "reject", "The endpoint answers 500 on staging")
    [row] = decisions(db)
    assert (row.decision, row.decided_by, row.comment) == ("reject", "admin", "The endpoint answers 500 on staging")
    assert len(sent(broker)) == 1


@pytest.mark.parametrize("decision, comment, message", [
    ("reject", "", "a comment is required to reject"),
    ("reject", "   ", "a comment is required to reject"),
    ("approve", "x" * 401, "at most 400 fit in the summary"),
    ("maybe", "", "Choose approve or reject"),
    ("", "", "Choose approve or reject"),
])
def test_bad_decisions_are_400_and_nothing_is_sent(client, auth, db, waiting, broker, decision, comment, message):
    auth.login("approver")
    response = decide(client, waiting, decision, comment)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert decisions(db) == [] and sent(broker) == []


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_viewers_and_operators_cannot_approve(client, auth, db, waiting, broker, role):
    auth.login(role)
    token = csrf_token(client, approval_url(waiting))
    response = client.post(approval_url(waiting), data={"decision": "approve", "csrf_token": token})
    assert response.status_code == 403 and decisions(db) == [] and sent(broker) == []


def test_a_decision_without_csrf_token_is_refused(client, auth, db, waiting, broker):
    auth.login("approver")
    response = client.post(approval_url(waiting), data={"decision": "approve"})
    assert response.status_code == 400 and decisions(db) == [] and sent(broker) == []


def test_a_decision_on_an_execution_no_longer_waiting_is_refused(client, auth, db, waiting, broker):
    auth.login("approver")
    response = decide(client, waiting, "approve", execution_id="another-execution-reviewed-earlier")
    assert "no longer waits" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert decisions(db) == [] and sent(broker) == []


def test_nothing_waiting_says_so_and_sends_nothing(client, auth, db, deployed, broker):
    seed_snapshot(db, deployed, build_status="Failed")
    auth.login("approver")
    page = client.get(approval_url(deployed)).get_data(as_text=True)
    assert "No approval waits" in page and 'name="decision"' not in page
    response = client.post(approval_url(deployed), data={"decision": "approve", "csrf_token": csrf_token(
        client, f"/pipelines/{deployed.id}")})
    assert "nothing to decide" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert decisions(db) == [] and sent(broker) == []


def test_two_approvers_are_needed_when_the_setup_says_so(client, auth, db, waiting, broker, make_user):
    waiting.two_person_approval = True
    db.commit()
    make_user("april", "approver")
    auth.login("approver")
    decide(client, waiting, "approve", "Fine by me")
    assert decisions(db) == [] and sent(broker) == []
    page = client.get(approval_url(waiting)).get_data(as_text=True)
    assert "You approved this already" in page and 'name="decision"' not in page
    again = decide(client, waiting, "approve")  # the form is gone; a crafted post is refused too
    assert "You approved this already" in client.get(again.headers["Location"]).get_data(as_text=True)
    assert [v.username for v in db.scalars(select(ApprovalVote))] == ["approver"]
    auth.logout()
    auth.login("april")
    decide(client, waiting, "approve", "Second pair of eyes")
    [row] = decisions(db)
    assert (row.decided_by, row.first_approver, row.comment) == ("april", "approver", "Second pair of eyes")
    assert sent(broker) == [("worker.send_approval", [row.id])]


def test_under_the_two_person_rule_either_may_reject_alone(client, auth, db, waiting, broker):
    waiting.two_person_approval = True
    db.commit()
    auth.login("approver")
    decide(client, waiting, "reject", "Not this week")
    [row] = decisions(db)
    assert row.decision == "reject" and row.first_approver == "" and len(sent(broker)) == 1


def test_api_reads_the_approval_without_the_token(api, db, waiting):
    seed_review(db, waiting)
    body = api("get", f"/pipelines/{waiting.id}/approval", role="viewer").get_json()
    assert body["waiting"]["execution_id"] == EXECUTION and body["waiting"]["commit_id"] == COMMIT
    assert [c["logical_id"] for c in body["review"]["change_set"]["changes"]] == [c["logical_id"] for c in CHANGES]
    assert [c["replaces"] for c in body["review"]["change_set"]["changes"]] == [False, False, True, False]
    assert body["can_decide"] is False and TOKEN not in repr(body)
    assert api("get", "/pipelines/999/approval", role="viewer").status_code == 404


def test_api_decides_once_and_refuses_clearly(api, db, waiting, broker):
    url = f"/pipelines/{waiting.id}/approval"
    assert api("post", url, role="viewer", json={"decision": "approve"}).status_code == 403
    assert api("post", url, role="operator", json={"decision": "approve"}).status_code == 403
    assert api("post", url, role="approver", json={"decision": "reject"}).status_code == 422
    long = api("post", url, role="approver", json={"decision": "approve", "comment": "x" * 401})
    assert long.status_code == 422 and "At most 400" in long.get_json()["errors"]["comment"][0]
    assert api("post", url, role="approver", json={"decision": "approve", "extra": 1}).status_code == 422
    assert api("post", "/pipelines/999/approval", role="approver", json={"decision": "approve"}).status_code == 404
    assert sent(broker) == []
    made = api("post", url, role="approver", json={"decision": "approve", "comment": "Ship it",
                                                     "execution_id": EXECUTION})
    assert made.status_code == 202 and made.get_json()["decision"]["status"] == "pending"
    again = api("post", url, role="admin", json={"decision": "reject", "comment": "Wait"})
    assert again.status_code == 409 and again.get_json()["decision"]["decided_by"] == "approver"
    assert len(sent(broker)) == 1


def test_the_two_person_rule_is_a_setting_of_the_setup_in_the_api(api, db, ready_setup):
    url = f"/setups/{ready_setup.id}"
    assert api("get", url).get_json()["two_person_approval"] is False
    version = api("get", url).get_json()["version"]
    refused = api("patch", url, json={"version": version, "two_person_approval": "yes"})
    assert refused.status_code == 422 and "two_person_approval" in refused.get_json()["errors"]
    changed = api("patch", url, json={"version": version, "two_person_approval": True})
    assert changed.status_code == 200 and changed.get_json()["two_person_approval"] is True
    db.expire_all()
    assert db.get(Setup, ready_setup.id).two_person_approval is True


def test_the_two_person_rule_is_a_setting_of_the_setup_in_the_wizard(client, auth, db, ready_setup, users):
    from tests.portal.helpers import fill, form_values
    auth.login("operator")
    page = f"/setups/{ready_setup.id}/application"
    assert 'name="two_person_approval"' in client.get(page).get_data(as_text=True)
    fill(client, page, two_person_approval="y")
    db.expire_all()
    assert db.get(Setup, ready_setup.id).two_person_approval is True
    assert form_values(client.get(page).get_data(as_text=True)).get("two_person_approval") == "y"  # shown ticked
    settings = client.get(f"/setups/{ready_setup.id}/settings").get_data(as_text=True)
    assert "two distinct approvers" in settings
    fill(client, page, two_person_approval=None)  # unticked: a browser sends nothing
    db.expire_all()
    assert db.get(Setup, ready_setup.id).two_person_approval is False


def test_a_decision_whose_message_was_lost_is_sent_again_once(client, auth, db, waiting, broker):
    from datetime import timedelta
    auth.login("approver")
    decide(client, waiting, "approve", "Go")
    broker.delete("celery")  # the message is lost
    [row] = decisions(db)
    row.created_at = utcnow() - timedelta(minutes=2)
    db.commit()
    client.get(approval_url(waiting))
    client.get(approval_url(waiting))
    assert sent(broker) == [("worker.send_approval", [row.id])]
