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

Decided by the emulator's one evaluator (``emulator.policy``): a Deny wins over an Allow; a
condition key or operator the emulator does not know (e.g. ``aws:PrincipalOrgID``) makes a Deny
apply and an Allow grant nothing, and is named in the reason.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from moto.iam.access_control import PermissionResult

from emulator.iam_conditions import as_list
from emulator.policy import PolicyRequest, decide

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


def _names(names: set[str], service: str | None) -> Callable[[Any], bool]:
    """Whether a Principal element names the sender: its account, root, the target's role, the service or ``*``."""
    def named(principal: Any) -> bool:
        if principal == "*":
            return True
        if not isinstance(principal, dict):
            return False
        if service is not None and service in as_list(principal.get("Service", [])):
            return True
        return any(p == "*" or str(p) in names for p in as_list(principal.get("AWS", [])))

    return named


def _decide(document: str | None, action: str, resource: str, names: set[str], service: str | None,
            context: dict[str, str | None], what: str) -> Verdict:
    """The shared evaluator's decision (emulator/policy.py), worded for the refusal log."""
    if not document:
        return Verdict(False, f"{what} has no policy")
    decision = decide(document, PolicyRequest(action, resource, _names(names, service), context))
    notes = f" ({'; '.join(decision.unevaluated)})" if decision.unevaluated else ""
    if decision.allowed:
        return Verdict(True, "allowed")
    if decision.result == PermissionResult.DENIED:
        return Verdict(False, f"{what}'s policy denies it{notes}")
    return Verdict(False, f"{what}'s policy does not allow it{notes}")


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
