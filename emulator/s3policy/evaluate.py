"""Decide what a bucket policy says about one object request, as far as the emulator can tell.

- Every request counts as arriving over TLS (``aws:SecureTransport`` is "true"): the emulator
  stands in for AWS's HTTPS endpoints even when it is reached over plain HTTP.
- The caller (from the request's credentials) is matched against ``Principal`` /
  ``NotPrincipal`` and fills ``aws:PrincipalArn``, ``aws:PrincipalAccount`` and
  ``aws:PrincipalType``; an unsigned request is anonymous and has no principal keys.
- What cannot be evaluated (a condition key outside that context such as ``aws:SourceIp``, an
  operator such as ``IpAddress`` or ``NumericLessThan``, a statement lacking its Action,
  Resource or Principal) is decided conservatively: a Deny applies, an Allow grants nothing.
  The decision says which statements were decided so, for the caller to log.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable

from moto.iam.access_control import PermissionResult

from emulator.iam_conditions import as_list, condition_matches, glob, policy_values
from emulator.sts import Caller, aws_principal_matches


@dataclass(frozen=True)
class ObjectRequest:
    action: str  # as AWS names it, e.g. "s3:GetObjectVersion"
    resource: str  # "arn:aws:s3:::bucket/key"
    caller: Caller | None  # None: an unsigned (anonymous) request


@dataclass(frozen=True)
class Decision:
    result: PermissionResult
    unevaluated: tuple[str, ...] = ()  # statements decided conservatively, and why


def request_context(caller: Caller | None) -> dict[str, str | None]:
    """The condition keys the emulator knows for a request; None marks a key absent from it."""
    return {
        "aws:securetransport": "true",
        "aws:principalarn": caller.principal_arn if caller else None,
        "aws:principalaccount": caller.account_id if caller else None,
        "aws:principaltype": caller.principal_type if caller else "Anonymous",
    }


def decide(policy_document: str, request: ObjectRequest) -> Decision:
    """An explicit Deny wins, then any Allow; NEUTRAL when no statement concerns the request."""
    try:
        statements = as_list(json.loads(policy_document).get("Statement", []))
    except (ValueError, AttributeError):
        # AWS never stores a policy it cannot parse, so this is the emulator's doing: fail closed.
        return Decision(PermissionResult.DENIED, ("the policy is not a JSON policy document; denied",))
    context = request_context(request.caller)
    permitted = False
    unevaluated: list[str] = []
    for index, statement in enumerate(statements):
        effect = statement.get("Effect")
        unknown = _unknowns(statement, request, context)
        if unknown is None or effect not in ("Allow", "Deny"):
            continue
        if unknown:
            outcome = "applied" if effect == "Deny" else "granting nothing"
            label = statement.get("Sid") or f"#{index}"
            unevaluated.append(f"{effect} statement {label}: {'; '.join(unknown)}; {outcome}")
        if effect == "Deny":
            return Decision(PermissionResult.DENIED, tuple(unevaluated))
        permitted = permitted or not unknown
    return Decision(PermissionResult.PERMITTED if permitted else PermissionResult.NEUTRAL, tuple(unevaluated))


def _unknowns(statement: dict[str, Any], request: ObjectRequest,
              context: dict[str, str | None]) -> list[str] | None:
    """None when the statement does not concern the request, else what could not be evaluated.

    An empty list means the statement fully applies. A definite mismatch anywhere wins over
    anything unknown elsewhere, since every element of a statement must hold.
    """
    unknown: list[str] = []
    elements = (
        ("Action", _element(statement, "Action", lambda p: glob(str(p).lower(), request.action.lower()))),
        ("Resource", _element(statement, "Resource", lambda p: glob(str(p), request.resource))),
        ("Principal", _principal(statement, request.caller)),
    )
    for name, matched in elements:
        if matched is False:
            return None
        if matched is None:
            unknown.append(f"it has no {name} or Not{name}")
    conditions = _condition_unknowns(statement.get("Condition") or {}, context)
    return None if conditions is None else unknown + conditions


def _element(statement: dict[str, Any], name: str, matches: Callable[[Any], bool]) -> bool | None:
    if name in statement:
        return any(matches(pattern) for pattern in as_list(statement[name]))
    if f"Not{name}" in statement:
        return not any(matches(pattern) for pattern in as_list(statement[f"Not{name}"]))
    return None


def _principal(statement: dict[str, Any], caller: Caller | None) -> bool | None:
    if "Principal" in statement:
        return _names(statement["Principal"], caller)
    if "NotPrincipal" in statement:
        return not _names(statement["NotPrincipal"], caller)
    return None


def _names(principal: Any, caller: Caller | None) -> bool:
    if caller is not None:
        return aws_principal_matches(principal, caller)
    # Only the wildcard names an anonymous caller.
    return principal == "*" or (isinstance(principal, dict)
                                and "*" in [str(v) for v in as_list(principal.get("AWS", []))])


def _condition_unknowns(conditions: dict[str, Any], context: dict[str, str | None]) -> list[str] | None:
    """None when a condition fails, else the conditions that could not be evaluated."""
    unknown: list[str] = []
    for operator, keys in conditions.items():
        for key, expected in keys.items():
            if key.lower() not in context:
                unknown.append(f"condition key {key} is not emulated")
                continue
            matched = condition_matches(operator, context[key.lower()], policy_values(expected))
            if matched is None:
                unknown.append(f"condition operator {operator} is not emulated")
            elif not matched:
                return None
    return unknown
