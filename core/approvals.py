"""Rules of the production approval that the portal and the worker share.

Names come from docs/contracts.md: the pipeline's ``ApproveProduction`` stage creates the change
set ``APP-production-<execution id>`` of the stack ``APP-production`` (in the production account)
before its manual approval waits; ``APP-staging`` is what the approver sees deployed.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from core import pipelines
from core.models.approvals import Decision

# A comment is at most this long, so the summary sent to AWS (at most 512 characters, PutApprovalResult)
# always has room for who decided and how.
COMMENT_MAX = 400
SUMMARY_MAX = 512
# An incomplete review (the change set not created yet, an account not answering) is read again
# when a page opens at least this long after the last read.
REREAD_SECONDS = 10.0


def staging_stack_name(app: str) -> str:
    return f"{app}-staging"


def production_stack_name(app: str) -> str:
    return f"{app}-production"


def production_change_set_name(app: str, execution_id: str) -> str:
    return f"{app}-production-{execution_id}"


def summary(decision: str, username: str, comment: str, first_approver: str = "") -> str:
    """What PutApprovalResult's summary says: who decided in the portal, then their comment."""
    verb = "Approved" if decision == Decision.APPROVE else "Rejected"
    who = f"{verb} in the portal by {username}"
    if first_approver:
        who += f" (first approval by {first_approver})"
    text = f"{who}: {comment}" if comment else who
    return text[:SUMMARY_MAX]


def expires_at(since: datetime | None, timeout_minutes: int | None) -> datetime | None:
    """When a manual approval that started waiting at ``since`` expires: its action's timeout, else 7 days."""
    if since is None:
        return None
    return since + (timedelta(minutes=timeout_minutes) if timeout_minutes else pipelines.APPROVAL_TIMEOUT)
