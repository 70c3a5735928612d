"""The sample application fits the pipeline built around it.

sample_app/ belongs to another part of the project; these tests hold the seams between it and
templates_cfn/: the SAM template transforms, the buildspec runs Makefile targets that exist and
produces the files the deploy actions read, `make package` gets the variables CodeBuild sets, and
the deploy accounts' execution role may create every resource the application declares.
"""
from __future__ import annotations

import copy
import fnmatch
import json
import re
import shlex
from typing import Any

import boto3
import pytest
import yaml
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

from .cfn_render import RenderedStack
from .cfn_yaml import load_template, statements
from .scenario import APP, REGION, STAGING, pipeline_parameters
from .repo_layout import BUILDSPEC, MAKEFILE, SAM_TEMPLATE, SAMPLE_APP

STAGES = ("staging", "production")
# Resource type the SAM transform emits -> the execution-role action that creates it.
CREATE_ACTION = {
    "AWS::Lambda::Function": "lambda:CreateFunction",
    "AWS::Lambda::Permission": "lambda:AddPermission",
    "AWS::Lambda::Version": "lambda:PublishVersion",
    "AWS::Lambda::Alias": "lambda:CreateAlias",
    "AWS::IAM::Role": "iam:CreateRole",
    "AWS::ApiGateway::RestApi": "apigateway:POST",
    "AWS::ApiGateway::Deployment": "apigateway:POST",
    "AWS::ApiGateway::Stage": "apigateway:POST",
    "AWS::ApiGatewayV2::Api": "apigateway:POST",
    "AWS::ApiGatewayV2::Stage": "apigateway:POST",
    "AWS::Logs::LogGroup": "logs:CreateLogGroup",
}
# Physical-name property -> the prefix the execution role's resource ARNs require.
NAME_PREFIX = {
    ("AWS::Lambda::Function", "FunctionName"): "{stack}-",
    ("AWS::IAM::Role", "RoleName"): "{stack}-",
    ("AWS::Logs::LogGroup", "LogGroupName"): "/aws/lambda/{stack}-",
}


# Local artifact properties `aws cloudformation package` replaces with the uploaded S3 object.
PACKAGED_PROPERTIES = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
    "AWS::Serverless::Api": "DefinitionUri",
}


def as_packaged(sam_template: dict[str, Any]) -> dict[str, Any]:
    """The template as `make package` hands it to CloudFormation: local paths become S3 URIs."""
    packaged = copy.deepcopy(sam_template)
    bucket = f"{APP}-artifacts-111111111111-{REGION}"
    for logical_id, resource in packaged["Resources"].items():
        name = PACKAGED_PROPERTIES.get(resource["Type"])
        properties = resource.get("Properties", {})
        if name and isinstance(properties.get(name), str) and not properties[name].startswith("s3://"):
            properties[name] = f"s3://{bucket}/{logical_id}-0123456789abcdef"
    function_globals = packaged.get("Globals", {}).get("Function", {})
    if isinstance(function_globals.get("CodeUri"), str) and not function_globals["CodeUri"].startswith("s3://"):
        function_globals["CodeUri"] = f"s3://{bucket}/globals-0123456789abcdef"
    return packaged


def translate(sam_template: dict[str, Any]) -> dict[str, Any]:
    """Expand AWS::Serverless-2016-10-31 the way CloudFormation's transform does.

    CloudFormation transforms the packaged template (packaged.yaml), so that is what is translated.
    """

    def no_iam_lookups() -> dict[str, str]:
        # Managed policy names outside the translator's bundled list would need IAM; the test
        # has no AWS access, so such a name fails translation (use the policy's ARN instead).
        return {}

    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=REGION))
    return translator.translate(as_packaged(sam_template), parameter_values={}, get_managed_policy_map=no_iam_lookups)


def stage_config(stage: str) -> dict[str, Any]:
    return json.loads((SAMPLE_APP / "config" / f"{stage}.json").read_text(encoding="utf-8"))


def buildspec() -> dict[str, Any]:
    return yaml.safe_load(BUILDSPEC.read_text(encoding="utf-8"))


def buildspec_commands() -> list[str]:
    return [command for phase in buildspec()["phases"].values() for command in phase.get("commands", [])]


def make_goals(command: str) -> list[str]:
    """The goals of every `make` invocation in a shell command line."""
    tokens = shlex.split(command)
    goals = []
    for index, token in enumerate(tokens):
        if token != "make":
            continue
        for word in tokens[index + 1:]:
            if word in ("&&", "||", ";", "|"):
                break
            if not word.startswith("-") and "=" not in word:
                goals.append(word)
    return goals


def makefile_targets() -> set[str]:
    targets = set()
    for line in MAKEFILE.read_text(encoding="utf-8").splitlines():
        # "target other: prerequisites", but not "VAR := value" / "VAR ::= value" nor recipes.
        match = re.match(r"^([A-Za-z0-9_.%/-]+(?:[ \t]+[A-Za-z0-9_.%/-]+)*)[ \t]*:(?![:=])", line)
        if match:
            targets.update(match.group(1).split())
    return targets


@pytest.fixture(scope="module")
def sam_template() -> dict[str, Any]:
    assert SAM_TEMPLATE.exists(), "sample_app/template.yaml is missing"
    return load_template(SAM_TEMPLATE)


@pytest.fixture(scope="module")
def translated(sam_template) -> dict[str, Any]:
    return translate(sam_template)


@pytest.fixture(scope="module")
def execution_role_statements(deploy_dependencies) -> list[dict[str, Any]]:
    stack = RenderedStack(deploy_dependencies, {"ApplicationName": APP, "BuildAccountId": "111111111111"},
                          account_id=STAGING, region=REGION)
    policies = stack.resources["CloudFormationExecutionRole"]["Properties"]["Policies"]
    return [statement for policy in policies for statement in statements(policy["PolicyDocument"])]


def test_sam_translator_transforms_the_sample_app(translated):
    kinds = {resource["Type"] for resource in translated["Resources"].values()}
    assert "AWS::Lambda::Function" in kinds
    assert not any(kind.startswith("AWS::Serverless::") for kind in kinds)


def test_execution_role_may_create_every_resource_type_of_the_app(translated, execution_role_statements):
    granted = {action for statement in execution_role_statements for action in statement["Action"]}
    for logical_id, resource in translated["Resources"].items():
        needed = CREATE_ACTION.get(resource["Type"])
        assert needed is not None, f"{logical_id}: the execution role grants nothing for {resource['Type']}"
        assert needed in granted, f"{logical_id}: the execution role lacks {needed}"


@pytest.mark.parametrize("stage", STAGES)
def test_app_resource_names_carry_the_stack_name_the_execution_role_is_scoped_to(translated, stage):
    stack_name = f"{APP}-{stage}"
    stack = RenderedStack(translated, stage_config(stage)["Parameters"], account_id=STAGING, region=REGION,
                          stack_name=stack_name)
    for logical_id, resource in translated["Resources"].items():
        for (kind, name_property), prefix in NAME_PREFIX.items():
            if resource["Type"] != kind:
                continue
            declared = resource.get("Properties", {}).get(name_property)
            name = stack.value(declared) if declared is not None else stack.physical_name(logical_id)
            assert name.startswith(prefix.format(stack=stack_name)), f"{logical_id}: {name}"


def test_function_roles_attach_only_policies_the_execution_role_may_attach(translated, execution_role_statements):
    attachable = [
        arn
        for statement in execution_role_statements
        if "iam:AttachRolePolicy" in statement["Action"]
        for arn in statement["Condition"]["ArnEquals"]["iam:PolicyARN"]
    ]
    for logical_id, resource in translated["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for policy_arn in resource["Properties"].get("ManagedPolicyArns", []):
            rendered = RenderedStack({"Resources": {}}, {}, account_id=STAGING, region=REGION).value(policy_arn)
            assert rendered in attachable, f"{logical_id} attaches {rendered}"


@pytest.mark.parametrize("stage", STAGES)
def test_stage_config_is_a_template_configuration_for_the_app(sam_template, stage):
    config = stage_config(stage)
    assert set(config) <= {"Parameters", "Tags", "StackPolicy"}
    assert all(isinstance(value, str) for value in config.get("Parameters", {}).values())
    assert all(isinstance(value, str) for value in config.get("Tags", {}).values())
    # Every value passes the SAM template's own parameter constraints, and none is unknown.
    RenderedStack(sam_template, config.get("Parameters", {}), account_id=STAGING, region=REGION)


def test_buildspec_runs_makefile_targets_that_exist():
    goals = [goal for command in buildspec_commands() for goal in make_goals(command)]
    assert goals, "the buildspec runs no make target"
    assert set(goals) <= makefile_targets()


def test_buildspec_lints_tests_builds_and_packages_in_that_order():
    goals = [goal for command in buildspec_commands() for goal in make_goals(command)]
    wanted = ["lint", "test", "build", "package"]
    assert [goal for goal in goals if goal in wanted] == wanted


def test_build_output_holds_what_the_deploy_actions_read(build_pipeline):
    artifacts = buildspec()["artifacts"]
    patterns = artifacts["files"]
    base = SAMPLE_APP.parent / artifacts.get("base-directory", ".")
    read = {
        configuration[key].split("::", 1)[1]
        for stage in build_pipeline["Resources"]["Pipeline"]["Properties"]["Stages"]
        for action in stage["Actions"]
        if isinstance(configuration := action.get("Configuration"), dict)
        for key in ("TemplatePath", "TemplateConfiguration")
        if isinstance(configuration.get(key), str)
    }
    assert read == {"packaged.yaml", "config/staging.json", "config/production.json"}
    for path in read:
        assert any(fnmatch.fnmatch(path, pattern) for pattern in patterns), f"{path} is not in the build output"
        if path.startswith("config/"):
            assert (base / path).is_file(), f"{base / path} does not exist"


def test_make_package_reads_the_variables_the_build_project_sets(build_pipeline):
    environment = build_pipeline["Resources"]["BuildProject"]["Properties"]["Environment"]
    names = [variable["Name"] for variable in environment["EnvironmentVariables"]]
    sources = MAKEFILE.read_text(encoding="utf-8") + BUILDSPEC.read_text(encoding="utf-8")
    for name in names:
        assert re.search(rf"\$[({{]?{name}\b", sources), f"neither Makefile nor buildspec reads {name}"


def test_build_role_may_publish_the_buildspec_reports(render_pipeline):
    stack = render_pipeline(**pipeline_parameters())
    project = stack.resources["BuildProject"]["Properties"]["Name"]
    granted = [
        statement
        for policy in stack.resources["BuildRole"]["Properties"]["Policies"]
        for statement in statements(policy["PolicyDocument"])
        if "codebuild:BatchPutTestCases" in statement["Action"]
    ]
    for report in buildspec().get("reports", {}):
        arn = f"arn:aws:codebuild:{REGION}:{stack.account_id}:report-group/{project}-{report}"
        assert any(fnmatch.fnmatch(arn, statement["Resource"]) for statement in granted), arn
