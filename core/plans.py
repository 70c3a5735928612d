"""What makes a plan reviewable: every stack's planned outcome rests on what AWS answered.

The worker concludes a plan with these rules and the portal offers Apply with the same rules, so a
plan can never be "succeeded" or applied while a change set is still being described.
"""
from __future__ import annotations

from typing import Iterable

from core.models import Operation, StackRecord
from core.models.operations import StackAction, StackPhase

# DescribeChangeSet's status for a change set that was computed and may be executed.
DESCRIBED = "CREATE_COMPLETE"
# CloudFormation reports a change set that found nothing to change as FAILED (with a reason saying so).
EMPTY = "FAILED"


def missing_evidence(record: StackRecord) -> str:
    """Say why the record's planned outcome is not yet backed by AWS's answer; "" when it is."""
    where = f"{record.stack_name} in account {record.account_id}"
    if record.phase == StackPhase.FAILED.value:
        return f"{where} could not be planned: {record.status_reason or 'no reason was recorded'}"
    if record.phase != StackPhase.DONE.value or not record.action:
        return f"the change set of {where} is not described yet"
    action = StackAction(record.action)
    if action in (StackAction.CREATE, StackAction.UPDATE) and record.change_set_status != DESCRIBED:
        return f"the change set of {where} is not described yet"
    if action is StackAction.UNCHANGED and record.change_set_status != EMPTY:
        return f"CloudFormation has not yet said that {where} is up to date"
    if action is StackAction.RECREATE and record.stack_status != "ROLLBACK_COMPLETE":
        return f"the state of {where} was not recorded"
    if action is StackAction.SELF_LAUNCH and not record.changes:
        return f"the resources {where} will create were not listed"
    return ""


def unreviewable(plan: Operation) -> list[str]:
    """Every reason the plan's stacks are not all backed by evidence; empty when it may be reviewed."""
    if plan.stacks_expected is None or len(plan.stacks) != plan.stacks_expected:
        return ["the plan has not recorded all of its stacks yet"]
    return [reason for reason in map(missing_evidence, plan.stacks) if reason]


def all_up_to_date(records: Iterable[StackRecord]) -> bool:
    """Whether the plan found nothing to change anywhere (so there is nothing to apply)."""
    actions = [r.action for r in records]
    return bool(actions) and all(a == StackAction.UNCHANGED.value for a in actions)
