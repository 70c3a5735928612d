"""The stacks' names and order: one home, read by the portal's review page and by the worker."""
from __future__ import annotations

import pytest

from core import stacks
from core.models import OperationKind, Setup, StackRole
from portal.deployments.preview import planned_stacks
from worker.stackspec import build_parameters, desired_stacks

BUILD, STAGING, PRODUCTION = "111111111111", "222222222222", "333333333333"


def test_names_follow_the_contracts():
    assert stacks.deploy_stack_name("orders-api") == "orders-api-deploy-dependencies"
    assert stacks.build_stack_name("orders-api") == "orders-api-pipeline"
    assert stacks.application_of("orders-api-pipeline") == "orders-api"
    assert stacks.observer_role_name("orders-api") == "orders-api-portal-observer-role"
    assert stacks.role_arn("aws", STAGING, stacks.deploy_role_name("orders-api")) == \
        f"arn:aws:iam::{STAGING}:role/orders-api-deploy-role"
    assert stacks.execution_role_name("orders-api") == "orders-api-cfn-execution-role"
    assert stacks.artifact_bucket_name("orders-api", BUILD, "eu-west-1") == f"orders-api-artifacts-{BUILD}-eu-west-1"
    assert stacks.change_set_name(7, 42) == "portal-7-42"


@pytest.mark.parametrize(("staging", "production", "expected"), [
    (STAGING, PRODUCTION, [(STAGING, ("staging",)), (PRODUCTION, ("production",))]),
    (STAGING, STAGING, [(STAGING, ("staging", "production"))]),
    (BUILD, PRODUCTION, [(BUILD, ("staging",)), (PRODUCTION, ("production",))]),
])
def test_one_deploy_stack_per_distinct_deploy_account_then_the_build_stack(staging, production, expected):
    found = stacks.setup_stacks("orders-api", BUILD, staging, production)

    assert [(s.account_id, s.stages) for s in found[:-1]] == expected
    assert {s.role for s in found[:-1]} == {StackRole.DEPLOY}
    assert (found[-1].role, found[-1].account_id, found[-1].stack_name, found[-1].template) == (
        StackRole.BUILD, BUILD, "orders-api-pipeline", "build-pipeline.yaml")


def test_apply_deploys_accounts_first_and_teardown_goes_the_other_way():
    assert stacks.waves(OperationKind.APPLY) == ((StackRole.DEPLOY,), (StackRole.BUILD,))
    assert stacks.waves("teardown") == ((StackRole.BUILD,), (StackRole.DEPLOY,))
    assert stacks.wave_of(OperationKind.TEARDOWN, "build") == 0
    assert stacks.wave_of(OperationKind.APPLY, "build") == 1


def test_the_review_page_lists_exactly_the_stacks_the_worker_deploys():
    setup = Setup(id=1, name="orders-api", build_account_id=BUILD, staging_account_id=STAGING,
                  production_account_id=STAGING, region="eu-west-1", source_provider="CodeCommit")

    shown = [(s.account_id, s.stack_name, s.template) for s in planned_stacks(
        "orders-api", BUILD, STAGING, STAGING, {})]
    deployed = [(s.account_id, s.stack_name, s.template.name) for s in desired_stacks(setup, "aws")]

    assert shown == deployed == [(STAGING, "orders-api-deploy-dependencies", "deploy-dependencies.yaml"),
                                 (BUILD, "orders-api-pipeline", "build-pipeline.yaml")]
    assert build_parameters(setup, "aws")["StagingDeployRoleArn"] == \
        f"arn:aws:iam::{STAGING}:role/orders-api-deploy-role"
