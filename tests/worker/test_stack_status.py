"""CloudFormation statuses reduced to the states the worker acts on."""
from __future__ import annotations

import pytest

from worker.stack_status import StackState, UnknownStackStatus, classify, is_finishing

# Written out here, not derived from the module: each of the API's statuses with the state it means.
EXPECTED = {
    "REVIEW_IN_PROGRESS": StackState.ABSENT,  # a CREATE change set not executed: no stack yet
    "DELETE_COMPLETE": StackState.ABSENT,
    **dict.fromkeys(["CREATE_IN_PROGRESS", "ROLLBACK_IN_PROGRESS", "DELETE_IN_PROGRESS", "UPDATE_IN_PROGRESS",
                     "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_ROLLBACK_IN_PROGRESS",
                     "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", "IMPORT_IN_PROGRESS",
                     "IMPORT_ROLLBACK_IN_PROGRESS"], StackState.IN_PROGRESS),
    **dict.fromkeys(["CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"], StackState.COMPLETE),
    **dict.fromkeys(["UPDATE_ROLLBACK_COMPLETE", "IMPORT_ROLLBACK_COMPLETE"], StackState.ROLLED_BACK),
    "ROLLBACK_COMPLETE": StackState.NEEDS_RECREATE,  # a failed creation: delete, then create again
    **dict.fromkeys(["CREATE_FAILED", "ROLLBACK_FAILED", "DELETE_FAILED", "UPDATE_FAILED",
                     "UPDATE_ROLLBACK_FAILED", "IMPORT_ROLLBACK_FAILED"], StackState.FAILED),
}


def api_statuses() -> list[str]:
    """Every StackStatus of the CloudFormation API, from botocore's service model."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("cloudformation")
    return list(model.shape_for("StackStatus").enum)


def test_the_table_covers_every_api_status():
    assert sorted(EXPECTED) == sorted(api_statuses())


@pytest.mark.parametrize("status", api_statuses())
def test_every_api_status_maps_to_its_state(status):
    assert classify(status) is EXPECTED[status]


def test_unknown_status_is_rejected_loudly():
    with pytest.raises(UnknownStackStatus, match="SOMETHING_NEW"):
        classify("SOMETHING_NEW")


def test_only_in_progress_is_not_terminal():
    assert not StackState.IN_PROGRESS.is_terminal
    assert all(s.is_terminal for s in StackState if s is not StackState.IN_PROGRESS)


def test_cleanup_phases_are_finishing():
    assert is_finishing("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
    assert not is_finishing("UPDATE_IN_PROGRESS")
    with pytest.raises(UnknownStackStatus):
        is_finishing("BOGUS")
