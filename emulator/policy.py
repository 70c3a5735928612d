"""The emulator's one policy evaluator: bucket policies, KMS key policies and role trust policies.

A policy answers one request: an action on a resource by a caller, with a context of condition
keys. An explicit Deny wins, then any Allow; with neither the policy does not concern the request
(NEUTRAL), and what that means is the service's rule (``emulator.s3policy``, ``emulator.kms_policy``,
``emulator.sts``).

What cannot be evaluated (a condition key outside the context, an operator such as ``IpAddress``,
a statement lacking its Action, Resource or Principal) is decided conservatively: a Deny applies,
an Allow grants nothing. The decision says which statements were decided so, for the caller to log.
A context lists every key it knows; a known key the request lacks is present with the value None
(absent, as IAM's ...IfExists and Null operators see it).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable

from moto.iam.access_control import PermissionResult

from emulator.iam_conditions import as_list, condition_matches, glob, policy_values


@dataclass(frozen=True)
class PolicyRequest:
    action: str  # as AWS names it, e.g. "s3:GetObjectVersion", "kms:Decrypt", "sts:AssumeRole"
    resource: str | None  # None for policies without a Resource element (role trust policies)
    names_caller: Callable[[Any], bool]  # whether a Principal element names the caller
    context: dict[str, str | None]  # condition keys in lower case


@dataclass(frozen=True)
class Decision:
    result: PermissionResult
    unevaluated: tuple[str, ...] = ()  # statements decided conservatively, and why

    @property
    def allowed(self) -> bool:
        return self.result == PermissionResult.PERMITTED


def decide(policy_document: str | dict[str, Any], request: PolicyRequest) -> Decision:
    """An explicit Deny wins, then any Allow; NEUTRAL when no statement concerns the request."""
    try:
        document = json.loads(policy_document) if isinstance(policy_document, str) else policy_document
        statements = as_list(document.get("Statement", []))
    except (ValueError, AttributeError):
        # AWS never stores a policy it cannot parse, so this is the emulator's doing: fail closed.
        return Decision(PermissionResult.DENIED, ("the policy is not a JSON policy document; denied",))
    permitted = False
    unevaluated: list[str] = []
    for index, statement in enumerate(statements):
        if not isinstance(statement, dict):
            continue
        effect = statement.get("Effect")
        unknown = _unknowns(statement, request)
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


def _unknowns(statement: dict[str, Any], request: PolicyRequest) -> list[str] | None:
    """None when the statement does not concern the request, else what could not be evaluated.

    An empty list means the statement fully applies. A definite mismatch anywhere wins over
    anything unknown elsewhere, since every element of a statement must hold.
    """
    unknown: list[str] = []
    elements = [
        ("Action", _element(statement, "Action", lambda p: glob(str(p).lower(), request.action.lower()))),
        ("Principal", _principal(statement, request.names_caller)),
    ]
    if request.resource is not None:
        resource = request.resource
        elements.append(("Resource", _element(statement, "Resource", lambda p: glob(str(p), resource))))
    for name, matched in elements:
        if matched is False:
            return None
        if matched is None:
            unknown.append(f"it has no {name} or Not{name}")
    conditions = _condition_unknowns(statement.get("Condition") or {}, request.context)
    return None if conditions is None else unknown + conditions


def _element(statement: dict[str, Any], name: str, matches: Callable[[Any], bool]) -> bool | None:
    if name in statement:
        return any(matches(pattern) for pattern in as_list(statement[name]))
    if f"Not{name}" in statement:
        return not any(matches(pattern) for pattern in as_list(statement[f"Not{name}"]))
    return None


def _principal(statement: dict[str, Any], names_caller: Callable[[Any], bool]) -> bool | None:
    if "Principal" in statement:
        return names_caller(statement["Principal"])
    if "NotPrincipal" in statement:
        return not names_caller(statement["NotPrincipal"])
    return None


def _condition_unknowns(conditions: dict[str, Any], context: dict[str, str | None]) -> list[str] | None:
    """None when a condition fails, else the conditions that could not be evaluated."""
    unknown: list[str] = []
    for operator, keys in conditions.items():
        for key, expected in (keys or {}).items():
            if key.lower() not in context:
                unknown.append(f"condition key {key} is not emulated")
                continue
            matched = condition_matches(operator, context[key.lower()], policy_values(expected))
            if matched is None:
                unknown.append(f"condition operator {operator} is not emulated")
            elif not matched:
                return None
    return unknown
