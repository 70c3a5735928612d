"""What a setup will deploy, previewed from its own fields before any plan (the worker's plan, worker/plan.py,
adds the real changes)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.models import AccessMethod, StackRole
from core.stacks import SetupStack, setup_stacks


@dataclass(frozen=True)
class PlannedStack:
    account_id: str
    stack_name: str
    template: str
    purpose: str
    access: str


def account_sharing(build: str | None, staging: str | None, production: str | None) -> list[str]:
    """Explain, in sentences, what sharing an account between roles means."""
    if not (build and staging and production):
        return []
    if build == staging == production:
        return [f"Build, staging and production share account {build}: the pipeline and both stages live in one "
                "account, and one deploy stack serves both stages."]
    sentences = []
    if staging == production:
        sentences.append(f"Staging and production share account {staging}: one deploy stack serves both.")
    if build == staging:
        sentences.append(f"Build and staging share account {build}: the pipeline and the staging application live "
                         "in the same account.")
    if build == production:
        sentences.append(f"Build and production share account {build}: the pipeline and the production "
                         "application live in the same account.")
    if not sentences:
        sentences.append("Build, staging and production are three separate accounts: each stage is isolated.")
    return sentences


def describe_access(entry: dict[str, Any] | None) -> str:
    if not entry:
        return "not chosen yet"
    if entry.get("method") == AccessMethod.SELF_LAUNCH.value:
        return "the account's admin launches the stack from a quick-create link"
    external = " with an external ID" if entry.get("external_id") else ""
    return f"the portal assumes the role {entry.get('role_name')}{external}"


def planned_stacks(name: str, build: str, staging: str, production: str, access: dict[str, Any]) -> list[PlannedStack]:
    """Return the stacks in deployment order (core/stacks.py), each with its purpose and access."""
    return [PlannedStack(
        account_id=stack.account_id,
        stack_name=stack.stack_name,
        template=stack.template,
        purpose=_purpose(stack),
        access=describe_access(access.get(stack.account_id)),
    ) for stack in setup_stacks(name, build, staging, production)]


def _purpose(stack: SetupStack) -> str:
    if stack.role is StackRole.DEPLOY:
        return f"deploy role and CloudFormation execution role for {' and '.join(stack.stages)}"
    return "source, artifact bucket and key, build project and the pipeline"
