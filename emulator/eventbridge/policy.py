"""Whether a resource policy lets EventBridge deliver: an event bus's policy, an SQS queue's policy.

- **Bus to bus across accounts.** The receiving bus's policy must allow ``events:PutEvents`` to the
  sending account: a principal naming the account (``"123456789012"``, its root ARN), the role of
  the rule's target (``RoleArn``), or ``*``; conditions on ``aws:PrincipalAccount``,
  ``aws:PrincipalArn``, ``aws:SourceAccount`` and ``aws:SourceArn`` (the sending rule) are
  evaluated. Within one account no policy is needed, as on AWS.
- **Bus to SQS.** The queue's policy must allow ``sqs:SendMessage`` to the service principal
  ``events.amazonaws.com`` (or ``*``); AWS documents the condition ``aws:SourceArn`` = the rule's
  ARN, which is evaluated, as is ``aws:SourceAccount``.

EventBridge calls over TLS, so ``aws:SecureTransport`` is "true" (a TLS-only Deny denies nothing).

A Deny wins over an Allow. A condition key or operator the emulator does not know (e.g.
``aws:PrincipalOrgID``) makes a Deny apply and an Allow grant nothing, and is named in the reason.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from emulator.iam_conditions import as_list, condition_matches, glob, policy_values

EVENTS_SERVICE = "events.amazonaws.com"


@dataclass(frozen=True)
class Sender:
    """Who delivers: the account and ARN of the rule, and the role its target names (if any)."""

    account_id: str
    rule_arn: str
    role_arn: str | None = None


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str


def _principal_matches(principal: Any, names: set[str], service: str | None) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    if service is not None and service in as_list(principal.get("Service", [])):
        return True
    return any(p == "*" or str(p) in names for p in as_list(principal.get("AWS", [])))


def _action_matches(actions: Any, action: str) -> bool:
    return any(glob(str(pattern).lower(), action.lower()) for pattern in as_list(actions))


def _conditions(statement: dict[str, Any], context: dict[str, str | None]) -> tuple[bool, str | None]:
    """(holds, what could not be evaluated)."""
    for operator, keys in (statement.get("Condition") or {}).items():
        for key, expected in (keys or {}).items():
            lowered = key.lower()
            if lowered not in context:
                return False, f"condition key {key} is not emulated"
            matched = condition_matches(operator, context[lowered], policy_values(expected))
            if matched is None:
                return False, f"condition operator {operator} is not emulated"
            if not matched:
                return False, None
    return True, None


def _decide(document: str | None, action: str, resource: str, names: set[str], service: str | None,
            context: dict[str, str | None], what: str) -> Verdict:
    if not document:
        return Verdict(False, f"{what} has no policy")
    try:
        statements = as_list(json.loads(document).get("Statement", []))
    except (ValueError, AttributeError):
        return Verdict(False, f"{what}'s policy is not a JSON policy document")
    allowed, notes = False, []
    for statement in statements:
        if not isinstance(statement, dict):
            continue
        if not _principal_matches(statement.get("Principal"), names, service):
            continue
        if not _action_matches(statement.get("Action", []), action):
            continue
        if "Resource" in statement and not any(glob(str(r), resource) for r in as_list(statement["Resource"])):
            continue
        holds, unknown = _conditions(statement, context)
        if unknown:
            notes.append(f"statement {statement.get('Sid', '?')}: {unknown}")
        if statement.get("Effect") == "Deny" and (holds or unknown):
            return Verdict(False, f"{what}'s policy denies it" + (f" ({unknown})" if unknown else ""))
        if statement.get("Effect") == "Allow" and holds:
            allowed = True
    if allowed:
        return Verdict(True, "allowed")
    return Verdict(False, f"{what}'s policy does not allow it" + (f" ({'; '.join(notes)})" if notes else ""))


def bus_allows(bus: Any, sender: Sender) -> Verdict:
    """May ``sender`` put events on ``bus`` (moto's EventBus)?"""
    if sender.account_id == bus.account_id:
        return Verdict(True, "same account")
    names = {sender.account_id, f"arn:aws:iam::{sender.account_id}:root"}
    if sender.role_arn:
        names.add(sender.role_arn)
    context: dict[str, str | None] = {
        "aws:principalaccount": sender.account_id,
        "aws:principalarn": sender.role_arn or f"arn:aws:iam::{sender.account_id}:root",
        "aws:sourceaccount": sender.account_id, "aws:sourcearn": sender.rule_arn, "aws:securetransport": "true",
    }
    return _decide(bus.policy, "events:PutEvents", bus.arn, names, None, context, f"event bus {bus.arn}")


def queue_allows(queue: Any, sender: Sender) -> Verdict:
    """May EventBridge, for ``sender``'s rule, send to ``queue`` (moto's Queue)?"""
    context: dict[str, str | None] = {"aws:sourcearn": sender.rule_arn, "aws:sourceaccount": sender.account_id,
                                      "aws:securetransport": "true"}
    return _decide(getattr(queue, "policy", None), "sqs:SendMessage", queue.queue_arn, set(),
                   EVENTS_SERVICE, context, f"queue {queue.queue_arn}")
