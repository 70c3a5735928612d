"""The setup's state on the list and its page comes from its operations, never from the wizard's "ready"."""
from __future__ import annotations

import pytest

from tests.portal import factories as f
from tests.portal.helpers import submit


def state_on_pages(client, setup_id: int) -> tuple[str, str]:
    page = client.get(f"/setups/{setup_id}").get_data(as_text=True)
    listing = client.get("/").get_data(as_text=True)
    badge = page.split('id="setup-state">', 1)[1].split("<", 1)[0]
    row = listing.split("<tbody>", 1)[1]
    return badge, row


@pytest.mark.parametrize("history, expected", [
    ([], "not planned"),
    ([("plan", "pending")], "planning"),
    ([("plan", "succeeded")], "planned"),
    ([("plan", "succeeded"), ("apply", "running")], "applying"),
    ([("plan", "succeeded"), ("apply", "succeeded")], "deployed"),
    ([("plan", "succeeded"), ("apply", "failed")], "failed"),
    ([("plan", "succeeded"), ("apply", "succeeded"), ("teardown", "running")], "tearing down"),
    ([("plan", "succeeded"), ("apply", "succeeded"), ("teardown", "succeeded")], "torn down"),
    ([("plan", "succeeded"), ("apply", "succeeded"), ("apply", "cancelled")], "deployed"),
])
def test_the_badge_follows_the_recorded_operations(client, auth, users, db, ready_setup, history, expected):
    for kind, status in history:
        if kind == "plan":
            f.add_plan(db, ready_setup, status=status)
        else:
            f.add_operation(db, ready_setup, kind, status)
    db.commit()
    auth.login("viewer")
    badge, row = state_on_pages(client, ready_setup.id)
    assert badge == expected
    assert f">{expected}</span>" in row and ">ready<" not in row


def test_a_torn_down_setup_is_not_offered_a_teardown(client, auth, users, db, ready_setup, broker):
    f.add_apply(db, ready_setup, f.add_plan(db, ready_setup), status="succeeded")
    f.add_operation(db, ready_setup, "teardown", "succeeded")
    db.commit()
    auth.login("operator")
    assert f"/setups/{ready_setup.id}/teardown" not in client.get(f"/setups/{ready_setup.id}/deployments").get_data(as_text=True)
    response = submit(client, f"/setups/{ready_setup.id}/teardown", {"confirmation": "orders-api"})
    assert response.status_code == 409 and "there is nothing left to tear down" in response.get_data(as_text=True)


@pytest.mark.parametrize("history, linked", [
    ([("apply", "succeeded")], True),
    ([("apply", "succeeded"), ("apply", "running")], True),  # the re-apply's badge says applying
    ([("apply", "succeeded"), ("apply", "failed")], True),  # its stacks stay
    ([("apply", "failed")], False),
    ([("apply", "succeeded"), ("teardown", "succeeded")], False),
])
def test_the_list_links_the_pipeline_while_the_stacks_are_deployed(client, auth, users, db, ready_setup, history,
                                                                    linked):
    for kind, status in history:
        f.add_operation(db, ready_setup, kind, status)
    db.commit()
    auth.login("viewer")
    _, row = state_on_pages(client, ready_setup.id)
    assert (f'href="/pipelines/{ready_setup.id}"' in row) is linked
