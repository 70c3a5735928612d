"""The deploy action's identity: the pipeline's service role assumes the action's role (strict STS).

CodePipeline runs a cross-account action by assuming the action's ``RoleArn`` from a session of
the pipeline's service role. The role must exist and its trust policy must allow that session
(``emulator.sts.trust_allows``, the check every client's AssumeRole gets); the credentials are
then minted by moto's STS, as for a client, so every later call is signed by the action role's
session and lands in the role's account. An action without a role runs as the pipeline role.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from moto.iam.exceptions import NotFoundException
from moto.iam.models import iam_backends
from moto.sts.models import sts_backends

from emulator.sts import ROLE_ARN, Caller, trust_allows

logger = logging.getLogger(__name__)

PERMISSION_ERROR = "PermissionError"  # FailureDetails type CodePipeline reports for access failures


class ActionError(Exception):
    """Why the action fails: ``message`` is its summary, ``code`` its error code."""

    def __init__(self, message: str, code: str = "JobFailed") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class ActionSession:
    caller: Caller  # the session as policies see it
    account_id: str  # where the action works
    credentials: dict[str, str]  # boto3 keyword arguments


def session_name() -> str:
    # CodePipeline names its sessions by the moment in milliseconds.
    return str(int(time.time() * 1000))


def pipeline_session(pipeline_role_arn: str, region: str) -> ActionSession:
    """The pipeline service role's session (CodePipeline assumes it as codepipeline.amazonaws.com).

    :raise ActionError: the pipeline's role is not an IAM role ARN.
    """
    match = ROLE_ARN.match(pipeline_role_arn)
    if match is None:
        raise ActionError(f"The pipeline's role {pipeline_role_arn} is not an IAM role ARN.", PERMISSION_ERROR)
    return _mint(pipeline_role_arn, match.group(2), match.group(1), region)


def assume_action_role(pipeline: ActionSession, role_arn: str, region: str) -> ActionSession:
    """The action role's session, assumed from the pipeline role's.

    :raise ActionError: the role does not exist or its trust policy does not allow the pipeline role,
        worded as CodePipeline reports it.
    """
    match = ROLE_ARN.match(role_arn)
    refused = ActionError(f"{pipeline.caller.principal_arn} is not authorized to perform AssumeRole on role "
                          f"{role_arn}", PERMISSION_ERROR)
    if match is None:
        raise refused
    partition, account_id = match.group(1), match.group(2)
    try:
        role = iam_backends[account_id][partition].get_role_by_arn(role_arn)
    except NotFoundException:
        logger.info("deploy action: %s does not exist (account %s)", role_arn, account_id)
        raise refused from None
    if not trust_allows(role.assume_role_policy_document, pipeline.caller, None):
        logger.info("deploy action: the trust policy of %s excludes %s", role_arn, pipeline.caller.principal_arn)
        raise refused
    return _mint(role_arn, account_id, partition, region)


def _mint(role_arn: str, account_id: str, partition: str, region: str) -> ActionSession:
    assumed = sts_backends[account_id][partition].assume_role(
        region_name=region, role_session_name=session_name(), role_arn=role_arn, policy="",
        duration=3600, external_id="")
    caller = Caller(account_id, assumed.arn, role_arn, "AssumedRole")
    credentials = {"aws_access_key_id": assumed.access_key_id, "aws_secret_access_key": assumed.secret_access_key,
                   "aws_session_token": assumed.session_token}
    return ActionSession(caller, account_id, credentials)
