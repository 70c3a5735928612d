"""What a setup asks for: the stacks, in which accounts, with which parameters and tags.

Names and order come from core/stacks.py (docs/contracts.md). The deploy roles' ARNs are
deterministic, so the build stack's change set can be planned before the deploy stacks exist.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from core import stacks, validation
from core.models import Setup, SourceProvider, StackRole
from worker import settings, templates
from worker.templates import Template

logger = logging.getLogger(__name__)

MANAGED_BY = "lambda-pipeline-portal"


class SetupIncomplete(Exception):
    """The setup lacks a field the stacks need."""


@dataclass(frozen=True)
class StackSpec:
    role: StackRole
    account_id: str
    region: str
    stack_name: str
    template: Template
    parameters: dict[str, str]
    tags: dict[str, str]


def deploy_role_arn(partition: str, account_id: str, app: str) -> str:
    return stacks.role_arn(partition, account_id, stacks.deploy_role_name(app))


def execution_role_arn(partition: str, account_id: str, app: str) -> str:
    return stacks.role_arn(partition, account_id, stacks.execution_role_name(app))


def stack_tags(setup: Setup) -> dict[str, str]:
    """The setup's own tags plus the portal's, which win (they identify what the portal manages)."""
    tags = {str(k): str(v) for k, v in (setup.tags or {}).items()}
    tags.update({
        "portal:managed-by": MANAGED_BY,
        "portal:setup-id": str(setup.id),
        "portal:application": setup.name or "",
    })
    return tags


def require_complete(setup: Setup) -> None:
    missing = [f for f in ("name", "build_account_id", "staging_account_id", "production_account_id", "region")
               if not getattr(setup, f)]
    if missing:
        raise SetupIncomplete(f"setup {setup.id} is missing {', '.join(missing)}")


def deploy_parameters(setup: Setup) -> dict[str, str]:
    return {"ApplicationName": setup.name or "", "BuildAccountId": setup.build_account_id or "",
            "BuildRegion": setup.region or ""}


def stage_parameter_overrides(setup: Setup, stage: str) -> str:
    """The stage's SAM parameters as the pipeline's ParameterOverrides: a compact JSON object of strings.

    CloudFormation parameter values are strings, so numbers are passed as their text. Only the
    parameters the portal governs go in: Stage in particular is set by config/<stage>.json, and
    overriding it would deploy one stage's stack as the other. Sorted keys keep the text stable, so
    an unchanged setup plans as "up to date".
    """
    given = (setup.stage_parameters or {}).get(stage) or {}
    values = {name: str(value) for name, value in given.items() if name in validation.STAGE_PARAMETER_CHECKS}
    dropped = sorted(set(given) - set(values))
    if dropped:
        logger.warning("setup %s: not passing %s to the %s stack (not a per-stage parameter)",
                       setup.id, ", ".join(dropped), stage)
    return json.dumps(values, sort_keys=True, separators=(",", ":"))


def build_parameters(setup: Setup, partition: str) -> dict[str, str]:
    app, staging, production = setup.name or "", setup.staging_account_id or "", setup.production_account_id or ""
    github = setup.source_provider == SourceProvider.GITHUB
    return {
        "ApplicationName": app,
        "BranchName": setup.branch or "main",
        "SourceProvider": setup.source_provider,
        "ConnectionArn": setup.connection_arn if github else "",
        "FullRepositoryId": setup.full_repository_id if github else "",
        "StagingAccountId": staging,
        "ProductionAccountId": production,
        "StagingDeployRoleArn": deploy_role_arn(partition, staging, app),
        "StagingExecutionRoleArn": execution_role_arn(partition, staging, app),
        "ProductionDeployRoleArn": deploy_role_arn(partition, production, app),
        "ProductionExecutionRoleArn": execution_role_arn(partition, production, app),
        "ApprovalEmail": setup.approval_email or "",
        "PortalUrl": settings.portal_url(),
        "StagingParameterOverrides": stage_parameter_overrides(setup, "staging"),
        "ProductionParameterOverrides": stage_parameter_overrides(setup, "production"),
    }


def desired_stacks(setup: Setup, partition: str) -> list[StackSpec]:
    """Every stack of the setup, in the order core/stacks.py gives: deploy accounts, then build."""
    require_complete(setup)
    assert setup.name and setup.region and setup.build_account_id
    assert setup.staging_account_id and setup.production_account_id
    tags = stack_tags(setup)
    parameters = {StackRole.DEPLOY: deploy_parameters(setup), StackRole.BUILD: build_parameters(setup, partition)}
    specs = []
    for stack in stacks.setup_stacks(setup.name, setup.build_account_id, setup.staging_account_id,
                                     setup.production_account_id):
        template = templates.load(stack.template)
        specs.append(StackSpec(stack.role, stack.account_id, setup.region, stack.stack_name, template,
                               template.select_parameters(parameters[stack.role]), tags))
    return specs


def expected_deploy_outputs(setup: Setup, partition: str, account_id: str) -> dict[str, str]:
    """The deploy stack outputs the build change set was planned with."""
    app = setup.name or ""
    return {"DeployRoleArn": deploy_role_arn(partition, account_id, app),
            "CloudFormationExecutionRoleArn": execution_role_arn(partition, account_id, app)}
