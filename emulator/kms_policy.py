"""KMS key policies: may this caller use this key for this operation?

Unlike a bucket, a KMS key is usable only through its key policy: without a statement naming the
caller (its ARN, its account, or ``*``), nobody may use the key, not even the key's own account.
The usual first statement names the key's account root, which hands the decision to that
account's IAM policies; the emulator does not evaluate IAM identity policies, so such a statement
grants. A principal of another account needs both the key policy and its own IAM policies; the
key policy is what is evaluated here. Conditions are evaluated by the emulator's one policy
evaluator (``emulator.policy``) with the keys below; others are decided conservatively.

Only the deploy actions ask this today (reading an SSE-KMS artifact through S3); moto's own KMS
API and S3's GetObject over HTTP do not evaluate key policies.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from moto.core.exceptions import JsonRESTError
from moto.iam.access_control import PermissionResult
from moto.kms.models import kms_backends

from emulator.policy import PolicyRequest, decide
from emulator.sts import Caller, aws_principal_matches

logger = logging.getLogger(__name__)


class KeyAccessDenied(Exception):
    """KMS's AccessDeniedException (or its invalid-state error); the message is KMS's."""


@dataclass(frozen=True)
class KeyUse:
    action: str  # "kms:Decrypt", "kms:GenerateDataKey", ...
    key_id: str  # ARN, key id or alias ARN; a bare id or alias is looked up in account/region
    account_id: str
    region: str
    via_service: str | None = None  # kms:ViaService, e.g. "s3.us-east-1.amazonaws.com"


def check(use: KeyUse, caller: Caller) -> str:
    """Return the key's ARN if its policy lets ``caller`` perform ``use.action`` with it.

    :raise KeyAccessDenied: no such key, the key is not enabled, or its policy does not allow it.
    """
    account_id, region = use.account_id, use.region
    if use.key_id.startswith("arn:"):
        parts = use.key_id.split(":")
        region, account_id = parts[3], parts[4]
    try:
        key = kms_backends[account_id][region].describe_key(use.key_id)
    except (KeyError, JsonRESTError):
        # A key in another account that does not exist is indistinguishable from one the caller
        # may not use: AWS says the same.
        raise KeyAccessDenied(_not_authorized(caller, use.action, use.key_id)) from None
    if key.key_state != "Enabled":
        state = "pending deletion" if key.key_state == "PendingDeletion" else "disabled"
        raise KeyAccessDenied(f"{key.arn} is {state}.")
    context: dict[str, str | None] = {
        "aws:principalarn": caller.principal_arn,
        "aws:principalaccount": caller.account_id,
        "aws:principaltype": caller.principal_type,
        "kms:calleraccount": caller.account_id,
        "kms:viaservice": use.via_service,
    }
    decision = decide(key.policy, PolicyRequest(use.action, key.arn,
                                                lambda principal: aws_principal_matches(principal, caller), context))
    for reason in decision.unevaluated:
        logger.warning("key policy of %s is not fully emulated: %s", key.arn, reason)
    if decision.result == PermissionResult.DENIED:
        raise KeyAccessDenied(_not_authorized(caller, use.action, key.arn, explicit_deny=True))
    if not decision.allowed:
        raise KeyAccessDenied(_not_authorized(caller, use.action, key.arn))
    return str(key.arn)


def _not_authorized(caller: Caller, action: str, resource: str, explicit_deny: bool = False) -> str:
    """AWS's wording of an authorization failure decided by a resource-based policy."""
    why = ("with an explicit deny in a resource-based policy" if explicit_deny
           else f"because no resource-based policy allows the {action} action")
    return f"User: {caller.arn} is not authorized to perform: {action} on resource: {resource} {why}"
