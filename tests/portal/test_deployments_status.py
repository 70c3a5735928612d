"""Status the user can trust: no sentence contradicts another, stack events newest first, and the hand-over
against AWS names the account to switch to."""
from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from tests.portal import factories as f
from tests.portal.helpers import BUILD, STAGING
from tests.portal.test_deployments_plan import page_of, section, text


def event_ids(page: str, record) -> list[int]:
    return [int(i) for i in re.findall(r'<tr data-event-id="(\d+)">', section(page, f"stack-{record.id}"))]


def facts(page: str) -> str:
    return text(re.search(r'<dl class="facts card">.*?</dl>', page, re.S).group(0))


@pytest.fixture
def finished_apply(db, ready_setup):
    applied = f.add_apply(db, ready_setup, f.add_plan(db, ready_setup), status="succeeded")
    staging = applied.stacks[0]
    events = [f.add_event(db, staging, name, "AWS::IAM::Role", status, at=datetime(2026, 1, 1, 12, 0, n, tzinfo=UTC))
              for n, (name, status) in enumerate([("DeployRole", "CREATE_IN_PROGRESS"),
                                                  ("DeployRole", "CREATE_COMPLETE"),
                                                  (staging.stack_name, "CREATE_COMPLETE")])]
    db.commit()
    return applied, staging, events


def test_stack_events_are_newest_first_as_in_the_aws_console(client, auth, users, finished_apply, ready_setup):
    applied, staging, events = finished_apply
    auth.login("viewer")
    page = page_of(client, f"/setups/{ready_setup.id}/operations/{applied.id}")
    assert event_ids(page, staging) == [e.id for e in reversed(events)]
    assert f'<tbody id="events-{staging.id}" data-order="newest">' in page  # the live script keeps this order
    assert "Stack events are listed newest first, as the AWS console lists them." in text(page)
    assert f'<a href="/setups/{ready_setup.id}/operations/{applied.id}?events=oldest">Show oldest first</a>' in page


def test_the_toggle_lists_them_oldest_first(client, auth, users, finished_apply, ready_setup):
    applied, staging, events = finished_apply
    auth.login("viewer")
    page = page_of(client, f"/setups/{ready_setup.id}/operations/{applied.id}?events=oldest")
    assert event_ids(page, staging) == [e.id for e in events]
    assert f'data-order="oldest"' in page and "Stack events are listed oldest first." in text(page)
    assert f'<a href="/setups/{ready_setup.id}/operations/{applied.id}">Show newest first</a>' in page


def test_an_unknown_event_order_is_a_400(client, auth, users, finished_apply, ready_setup):
    applied, _, _ = finished_apply
    auth.login("viewer")
    response = client.get(f"/setups/{ready_setup.id}/operations/{applied.id}?events=sideways")
    assert response.status_code == 400
    assert "Stack events are listed newest or oldest first: ?events=oldest." in response.get_data(as_text=True)


@pytest.mark.parametrize("status, sentence", [
    ("succeeded", "Apply #{apply} executed these changes."),
    ("running", "Apply #{apply} is executing these changes (running)."),
    ("failed", "Apply #{apply} began executing these changes and failed."),
])
def test_an_applied_plan_never_says_nothing_was_executed(client, auth, users, db, ready_setup, status, sentence):
    plan = f.add_plan(db, ready_setup)
    applied = f.add_apply(db, ready_setup, plan, status=status)
    db.commit()
    auth.login("viewer")
    for path in (f"/setups/{ready_setup.id}/deployments", f"/setups/{ready_setup.id}/operations/{plan.id}"):
        lead = text(re.search(r'<p class="lead" id="plan-lead">.*?</p>', page_of(client, path), re.S).group(0))
        assert lead == f"3 of 3 stacks change. {sentence.format(apply=applied.id)}", path
        assert "Nothing has been executed yet" not in page_of(client, path)


def test_a_plan_nobody_applied_says_nothing_was_executed(client, auth, users, db, ready_setup):
    plan = f.add_plan(db, ready_setup)
    db.commit()
    auth.login("viewer")
    page = page_of(client, f"/setups/{ready_setup.id}/operations/{plan.id}")
    assert "3 of 3 stacks change. Nothing has been executed yet: review every change, then apply." in text(page)


def test_the_plan_page_names_the_plan_once(client, auth, users, db, ready_setup):
    plan = f.add_plan(db, ready_setup)
    db.commit()
    auth.login("viewer")
    page = page_of(client, f"/setups/{ready_setup.id}/operations/{plan.id}")
    assert re.findall(r"<h[12][^>]*>(.*?)</h[12]>", page).count(f"Plan #{plan.id}") == 1
    assert page.count("Requested by") == 1 and 'id="plan-status"' not in page


def test_a_request_that_failed_before_any_worker_never_started(client, auth, users, db, ready_setup):
    failed = f.add_operation(db, ready_setup, "apply", "failed", error="The task queue did not answer",
                             finished_at=datetime(2026, 1, 1, 14, 42, 40, tzinfo=UTC))
    db.commit()
    auth.login("viewer")
    shown = facts(page_of(client, f"/setups/{ready_setup.id}/operations/{failed.id}"))
    assert "Started never: it ended before a worker took it up Finished 14:42:40 UTC" in shown
    assert "not yet" not in shown


def test_a_pending_request_has_neither_started_nor_finished(client, auth, users, db, ready_setup):
    pending = f.add_operation(db, ready_setup, "plan", "pending")
    db.commit()
    auth.login("viewer")
    assert "Started not yet Finished not yet" in facts(page_of(client, f"/setups/{ready_setup.id}/operations/{pending.id}"))


def test_a_running_apply_has_started_but_not_finished(client, auth, users, db, ready_setup):
    running = f.add_apply(db, ready_setup, f.add_plan(db, ready_setup), status="running",
                          started_at=datetime(2026, 1, 1, 14, 40, 1, tzinfo=UTC))
    db.commit()
    auth.login("viewer")
    assert "Started 14:40:01 UTC Finished not yet" in facts(page_of(client, f"/setups/{ready_setup.id}/operations/{running.id}"))


def test_against_aws_the_hand_over_names_the_account_to_switch_to(client, auth, users, db, ready_setup):
    applied = f.add_apply(db, ready_setup, f.add_plan(db, ready_setup), status="succeeded")
    applied.detail = f.succeeded_detail(ready_setup, applied)
    db.commit()
    auth.login("viewer")
    page = page_of(client, f"/setups/{ready_setup.id}/operations/{applied.id}")
    result = text(section(page, "result"))
    assert (f"The portal works against AWS. The repository and the pipeline are in the build account {BUILD}: "
            "switch to it (or use its credentials)") in result
    assert (f"The codecommit:: remote needs git-remote-codecommit (pip install git-remote-codecommit) and "
            f"credentials for account {BUILD}.") in result
    assert f"git remote add aws codecommit::{f.REGION}://{f.APP}" in result
    assert f"Open it in the AWS console signed in to account {BUILD}" in result
    assert f"{STAGING}/{f.APP}-deploy-dependencies signed in to account {STAGING}" in result
    assert "_emulator" not in page
