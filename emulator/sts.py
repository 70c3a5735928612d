"""Strict STS AssumeRole: the role must exist and its trust policy must allow the caller.

moto lets anyone assume any ARN, which hides exactly the mistakes the portal must surface
(a missing bootstrap role, a trust policy naming the wrong account, a wrong ExternalId).
``install()`` wraps moto's ``AssumeRole`` handler with AWS's trust-policy evaluation and its
DurationSeconds limits, and reports the caller's identity as AWS does.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from moto.core import DEFAULT_ACCOUNT_ID
from moto.iam.exceptions import NotFoundException
from moto.iam.models import iam_backends
from moto.moto_api._internal import mock_random
from moto.sts.exceptions import STSValidationError
from moto.sts.models import sts_backends
from moto.sts.responses import TokenResponse
from werkzeug.exceptions import HTTPException

from emulator.iam_conditions import as_list
from emulator.patches import MOTO, Kind, Patch
from emulator.policy import PolicyRequest, decide

logger = logging.getLogger(__name__)

ASSUME_ROLE = "sts:AssumeRole"
MIN_DURATION_SECONDS = 900
ROLE_CHAINING_MAX_SECONDS = 3600
ROLE_ARN = re.compile(r"^arn:(aws[a-z-]*):iam::(\d{12}):role/(?:.*/)?[\w+=,.@-]+$")
ACCOUNT_ROOT = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):root$")


@dataclass(frozen=True)
class Caller:
    """Who signed a request: ``arn`` as AWS names it in errors, ``principal_arn`` for policies."""

    account_id: str
    arn: str
    principal_arn: str
    principal_type: str  # "User" or "AssumedRole", as in aws:PrincipalType


class AssumeRoleDenied(HTTPException):
    """AWS's 403 AccessDenied for AssumeRole, in the query protocol's XML error format."""

    code = 403

    def __init__(self, caller_arn: str, role_arn: str) -> None:
        super().__init__()
        self.message = (
            f"User: {caller_arn} is not authorized to perform: {ASSUME_ROLE} "
            f"on resource: {role_arn}"
        )
        self.description = (
            '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
            "<Error><Type>Sender</Type><Code>AccessDenied</Code>"
            f"<Message>{escape(self.message)}</Message></Error>"
            f"<RequestId>{mock_random.uuid4()}</RequestId></ErrorResponse>"
        )

    def get_headers(self, *args: Any, **kwargs: Any) -> list[tuple[str, str]]:
        return [("Content-Type", "text/xml"), ("X-Amzn-ErrorType", "AccessDenied")]


def resolve_caller(access_key_id: str, default_account: str = DEFAULT_ACCOUNT_ID,
                   partition: str = "aws") -> Caller:
    """Map an access key to the identity AWS would see: an assumed role, an IAM user or moto's default user."""
    # list(): the server's threads may add accounts while we look.
    for account_id, account in list(iam_backends.items()):
        iam = account[partition]
        key = iam.access_keys.get(access_key_id)
        if key is None:
            continue
        if key.role_arn:
            return _assumed_role_caller(account_id, partition, access_key_id, key.role_arn)
        user = iam.get_user_from_access_key_id(access_key_id)
        if user is not None:
            return Caller(account_id, user.arn, user.arn, "User")
    # Unknown keys (the usual dummy credentials) act as moto's default user.
    arn = f"arn:{partition}:iam::{default_account}:user/moto"
    return Caller(default_account, arn, arn, "User")


def _assumed_role_caller(account_id: str, partition: str, access_key_id: str, role_arn: str) -> Caller:
    try:
        principal_arn = iam_backends[account_id][partition].get_role_by_arn(role_arn).arn
    except NotFoundException:
        principal_arn = role_arn
    session = sts_backends[account_id][partition].get_assumed_role_from_access_key(access_key_id)
    session_arn = session.arn if session else principal_arn
    return Caller(account_id, session_arn, principal_arn, "AssumedRole")


def trust_allows(policy_document: str | dict[str, Any], caller: Caller, external_id: str | None) -> bool:
    """Evaluate a role's trust policy for ``sts:AssumeRole`` by ``caller``: an explicit Deny wins."""
    context: dict[str, str | None] = {
        "aws:principalarn": caller.principal_arn,
        "aws:principalaccount": caller.account_id,
        "aws:principaltype": caller.principal_type,
        "sts:externalid": external_id,
    }
    return _allows(policy_document, lambda principal: aws_principal_matches(principal, caller), context)


def trust_allows_service(policy_document: str | dict[str, Any], service: str) -> bool:
    """Whether a trust policy lets an AWS service (e.g. codepipeline.amazonaws.com) assume the role."""
    return _allows(policy_document, lambda principal: _service_principal_matches(principal, service), {})


def _allows(policy_document: str | dict[str, Any], names_caller: Any, context: dict[str, str | None]) -> bool:
    # A trust policy has no Resource element: the role it is attached to is the resource.
    decision = decide(policy_document, PolicyRequest(ASSUME_ROLE, None, names_caller, context))
    for reason in decision.unevaluated:
        logger.warning("trust policy not fully emulated: %s", reason)
    return decision.allowed


def aws_principal_matches(principal: Any, caller: Caller) -> bool:
    """Whether a policy's ``Principal`` names ``caller`` (an account names all its identities)."""
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    # Service and Federated principals never stand for an IAM user or role session.
    for value in as_list(principal.get("AWS", [])):
        value = str(value)
        if value == "*":
            return True
        root = ACCOUNT_ROOT.match(value)
        account = root.group(1) if root else value if re.fullmatch(r"\d{12}", value) else None
        if account is not None:
            # An account principal delegates to every identity of that account.
            if account == caller.account_id:
                return True
        elif value in (caller.principal_arn, caller.arn):
            return True
    return False


def _service_principal_matches(principal: Any, service: str) -> bool:
    if principal == "*":
        return True
    return isinstance(principal, dict) and service in [str(s) for s in as_list(principal.get("Service", []))]


def _assume_role(original: Any, self: TokenResponse) -> Any:
    """Check the target role before letting moto mint credentials for its account."""
    role_arn = self._get_param("RoleArn") or ""
    external_id = self._get_param("ExternalId")
    duration = self._get_int_param("DurationSeconds", 3600)
    caller = resolve_caller(self.get_access_key(), self.current_account, self.partition)
    match = ROLE_ARN.match(role_arn)
    if match is None:
        raise STSValidationError(f"{role_arn} is invalid")
    try:
        role = iam_backends[match.group(2)][self.partition].get_role_by_arn(role_arn)
    except NotFoundException:
        logger.info("AssumeRole denied: %s does not exist (caller %s)", role_arn, caller.arn)
        raise AssumeRoleDenied(caller.arn, role_arn) from None
    if not trust_allows(role.assume_role_policy_document, caller, external_id):
        logger.info("AssumeRole denied: trust policy of %s excludes %s", role_arn, caller.arn)
        raise AssumeRoleDenied(caller.arn, role_arn)
    _check_duration(duration, int(role.max_session_duration or 3600), caller)
    return original(self)


def _check_duration(duration: int, max_session_duration: int, caller: Caller) -> None:
    if duration < MIN_DURATION_SECONDS:
        raise STSValidationError(
            f"1 validation error detected: Value '{duration}' at 'durationSeconds' failed to satisfy "
            f"constraint: Member must have value greater than or equal to {MIN_DURATION_SECONDS}"
        )
    if caller.principal_type == "AssumedRole" and duration > ROLE_CHAINING_MAX_SECONDS:
        raise STSValidationError(
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
        )
    if duration > max_session_duration:
        raise STSValidationError("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")


def _get_caller_identity(original: Any, self: TokenResponse) -> Any:
    """moto reports its default user under ``sts``; AWS names IAM users ``arn:aws:iam::…:user/…``."""
    result = original(self)
    caller = resolve_caller(self.get_access_key(), self.current_account, self.partition)
    if caller.principal_type == "User":
        result.result["Arn"] = caller.arn
    return result


PATCHES = (
    Patch("moto.sts.responses:TokenResponse.assume_role", _assume_role, Kind.FUNCTION,
          "check role existence, trust policy and DurationSeconds before moto mints credentials", wraps=True),
    Patch("moto.sts.responses:TokenResponse.get_caller_identity", _get_caller_identity, Kind.FUNCTION,
          "name IAM users arn:aws:iam::ACCOUNT:user/NAME as AWS does", wraps=True),
)


def install() -> None:
    """Make moto's AssumeRole check role existence, trust policy and session duration (idempotent)."""
    if MOTO.install(PATCHES):
        logger.debug("strict AssumeRole installed")
