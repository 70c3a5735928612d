"""Decide what a bucket policy says about one object request, as far as the emulator can tell.

- Every request counts as arriving over TLS (``aws:SecureTransport`` is "true"): the emulator
  stands in for AWS's HTTPS endpoints even when it is reached over plain HTTP.
- The caller (from the request's credentials) is matched against ``Principal`` /
  ``NotPrincipal`` and fills ``aws:PrincipalArn``, ``aws:PrincipalAccount`` and
  ``aws:PrincipalType``; an unsigned request is anonymous and has no principal keys.
- What cannot be evaluated (a condition key outside that context such as ``aws:SourceIp``, an
  operator such as ``IpAddress`` or ``NumericLessThan``) is decided conservatively by the
  emulator's one policy evaluator (``emulator.policy``): a Deny applies, an Allow grants nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from emulator import policy
from emulator.iam_conditions import as_list
from emulator.policy import Decision
from emulator.sts import Caller, aws_principal_matches

__all__ = ["Decision", "ObjectRequest", "decide", "request_context"]


@dataclass(frozen=True)
class ObjectRequest:
    action: str  # as AWS names it, e.g. "s3:GetObjectVersion"
    resource: str  # "arn:aws:s3:::bucket/key"
    caller: Caller | None  # None: an unsigned (anonymous) request


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
    return policy.decide(policy_document, policy.PolicyRequest(
        request.action, request.resource, lambda principal: _names(principal, request.caller),
        request_context(request.caller)))


def _names(principal: Any, caller: Caller | None) -> bool:
    if caller is not None:
        return aws_principal_matches(principal, caller)
    # Only the wildcard names an anonymous caller.
    return principal == "*" or (isinstance(principal, dict)
                                and "*" in [str(v) for v in as_list(principal.get("AWS", []))])
