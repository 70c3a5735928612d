"""CloudFormation's stack statuses reduced to the few states the worker acts on."""
from __future__ import annotations

import enum


class UnknownStackStatus(ValueError):
    """CloudFormation returned a status this module does not know: fail loudly, never guess."""

    def __init__(self, status: str) -> None:
        super().__init__(f"unknown CloudFormation stack status {status!r}")
        self.status = status


class StackState(str, enum.Enum):
    ABSENT = "absent"  # no stack, or only a REVIEW_IN_PROGRESS placeholder, or deleted
    IN_PROGRESS = "in_progress"
    COMPLETE = "complete"
    # The last change failed and was undone; an update rollback leaves a usable stack behind.
    ROLLED_BACK = "rolled_back"
    # A failed creation rolled back: the stack is empty and can only be deleted and recreated.
    NEEDS_RECREATE = "needs_recreate"
    FAILED = "failed"  # stuck; needs a human (continue rollback, retain resources, ...)

    @property
    def is_terminal(self) -> bool:
        return self is not StackState.IN_PROGRESS


_STATES: dict[str, StackState] = {
    # REVIEW_IN_PROGRESS: a CREATE change set exists but was never executed, so there is no stack
    # yet (awscli's deployer treats it the same way).
    "REVIEW_IN_PROGRESS": StackState.ABSENT,
    "DELETE_COMPLETE": StackState.ABSENT,
    "CREATE_IN_PROGRESS": StackState.IN_PROGRESS,
    "ROLLBACK_IN_PROGRESS": StackState.IN_PROGRESS,
    "DELETE_IN_PROGRESS": StackState.IN_PROGRESS,
    "UPDATE_IN_PROGRESS": StackState.IN_PROGRESS,
    "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS": StackState.IN_PROGRESS,
    "UPDATE_ROLLBACK_IN_PROGRESS": StackState.IN_PROGRESS,
    "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS": StackState.IN_PROGRESS,
    "IMPORT_IN_PROGRESS": StackState.IN_PROGRESS,
    "IMPORT_ROLLBACK_IN_PROGRESS": StackState.IN_PROGRESS,
    "CREATE_COMPLETE": StackState.COMPLETE,
    "UPDATE_COMPLETE": StackState.COMPLETE,
    "IMPORT_COMPLETE": StackState.COMPLETE,
    "UPDATE_ROLLBACK_COMPLETE": StackState.ROLLED_BACK,
    "IMPORT_ROLLBACK_COMPLETE": StackState.ROLLED_BACK,
    "ROLLBACK_COMPLETE": StackState.NEEDS_RECREATE,
    "CREATE_FAILED": StackState.FAILED,
    "ROLLBACK_FAILED": StackState.FAILED,
    "DELETE_FAILED": StackState.FAILED,
    "UPDATE_FAILED": StackState.FAILED,
    "UPDATE_ROLLBACK_FAILED": StackState.FAILED,
    "IMPORT_ROLLBACK_FAILED": StackState.FAILED,
}

# Statuses after which only the stack's own final event is left to come.
_FINISHING = frozenset({
    "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
})


def classify(status: str) -> StackState:
    """Map a StackStatus (or a stack-level ResourceStatus) to a StackState."""
    try:
        return _STATES[status]
    except KeyError:
        raise UnknownStackStatus(status) from None


def is_finishing(status: str) -> bool:
    """Whether the stack is in a cleanup phase, so its final status is imminent."""
    classify(status)
    return status in _FINISHING
