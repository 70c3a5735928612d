"""Whether a function's resource policy lets API Gateway invoke it for one request.

API Gateway calls Lambda as the service principal ``apigateway.amazonaws.com`` with the method's
ARN, ``arn:PARTITION:execute-api:REGION:ACCOUNT:API_ID/STAGE/METHOD/PATH``, as ``aws:SourceArn``
and the API's account as ``aws:SourceAccount``; without a statement allowing that (what
``AWS::Lambda::Permission`` / AddPermission write) the call fails and the client gets a 500.
An explicit Deny wins; a condition the emulator does not evaluate makes an Allow grant nothing.
"""
from __future__ import annotations

import json
import logging
from typing import Any

from emulator.iam_conditions import as_list, condition_matches, glob, policy_values

logger = logging.getLogger(__name__)

SERVICE = "apigateway.amazonaws.com"
ACTION = "lambda:InvokeFunction"


def source_arn(api: Any, stage: str, http_method: str, path: str) -> str:
    partition = "aws-cn" if api.region_name.startswith("cn-") else \
        "aws-us-gov" if api.region_name.startswith("us-gov-") else "aws"
    return (f"arn:{partition}:execute-api:{api.region_name}:{api.account_id}:{api.id}/{stage}/"
            f"{http_method.upper()}/{path.lstrip('/')}")


def allows(statements: list[dict[str, Any]], arn: str, account_id: str) -> bool:
    """Evaluate the function policy's statements for API Gateway's call."""
    context = {"aws:sourcearn": arn, "aws:sourceaccount": account_id}
    allowed = False
    for statement in statements:
        if isinstance(statement, str):
            statement = json.loads(statement)
        if not _names_the_call(statement):
            continue
        verdict = _conditions(statement.get("Condition") or {}, context)
        if verdict is None:
            logger.warning("function policy statement %s has a condition the emulator does not evaluate; %s",
                           statement.get("Sid"), "applied" if statement.get("Effect") == "Deny" else "ignored")
            if statement.get("Effect") == "Deny":
                return False
            continue
        if not verdict:
            continue
        if statement.get("Effect") == "Deny":
            return False
        allowed = allowed or statement.get("Effect") == "Allow"
    return allowed


def _names_the_call(statement: dict[str, Any]) -> bool:
    actions = [str(a).lower() for a in as_list(statement.get("Action", []))]
    if not any(glob(a, ACTION.lower()) for a in actions):
        return False
    principal = statement.get("Principal")
    if principal == "*":
        return True
    if isinstance(principal, str):
        return principal == SERVICE
    return isinstance(principal, dict) and (
        SERVICE in [str(s) for s in as_list(principal.get("Service", []))]
        or "*" in [str(s) for s in as_list(principal.get("AWS", []))])


def _conditions(conditions: dict[str, Any], context: dict[str, str]) -> bool | None:
    for operator, keys in conditions.items():
        for key, expected in keys.items():
            if key.lower() not in context:
                return None
            matched = condition_matches(operator, context[key.lower()], policy_values(expected))
            if matched is None or not matched:
                return matched
    return True
