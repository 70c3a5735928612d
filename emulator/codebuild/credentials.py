"""The project's service role, assumed by CodeBuild (the service principal), for one build.

As on AWS the role must exist and trust ``codebuild.amazonaws.com``; the trust policy is evaluated
with the context CodeBuild sends (``aws:SourceAccount`` = the project's account, ``aws:SourceArn``
= the project's ARN), so the confused-deputy condition the build template writes is honoured and
a wrong one refuses the build. The session is named ``AWSCodeBuild-<build UUID>`` as CodeBuild
names it; its keys act in the role's account through the emulator's STS.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from moto.iam.exceptions import NotFoundException
from moto.iam.models import iam_backends
from moto.sts.models import sts_backends

from emulator.iam_conditions import as_list
from emulator.policy import PolicyRequest, decide
from emulator.sts import ROLE_ARN

logger = logging.getLogger(__name__)

SERVICE = "codebuild.amazonaws.com"
SESSION_SECONDS = 3600


class RoleNotAssumable(Exception):
    """CodeBuild cannot assume the service role; the message is StartBuild's."""


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str

    def environment(self) -> dict[str, str]:
        return {"AWS_ACCESS_KEY_ID": self.access_key_id, "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
                "AWS_SESSION_TOKEN": self.session_token}


def assume_service_role(role_arn: str, project_arn: str, account_id: str, region: str,
                        session_name: str) -> Credentials:
    """:raise RoleNotAssumable: no such role, or its trust policy does not let CodeBuild assume it."""
    refused = RoleNotAssumable(f"CodeBuild is not authorized to perform: sts:AssumeRole on {role_arn}")
    match = ROLE_ARN.match(role_arn)
    if match is None:
        raise refused
    try:
        role = iam_backends[match.group(2)][match.group(1)].get_role_by_arn(role_arn)
    except NotFoundException:
        raise refused from None
    document = role.assume_role_policy_document
    policy = json.loads(document) if isinstance(document, str) else document
    context: dict[str, str | None] = {"aws:sourceaccount": account_id, "aws:sourcearn": project_arn}
    decision = decide(policy, PolicyRequest("sts:AssumeRole", None, _names_codebuild, context))
    for reason in decision.unevaluated:
        logger.warning("trust policy of %s not fully emulated: %s", role_arn, reason)
    if not decision.allowed:
        raise refused
    session = sts_backends[account_id][match.group(1)].assume_role(
        region_name=region, role_session_name=session_name, role_arn=role_arn, policy="",
        duration=SESSION_SECONDS, external_id="")
    return Credentials(session.access_key_id, session.secret_access_key, session.session_token)


def _names_codebuild(principal: Any) -> bool:
    if principal == "*":
        return True
    return isinstance(principal, dict) and SERVICE in [str(s) for s in as_list(principal.get("Service", []))]
