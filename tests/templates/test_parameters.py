"""Both templates reject bad parameter values with a clear message, before creating anything."""
from __future__ import annotations

import re
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from .cfn_render import ParameterError, RenderedStack, RuleError
from .cfn_yaml import load_template
from .scenario import APP, BUILD, GITHUB, REGION, pipeline_parameters
from .repo_layout import BUILD_PIPELINE, DEPLOY_DEPENDENCIES

# docs/contracts.md: ^[a-z][a-z0-9-]{1,22}[a-z0-9]$, no "--".
CONTRACT_NAME = re.compile(r"^[a-z][a-z0-9-]{1,22}[a-z0-9]$")
BOTH = [DEPLOY_DEPENDENCIES, BUILD_PIPELINE]


@cache
def name_parameter(template_path) -> dict:
    return load_template(template_path)["Parameters"]["ApplicationName"]


def accepts_name(template_path, name: str) -> bool:
    spec = name_parameter(template_path)
    return (
        re.fullmatch(spec["AllowedPattern"], name) is not None
        and spec["MinLength"] <= len(name) <= spec["MaxLength"]
    )


@pytest.mark.parametrize("path", BOTH, ids=lambda path: path.name)
def test_string_parameters_are_constrained_with_a_message(path):
    for name, spec in load_template(path)["Parameters"].items():
        assert "AllowedPattern" in spec or "AllowedValues" in spec, f"{name} accepts anything"
        if "AllowedPattern" in spec:
            assert spec.get("ConstraintDescription", "").strip(), f"{name} has no ConstraintDescription"


@pytest.mark.parametrize("path", BOTH, ids=lambda path: path.name)
@settings(max_examples=300, deadline=None)
@given(name=st.text(alphabet="ab9-Z_", max_size=28))
def test_application_name_rule_is_the_contract_rule(path, name):
    assert accepts_name(path, name) == (CONTRACT_NAME.fullmatch(name) is not None and "--" not in name)


@pytest.mark.parametrize("path", BOTH, ids=lambda path: path.name)
@pytest.mark.parametrize(
    ("name", "accepted"),
    [("orders-api", True), ("abc", True), ("a" * 24, True), ("a" * 25, False), ("ab", False),
     ("Orders", False), ("orders--api", False), ("-orders", False), ("orders-", False), ("9orders", False)],
)
def test_application_name_examples(path, name, accepted):
    assert accepts_name(path, name) is accepted


@pytest.mark.parametrize("account", ["12345678901", "1234567890123", "12345678901a", ""])
def test_deploy_dependencies_rejects_a_bad_build_account_id(deploy_dependencies, account):
    with pytest.raises(ParameterError, match="12-digit AWS account id"):
        RenderedStack(deploy_dependencies, {"ApplicationName": APP, "BuildAccountId": account}, account_id=BUILD)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"StagingAccountId": "2222"}, "12-digit AWS account id"),
        ({"ProductionDeployRoleArn": "orders-api-deploy-role"}, "IAM role ARN"),
        ({"PortalUrl": "https://portal.example.com/"}, "without a trailing slash"),
        ({"PortalUrl": "portal.example.com"}, "http"),
        ({"ApprovalEmail": "not-an-address"}, "e-mail address"),
        ({"SourceProvider": "Bitbucket"}, "not one of"),
        ({"BranchName": "feature branch"}, "git branch name"),
    ],
)
def test_build_pipeline_rejects_bad_values(build_pipeline, overrides, message):
    with pytest.raises(ParameterError, match=message):
        RenderedStack(build_pipeline, pipeline_parameters(**overrides), account_id=BUILD, region=REGION)


@pytest.mark.parametrize("missing", ["ConnectionArn", "FullRepositoryId"])
def test_github_source_requires_connection_and_repository(build_pipeline, missing):
    parameters = pipeline_parameters(**{**GITHUB, missing: ""})
    with pytest.raises(RuleError, match=f"{missing}.*required"):
        RenderedStack(build_pipeline, parameters, account_id=BUILD, region=REGION)


def test_codecommit_source_needs_no_github_parameters(build_pipeline):
    stack = RenderedStack(build_pipeline, pipeline_parameters(), account_id=BUILD, region=REGION)
    assert stack.parameters["SourceProvider"] == "CodeCommit"
    assert stack.parameters["BranchName"] == "main"


def test_contract_parameters_are_declared(deploy_dependencies, build_pipeline):
    assert set(deploy_dependencies["Parameters"]) == {"ApplicationName", "BuildAccountId", "BuildRegion",
                                                    "PortalPrincipalArn"}
    assert set(build_pipeline["Parameters"]) == {
        "ApplicationName", "BranchName", "SourceProvider", "ConnectionArn", "FullRepositoryId",
        "StagingAccountId", "ProductionAccountId", "StagingDeployRoleArn", "StagingExecutionRoleArn",
        "ProductionDeployRoleArn", "ProductionExecutionRoleArn", "ApprovalEmail", "PortalUrl",
        "StagingParameterOverrides", "ProductionParameterOverrides",
    }
