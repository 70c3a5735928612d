"""CloudFormation statuses reduced to the states the worker acts on."""
from __future__ import annotations

import pytest

from worker.stack_status import StackState, UnknownStackStatus, classify, is_finishing

# Every StackStatus of the CloudFormation API (botocore's model) must be known.
def _api_statuses() -> list[str]:
    import botocore.session

    model = botocore.session.get_session().get_service_model("cloudformation")
    return list(model.shape_for("StackStatus").enum)


@pytest.mark.parametrize("status", _api_statuses())
def test_every_api_status_is_classified(status):
    assert isinstance(classify(status), StackState)


@pytest.mark.parametrize(("status", "state"), [
    ("REVIEW_IN_PROGRESS", StackState.ABSENT),
    ("DELETE_COMPLETE", StackState.ABSENT),
    ("CREATE_COMPLETE", StackState.COMPLETE),
    ("UPDATE_COMPLETE", StackState.COMPLETE),
    ("UPDATE_ROLLBACK_COMPLETE", StackState.ROLLED_BACK),
    ("ROLLBACK_COMPLETE", StackState.NEEDS_RECREATE),
    ("UPDATE_ROLLBACK_FAILED", StackState.FAILED),
    ("DELETE_FAILED", StackState.FAILED),
    ("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", StackState.IN_PROGRESS),
])
def test_statuses_map_to_states(status, state):
    assert classify(status) is state


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
