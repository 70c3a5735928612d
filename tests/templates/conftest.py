"""Fixtures of the template tests: the parsed templates and renderers of their stacks."""
from __future__ import annotations

from typing import Any

import pytest

from .cfn_render import RenderedStack
from .cfn_yaml import load_template
from .repo_layout import BUILD_PIPELINE, DEPLOY_DEPENDENCIES
from .scenario import APP, BUILD, REGION, STAGING


@pytest.fixture(scope="session")
def deploy_dependencies() -> dict[str, Any]:
    return load_template(DEPLOY_DEPENDENCIES)


@pytest.fixture(scope="session")
def build_pipeline() -> dict[str, Any]:
    return load_template(BUILD_PIPELINE)


@pytest.fixture
def render_deploy(deploy_dependencies):
    """Render deploy-dependencies.yaml as the stack in ``account`` would be."""

    def render(account: str = STAGING, **parameters: str) -> RenderedStack:
        values = {"ApplicationName": APP, "BuildAccountId": BUILD, **parameters}
        return RenderedStack(
            deploy_dependencies, values, account_id=account, region=REGION, stack_name=f"{APP}-deploy-dependencies"
        )

    return render


@pytest.fixture
def render_pipeline(build_pipeline):
    """Render build-pipeline.yaml as the stack in the build account would be."""

    def render(account: str = BUILD, **parameters: str) -> RenderedStack:
        return RenderedStack(build_pipeline, parameters, account_id=account, region=REGION, stack_name=f"{APP}-pipeline")

    return render
