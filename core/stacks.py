"""The portal's stacks: what they are called, where they go and the order they run in.

This is the one home of those rules (docs/contracts.md, "Names"): the portal's review page lists
the stacks from here and the worker deploys the same list, so the page can never show a stack the
worker would not deploy. An apply deploys every distinct deploy account first (the build stack's
parameters name the roles those stacks create), a teardown goes the other way round (the pipeline
uses those roles until it is gone).
"""
from __future__ import annotations

from dataclasses import dataclass

from core.models import OperationKind, StackRole

DEPLOY_TEMPLATE = "deploy-dependencies.yaml"
BUILD_TEMPLATE = "build-pipeline.yaml"
TEMPLATES = {StackRole.DEPLOY: DEPLOY_TEMPLATE, StackRole.BUILD: BUILD_TEMPLATE}

DEPLOY_SUFFIX = "-deploy-dependencies"
BUILD_SUFFIX = "-pipeline"

# The order each kind of operation runs its stacks in, one wave per role. A plan creates its
# change sets all at once: the build stack's can be planned before the deploy stacks exist,
# because the role ARNs it names are deterministic.
WAVES: dict[OperationKind, tuple[tuple[StackRole, ...], ...]] = {
    OperationKind.APPLY: ((StackRole.DEPLOY,), (StackRole.BUILD,)),
    OperationKind.TEARDOWN: ((StackRole.BUILD,), (StackRole.DEPLOY,)),
    OperationKind.PLAN: ((StackRole.DEPLOY, StackRole.BUILD),),
}


@dataclass(frozen=True)
class SetupStack:
    """One stack a complete setup owns."""

    role: StackRole
    account_id: str
    stack_name: str
    stages: tuple[str, ...]  # the stages a deploy stack serves; () for the build stack

    @property
    def template(self) -> str:
        return TEMPLATES[self.role]


def deploy_stack_name(app: str) -> str:
    return f"{app}{DEPLOY_SUFFIX}"


def build_stack_name(app: str) -> str:
    return f"{app}{BUILD_SUFFIX}"


def application_of(build_stack: str) -> str:
    """The application a build stack belongs to, read back from its name."""
    return build_stack.removesuffix(BUILD_SUFFIX)


def deploy_role_name(app: str) -> str:
    return f"{app}-deploy-role"


def execution_role_name(app: str) -> str:
    return f"{app}-cfn-execution-role"


def observer_role_name(app: str) -> str:
    """The read-only role a self-launched deploy stack creates for the portal."""
    return f"{app}-portal-observer-role"


def role_arn(partition: str, account_id: str, role_name: str) -> str:
    return f"arn:{partition}:iam::{account_id}:role/{role_name}"


def artifact_bucket_name(app: str, build_account_id: str, region: str) -> str:
    return f"{app}-artifacts-{build_account_id}-{region}"


def change_set_name(setup_id: int, operation_id: int) -> str:
    """The portal's change sets are named after setup and operation, so a re-run finds its own."""
    return f"portal-{setup_id}-{operation_id}"


def setup_stacks(app: str, build: str, staging: str, production: str) -> list[SetupStack]:
    """Every stack of a setup in apply order: one per distinct deploy account, then the build stack.

    Accounts may be shared: staging and production in one account share one deploy stack.
    """
    stages = {"staging": staging, "production": production}
    stacks = [
        SetupStack(StackRole.DEPLOY, account, deploy_stack_name(app),
                   tuple(stage for stage, acct in stages.items() if acct == account))
        for account in dict.fromkeys([staging, production])
    ]
    stacks.append(SetupStack(StackRole.BUILD, build, build_stack_name(app), ()))
    return stacks


def waves(kind: OperationKind | str) -> tuple[tuple[StackRole, ...], ...]:
    """The roles of the stacks an operation of ``kind`` runs, wave by wave."""
    return WAVES[OperationKind(kind)]


def wave_of(kind: OperationKind | str, role: StackRole | str) -> int:
    """The wave (0 first) in which an operation of ``kind`` runs a stack of ``role``."""
    return next(i for i, roles in enumerate(waves(kind)) if StackRole(role) in roles)
