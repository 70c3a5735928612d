"""Resource types for the emulator's CloudFormation: new models plus hooks for moto's own.

Importing this package defines the new CloudFormationModel subclasses, which is how moto
finds resource types (``CloudFormationModel.__subclasses__()``).
"""
from __future__ import annotations

from emulator.cfn.resources import apigateway, awslambda, builtin, codebuild, codecommit, policies, sns
from emulator.cfn.resources.hooks import TypeHooks

HOOKS: dict[str, TypeHooks] = {
    **builtin.HOOKS, **codecommit.HOOKS, **codebuild.HOOKS, **policies.HOOKS, **sns.HOOKS,
    **awslambda.HOOKS, **apigateway.HOOKS,
}


def register_hooks(resource_type: str, hooks: TypeHooks) -> None:
    """Let another extension (e.g. CodePipeline) give its type update/delete hooks."""
    HOOKS[resource_type] = hooks


__all__ = ["HOOKS", "TypeHooks", "register_hooks"]
