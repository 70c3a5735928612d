"""Rules every template obeys together: no admin wildcards, contract types only, and the two stacks
agree with each other whether the accounts are three, two or one."""
from __future__ import annotations

from collections import Counter

import pytest

from .cfn_render import RenderedStack
from .cfn_yaml import all_statements, as_list, load_template, policy_documents
from .scenario import APP, BUILD, PRODUCTION, REGION, STAGING, pipeline_parameters
from .repo_layout import cfn_templates, contract_resource_types

ADMIN_ACTIONS = {"*", "*:*", "iam:*"}
# The one service-wide wildcard allowed: the key policy statement that lets the build account's
# IAM policies govern the key (without it nobody could ever administer or delete the key).
SERVICE_WILDCARD_ALLOWED = {("ArtifactKey", "EnableIamPoliciesOfTheBuildAccount", "kms:*")}
NAME_PROPERTIES = ("RoleName", "BucketName", "TopicName", "AliasName", "LogGroupName", "Name", "RepositoryName")

ACCOUNT_LAYOUTS = {
    "three accounts": (BUILD, STAGING, PRODUCTION),
    "build is staging": (BUILD, BUILD, PRODUCTION),
    "staging is production": (BUILD, STAGING, STAGING),
    "one account": (BUILD, BUILD, BUILD),
}


def allow_statements():
    for path in cfn_templates():
        for logical_id, where, statement in all_statements(load_template(path)):
            if statement["Effect"] == "Allow":
                yield f"{path.name}:{logical_id}/{where}", logical_id, statement


def render_setup(deploy_dependencies, build_pipeline, build, staging, production):
    """The stacks the portal creates: one deploy stack per distinct deploy account, then the pipeline."""
    deploy_stacks = {
        account: RenderedStack(deploy_dependencies, {"ApplicationName": APP, "BuildAccountId": build},
                               account_id=account, region=REGION, stack_name=f"{APP}-deploy-dependencies")
        for account in dict.fromkeys((staging, production))
    }
    outputs = {account: stack.outputs for account, stack in deploy_stacks.items()}
    parameters = pipeline_parameters(
        staging, production,
        StagingDeployRoleArn=outputs[staging]["DeployRoleArn"],
        StagingExecutionRoleArn=outputs[staging]["CloudFormationExecutionRoleArn"],
        ProductionDeployRoleArn=outputs[production]["DeployRoleArn"],
        ProductionExecutionRoleArn=outputs[production]["CloudFormationExecutionRoleArn"],
    )
    pipeline_stack = RenderedStack(build_pipeline, parameters, account_id=build, region=REGION, stack_name=f"{APP}-pipeline")
    return deploy_stacks, pipeline_stack


def repeated_items(node, path=""):
    """Paths of lists, anywhere in ``node``, that hold the same value twice."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            found += repeated_items(value, f"{path}/{key}")
    elif isinstance(node, list):
        hashable = [repr(item) for item in node]
        if len(set(hashable)) != len(hashable):
            found.append(path)
        for index, value in enumerate(node):
            found += repeated_items(value, f"{path}/{index}")
    return found


@pytest.mark.parametrize("path", cfn_templates(), ids=lambda path: path.name)
def test_templates_use_only_the_resource_types_of_the_contract(path):
    used = {resource["Type"] for resource in load_template(path)["Resources"].values()}
    assert used <= contract_resource_types()


def test_no_policy_grants_admin_wildcards():
    for where, logical_id, statement in allow_statements():
        assert "NotAction" not in statement, where
        for action in as_list(statement["Action"]):
            assert action not in ADMIN_ACTIONS, f"{where} allows {action}"
            if action.endswith(":*"):
                assert (logical_id, statement.get("Sid"), action) in SERVICE_WILDCARD_ALLOWED, f"{where} allows {action}"


def test_no_policy_allows_everyone():
    for where, _, statement in allow_statements():
        assert "NotPrincipal" not in statement, where
        principal = statement.get("Principal")
        assert principal != "*", where
        if isinstance(principal, dict):
            assert "*" not in as_list(principal.get("AWS", [])), where


def test_every_trust_policy_names_its_principal(deploy_dependencies, build_pipeline):
    for template in (deploy_dependencies, build_pipeline):
        for logical_id, where, document in policy_documents(template):
            if where == "AssumeRolePolicyDocument":
                for statement in as_list(document["Statement"]):
                    assert statement["Action"] == "sts:AssumeRole", logical_id
                    assert set(statement["Principal"]) <= {"Service", "AWS"}, logical_id


@pytest.mark.parametrize("layout", ACCOUNT_LAYOUTS.values(), ids=ACCOUNT_LAYOUTS.keys())
def test_no_rendered_policy_lists_anything_twice(deploy_dependencies, build_pipeline, layout):
    deploy_stacks, pipeline_stack = render_setup(deploy_dependencies, build_pipeline, *layout)
    for stack in [*deploy_stacks.values(), pipeline_stack]:
        checked = list(policy_documents({"Resources": stack.resources}))
        assert checked, "no policy rendered"
        for logical_id, _, document in checked:
            assert repeated_items(document) == [], logical_id


@pytest.mark.parametrize("layout", ACCOUNT_LAYOUTS.values(), ids=ACCOUNT_LAYOUTS.keys())
def test_names_are_unique_in_every_account(deploy_dependencies, build_pipeline, layout):
    deploy_stacks, pipeline_stack = render_setup(deploy_dependencies, build_pipeline, *layout)
    names = Counter()
    for account, stack in [*deploy_stacks.items(), (layout[0], pipeline_stack)]:
        for resource in stack.resources.values():
            for name_property in NAME_PROPERTIES:
                if name_property in resource["Properties"]:
                    names[(account, resource["Type"], resource["Properties"][name_property])] += 1
    assert [name for name, count in names.items() if count > 1] == []


@pytest.mark.parametrize("layout", ACCOUNT_LAYOUTS.values(), ids=ACCOUNT_LAYOUTS.keys())
def test_deploy_stacks_and_pipeline_stack_agree(deploy_dependencies, build_pipeline, layout):
    build = layout[0]
    deploy_stacks, pipeline_stack = render_setup(deploy_dependencies, build_pipeline, *layout)
    pipeline_role = pipeline_stack.attribute("PipelineRole", "Arn")
    bucket = pipeline_stack.outputs["ArtifactBucketName"]
    alias = pipeline_stack.resources["ArtifactKeyAlias"]["Properties"]["AliasName"]
    for stack in deploy_stacks.values():
        trust = stack.resources["DeployRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
        assert trust["Principal"]["AWS"] == f"arn:aws:iam::{build}:root"
        assert trust["Condition"]["ArnEquals"]["aws:PrincipalArn"] == pipeline_role
        read, decrypt = stack.resources["ArtifactReadPolicy"]["Properties"]["PolicyDocument"]["Statement"]
        assert read["Resource"] == f"arn:aws:s3:::{bucket}/*"
        assert decrypt["Condition"]["ForAnyValue:StringEquals"]["kms:ResourceAliases"] == alias


def test_pipeline_deploys_the_stacks_the_execution_role_is_scoped_to(deploy_dependencies, build_pipeline):
    deploy_stacks, pipeline_stack = render_setup(deploy_dependencies, build_pipeline, BUILD, STAGING, PRODUCTION)
    stack_names = {
        action["Configuration"]["StackName"]
        for stage in pipeline_stack.resources["Pipeline"]["Properties"]["Stages"]
        for action in stage["Actions"]
        if action["ActionTypeId"]["Provider"] == "CloudFormation"
    }
    assert stack_names == {f"{APP}-staging", f"{APP}-production"}
    manage = [
        statement
        for statement in deploy_stacks[STAGING].resources["DeployRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        if statement.get("Sid") == "ManageApplicationStacks"
    ][0]
    for name in stack_names:
        assert any(f":stack/{name}/*" in arn for arn in manage["Resource"]), name
