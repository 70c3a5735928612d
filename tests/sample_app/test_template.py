"""template.yaml and the per-stage template configuration files."""
from __future__ import annotations

import json
import re

import pytest
from cfnlint.api import ManualArgs, lint

from tests.templates.cfn_yaml import load_template
from tests.sample_app.conftest import SAMPLE_APP
from tests.sample_app.template_config import configuration_problems, tag_problems

TEMPLATE_PATH = SAMPLE_APP / "template.yaml"
STAGES = ("staging", "production")


@pytest.fixture(scope="module")
def template() -> dict:
    return load_template(TEMPLATE_PATH)


def test_template_passes_cfn_lint_without_errors_or_warnings():
    matches = lint(TEMPLATE_PATH.read_text(), config=ManualArgs(regions=["eu-west-1", "us-east-1"]))

    assert matches == [], [f"{m.rule.id} line {m.linenumber}: {m.message}" for m in matches]


def test_cfn_lint_would_catch_a_broken_function():
    # Guards the test above: the same call reports a real error.
    broken = TEMPLATE_PATH.read_text().replace("Runtime: provided.al2023", "Runtime: go1.x")

    assert any(m.rule.severity == "error" for m in lint(broken))


def test_function_is_a_go_binary_on_provided_al2023_arm64(template):
    assert template["Transform"] == "AWS::Serverless-2016-10-31"
    function = template["Resources"]["HelloFunction"]
    assert function["Type"] == "AWS::Serverless::Function"
    props = function["Properties"]
    assert (props["Runtime"], props["Architectures"], props["Handler"]) == ("provided.al2023", ["arm64"], "bootstrap")
    assert props["Environment"]["Variables"]["STAGE"] == {"Ref": "Stage"}


def test_code_uri_is_the_directory_make_build_writes(template):
    makefile = (SAMPLE_APP / "Makefile").read_text()
    build_dir = re.search(r"^BUILD_DIR := (\S+)$", makefile, re.MULTILINE).group(1)

    assert template["Resources"]["HelloFunction"]["Properties"]["CodeUri"].rstrip("/") == build_dir


def test_function_and_role_keep_names_derived_from_the_stack(template):
    props = template["Resources"]["HelloFunction"]["Properties"]

    # No FunctionName, no Role/RoleName: CloudFormation then names them
    # APP-<stage>-HelloFunction-... and APP-<stage>-HelloFunctionRole-...
    assert not {"FunctionName", "Role"} & set(props)
    assert not [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Role"]
    log_group = template["Resources"]["HelloFunctionLogGroup"]["Properties"]["LogGroupName"]
    assert log_group["Fn::Sub"].startswith("/aws/lambda/${AWS::StackName}-")


def test_function_is_reached_by_get_hello(template):
    (event,) = template["Resources"]["HelloFunction"]["Properties"]["Events"].values()

    assert event["Type"] == "Api"
    assert (event["Properties"]["Path"], event["Properties"]["Method"]) == ("/hello", "get")
    assert event["Properties"]["RestApiId"] == {"Ref": "HelloApi"}


def test_api_url_output_points_at_the_endpoint(template):
    url = template["Outputs"]["ApiUrl"]["Value"]["Fn::Sub"]

    assert url == "https://${HelloApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${Stage}/hello"
    assert template["Resources"]["HelloApi"]["Properties"]["StageName"] == {"Ref": "Stage"}


def test_stage_parameter_allows_exactly_the_pipeline_stages(template):
    stage = template["Parameters"]["Stage"]

    assert stage["AllowedValues"] == list(STAGES)
    assert "Default" not in stage  # a stack must say which stage it is


def test_log_group_has_a_retention(template):
    log_group = template["Resources"]["HelloFunctionLogGroup"]

    assert log_group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}
    assert template["Resources"]["HelloFunction"]["Properties"]["LoggingConfig"]["LogGroup"] == {
        "Ref": "HelloFunctionLogGroup"
    }


def test_function_memory_is_the_memory_size_parameter(template):
    memory = template["Parameters"]["MemorySize"]

    # Lambda's range in MB; the portal's per-stage MemorySize is checked against the same bounds.
    assert (memory["Type"], memory["MinValue"], memory["MaxValue"], memory["Default"]) == ("Number", 128, 10240, 128)
    assert template["Resources"]["HelloFunction"]["Properties"]["MemorySize"] == {"Ref": "MemorySize"}
    assert "MemorySize" not in template.get("Globals", {}).get("Function", {})


@pytest.mark.parametrize("stage", STAGES)
def test_stage_configuration_is_a_valid_template_configuration(template, stage):
    config = json.loads((SAMPLE_APP / "config" / f"{stage}.json").read_text())

    assert configuration_problems(config, template) == []
    assert config["Parameters"]["Stage"] == stage
    assert config["Tags"]["Environment"] == stage


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda c: c.update(Extra={}), "unknown key 'Extra'"),
        (lambda c: c["Parameters"].update(Colour="red"), "'Colour' is not declared"),
        (lambda c: c["Parameters"].update(Stage="dev"), "'dev' is not one of"),
        (lambda c: c["Parameters"].pop("Stage"), "'Stage' has no default and is not given"),
        (lambda c: c["Parameters"].update(LogRetentionInDays=14), "value must be a string"),
        (lambda c: c["Parameters"].update(LogRetentionInDays="13"), "'13' is not one of"),
        (lambda c: c["Parameters"].update(Greeting=""), "shorter than MinLength"),
        (lambda c: c["Parameters"].update(Greeting="x" * 65), "longer than MaxLength"),
        (lambda c: c["Parameters"].update(MemorySize="64"), "64 is below MinValue 128"),
        (lambda c: c["Parameters"].update(MemorySize="10241"), "10241 is above MaxValue 10240"),
        (lambda c: c["Parameters"].update(MemorySize="lots"), "'lots' is not a number"),
        (lambda c: c["Parameters"].update(MemorySize=256), "value must be a string"),
        (lambda c: c.update(StackPolicy={"Statement": "all"}), "StackPolicy must be"),
        (lambda c: c.update(Parameters=[]), "Parameters must be an object"),
    ],
)
def test_configuration_check_rejects_bad_parameters(template, edit, problem):
    config = json.loads((SAMPLE_APP / "config" / "staging.json").read_text())
    edit(config)

    problems = configuration_problems(config, template)

    assert any(problem in p for p in problems), problems


@pytest.mark.parametrize(
    ("tags", "problem"),
    [
        ({"aws:cloudformation:stack-name": "x"}, "reserved for AWS"),
        ({"AWS:Owner": "x"}, "reserved for AWS"),
        ({"": "x"}, "key must be 1 to 128"),
        ({"k" * 129: "x"}, "key must be 1 to 128"),
        ({"Owner": "v" * 257}, "at most 256"),
        ({"Owner#1": "x"}, "key has characters"),
        ({"Owner": "a;b"}, "value has characters"),
        ({"Owner": 7}, "value must be a string"),
        ({f"Tag{i}": "x" for i in range(51)}, "at most 50"),
        (["Owner"], "Tags must be an object"),
    ],
)
def test_tag_check_rejects_what_aws_rejects(tags, problem):
    assert any(problem in p for p in tag_problems(tags)), tag_problems(tags)


def test_tag_check_accepts_the_characters_aws_allows():
    assert tag_problems({"Team/Owner:main": "Zoë + Ada @ orders_api = 1.0-beta", "Empty": ""}) == []
