"""deploy-dependencies.yaml's observer role: the portal's read-only way into a self-launched account."""
from __future__ import annotations

import fnmatch

import pytest

from .cfn_render import ParameterError
from .cfn_yaml import as_list, statements
from .scenario import APP, REGION, STAGING

PORTAL = "arn:aws:iam::123456789012:role/portal-worker"
STACK_ARN = f"arn:aws:cloudformation:{REGION}:{STAGING}:stack"
READS = {"cloudformation:DescribeStacks", "cloudformation:DescribeStackEvents", "cloudformation:GetTemplate",
         "cloudformation:DescribeChangeSet", "cloudformation:ListChangeSets"}


def observer(render_deploy, principal: str = PORTAL):
    return render_deploy(PortalPrincipalArn=principal)


def observer_statements(stack):
    (policy,) = stack.resources["PortalObserverRole"]["Properties"]["Policies"]
    return statements(policy["PolicyDocument"])


def test_no_observer_role_without_a_portal_principal(render_deploy):
    stack = render_deploy()
    assert "PortalObserverRole" not in stack.resources
    assert "ObserverRoleArn" not in stack.outputs


def test_observer_role_has_the_contract_name_and_output(render_deploy):
    stack = observer(render_deploy)
    assert stack.resources["PortalObserverRole"]["Properties"]["RoleName"] == f"{APP}-portal-observer-role"
    assert stack.outputs["ObserverRoleArn"] == f"arn:aws:iam::{STAGING}:role/{APP}-portal-observer-role"


@pytest.mark.parametrize("principal", [PORTAL, "arn:aws:iam::123456789012:user/ops/portal"])
def test_observer_role_trusts_exactly_the_portals_identity(render_deploy, principal):
    trust = observer(render_deploy, principal).resources["PortalObserverRole"]["Properties"]["AssumeRolePolicyDocument"]
    (only,) = statements(trust)
    assert only == {"Sid": "TrustOnlyThePortal", "Effect": "Allow", "Principal": {"AWS": principal},
                    "Action": "sts:AssumeRole"}


@pytest.mark.parametrize("principal", [
    "arn:aws:sts::123456789012:assumed-role/portal-worker/session",  # a session: trust names its role
    "arn:aws:iam::123456789012:root",  # a whole account is no least-privilege principal
    "123456789012",
    "*",
    "arn:aws:iam::12345:role/short-account",
])
def test_portal_principal_must_be_a_role_or_user_arn(render_deploy, principal):
    with pytest.raises(ParameterError, match="must be empty or the ARN of an IAM role or user"):
        observer(render_deploy, principal)


def test_observer_role_only_reads(render_deploy):
    found = observer_statements(observer(render_deploy))
    actions = {action for item in found for action in as_list(item["Action"])}
    assert actions <= READS and actions == READS
    assert all(item["Effect"] == "Allow" and "Condition" not in item for item in found)


@pytest.mark.parametrize("arn", [
    f"{STACK_ARN}/{APP}-deploy-dependencies/0f3e",
    f"{STACK_ARN}/{APP}-staging/0f3e",
    f"{STACK_ARN}/{APP}-production/0f3e",
    f"{STACK_ARN}/{APP}-pipeline/0f3e",
    f"arn:aws:cloudformation:{REGION}:{STAGING}:changeSet/{APP}-production-4a1b/77aa",
])
def test_observer_role_reads_this_applications_stacks(render_deploy, arn):
    patterns = [p for item in observer_statements(observer(render_deploy)) for p in as_list(item["Resource"])]
    assert any(fnmatch.fnmatchcase(arn, pattern) for pattern in patterns)


@pytest.mark.parametrize("arn", [
    f"{STACK_ARN}/other-app-staging/0f3e",
    f"{STACK_ARN}/{APP}-api-staging/0f3e",  # another application whose name starts with this one's
    f"arn:aws:cloudformation:us-east-1:{STAGING}:stack/{APP}-staging/0f3e",
    f"arn:aws:cloudformation:{REGION}:999999999999:stack/{APP}-staging/0f3e",
    f"arn:aws:cloudformation:{REGION}:{STAGING}:changeSet/portal-1-2/77aa",
])
def test_observer_role_reads_nothing_else(render_deploy, arn):
    patterns = [p for item in observer_statements(observer(render_deploy)) for p in as_list(item["Resource"])]
    assert not any(fnmatch.fnmatchcase(arn, pattern) for pattern in patterns)
