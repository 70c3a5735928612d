"""build-pipeline.yaml passes the portal's per-stage values to the application stacks.

StagingParameterOverrides / ProductionParameterOverrides become the ParameterOverrides of the staging
Deploy action and of the production CreateChangeSet action. CodePipeline lays them over the stage's
TemplateConfiguration file (sample_app/config/<stage>.json), so these tests merge the two the same
way and check the result against the SAM template's own parameter constraints.
"""
from __future__ import annotations

import json

import pytest

from core import validation
from core.models import Setup
from worker.stackspec import stage_parameter_overrides

from .cfn_render import ParameterError, RenderedStack
from .cfn_yaml import load_template
from .scenario import BUILD, REGION, STAGING, pipeline_parameters
from .repo_layout import SAM_TEMPLATE, SAMPLE_APP

OVERRIDES = {"staging": "StagingParameterOverrides", "production": "ProductionParameterOverrides"}
CONSUMERS = {"staging": ("DeployStaging", "Deploy"), "production": ("ApproveProduction", "CreateChangeSet")}
# CodePipeline's limit on one action configuration value.
CONFIGURATION_VALUE_MAX = 1000


def action(stack: RenderedStack, stage_name: str, action_name: str) -> dict:
    (stage,) = [s for s in stack.resources["Pipeline"]["Properties"]["Stages"] if s["Name"] == stage_name]
    (found,) = [item for item in stage["Actions"] if item["Name"] == action_name]
    return found


def stage_config(stage: str) -> dict:
    return json.loads((SAMPLE_APP / "config" / f"{stage}.json").read_text(encoding="utf-8"))


def deployed_parameters(stage: str, overrides: str) -> dict[str, str]:
    """What CodePipeline hands CloudFormation: the configuration file's parameters, overridden."""
    return {**stage_config(stage)["Parameters"], **json.loads(overrides)}


@pytest.fixture(scope="module")
def sam_template() -> dict:
    return load_template(SAM_TEMPLATE)


@pytest.mark.parametrize("name", OVERRIDES.values())
def test_overrides_are_bounded_json_objects_defaulting_to_empty(build_pipeline, name):
    spec = build_pipeline["Parameters"][name]
    assert (spec["Type"], spec["Default"], spec["MaxLength"]) == ("String", "{}", CONFIGURATION_VALUE_MAX)
    assert "JSON object" in spec["ConstraintDescription"] and "1000" in spec["ConstraintDescription"]


def test_both_stages_share_one_constraint(build_pipeline):
    staging, production = (build_pipeline["Parameters"][name] for name in OVERRIDES.values())
    assert staging["AllowedPattern"] == production["AllowedPattern"]
    assert staging["MaxLength"] == production["MaxLength"]


@pytest.mark.parametrize("stage", OVERRIDES)
def test_each_stage_deploy_action_overrides_its_configuration_file(render_pipeline, stage):
    value = '{"LogLevel":"WARN","MemorySize":"512"}'
    stack = render_pipeline(**pipeline_parameters(**{OVERRIDES[stage]: value}))
    configuration = action(stack, *CONSUMERS[stage])["Configuration"]
    assert configuration["ParameterOverrides"] == value
    assert configuration["TemplateConfiguration"] == f"BuildOutput::config/{stage}.json"


def test_the_other_stage_keeps_its_own_overrides(render_pipeline):
    stack = render_pipeline(**pipeline_parameters(StagingParameterOverrides='{"LogLevel":"DEBUG"}'))
    assert action(stack, "ApproveProduction", "CreateChangeSet")["Configuration"]["ParameterOverrides"] == "{}"


def test_executing_the_reviewed_change_set_takes_no_parameters(render_pipeline):
    # The change set already holds the production values the approver reviewed.
    stack = render_pipeline(**pipeline_parameters(ProductionParameterOverrides='{"LogLevel":"ERROR"}'))
    assert "ParameterOverrides" not in action(stack, "DeployProduction", "ExecuteChangeSet")["Configuration"]


@pytest.mark.parametrize("value", [
    "{}",
    '{"LogLevel":"DEBUG"}',
    '{"Greeting":"Say \\"hi\\" \\\\ back","LogLevel":"INFO"}',
    json.dumps({"Greeting": "Zoë 👋", "MemorySize": "10240"}, sort_keys=True, separators=(",", ":")),
    ' { "LogLevel" : "WARN" ,\n  "MemorySize": "256" } ',
    '{"Greeting":"tab\\tand\\u00e9"}',
])
def test_accepts_flat_json_objects_of_strings(render_pipeline, value):
    stack = render_pipeline(**pipeline_parameters(StagingParameterOverrides=value))
    assert stack.parameters["StagingParameterOverrides"] == value


@pytest.mark.parametrize("value", [
    "",
    "[]",
    "LogLevel=DEBUG",
    '{"MemorySize":256}',
    '{"LogLevel":"DEBUG",}',
    '{"LogLevel":"DEBUG"} trailing',
    '{"Log-Level":"DEBUG"}',
    '{"Greeting":"two\nlines"}',
    '{"Greeting":"bad \\q escape"}',
    '{"MemorySize":{"Fn::GetParam":["BuildOutput","memory.json","MemorySize"]}}',
    '{"Greeting":"' + "x" * 990 + '"}',
])
@pytest.mark.parametrize("name", OVERRIDES.values())
def test_rejects_anything_else_with_the_constraint_description(build_pipeline, name, value):
    with pytest.raises(ParameterError, match="must be a JSON object of SAM parameter names to string values"):
        RenderedStack(build_pipeline, pipeline_parameters(**{name: value}), account_id=BUILD, region=REGION)


def test_portal_parameters_are_declared_by_the_sam_template_and_stage_is_not_among_them(sam_template):
    declared = set(sam_template["Parameters"])
    assert set(validation.STAGE_PARAMETER_CHECKS) <= declared
    assert "Stage" not in validation.STAGE_PARAMETER_CHECKS


@pytest.mark.parametrize("stage", OVERRIDES)
def test_the_workers_overrides_name_only_sam_parameters_and_fit_the_pipeline(sam_template, render_pipeline, stage):
    # The values a wizard user may enter at most: the longest greeting JSON can make of 64 characters.
    values = {"LogLevel": "ERROR", "Greeting": "👋" * validation.GREETING_MAX, "MemorySize": validation.MEMORY_MAX,
              "LogRetentionInDays": max(validation.LOG_RETENTION_DAYS)}
    setup = Setup(id=7, stage_parameters={stage: {**values, "Stage": "production"}})
    overrides = stage_parameter_overrides(setup, stage)

    assert set(json.loads(overrides)) <= set(sam_template["Parameters"])
    stack = render_pipeline(**pipeline_parameters(**{OVERRIDES[stage]: overrides}))
    assert action(stack, *CONSUMERS[stage])["Configuration"]["ParameterOverrides"] == overrides
    assert len(overrides) <= CONFIGURATION_VALUE_MAX


@pytest.mark.parametrize("stage", OVERRIDES)
def test_the_stack_gets_the_override_over_the_configuration_file(sam_template, stage):
    overrides = stage_parameter_overrides(
        Setup(id=7, stage_parameters={stage: {"LogLevel": "WARN", "Greeting": "Hi", "MemorySize": 1024,
                                              "LogRetentionInDays": 365}}), stage)
    stack = RenderedStack(sam_template, deployed_parameters(stage, overrides), account_id=STAGING, region=REGION)
    assert stack.parameters == {"Stage": stage, "LogLevel": "WARN", "Greeting": "Hi", "MemorySize": "1024",
                                "LogRetentionInDays": "365"}


@pytest.mark.parametrize(("overrides", "message"), [
    ('{"MemorySize":"64"}', "below MinValue 128"),
    ('{"LogRetentionInDays":"13"}', "not one of"),
    ('{"LogLevel":"TRACE"}', "not one of"),
])
def test_the_sam_template_still_refuses_values_outside_its_constraints(sam_template, overrides, message):
    # Guards the test above: the merged parameters really are checked.
    with pytest.raises(ParameterError, match=message):
        RenderedStack(sam_template, deployed_parameters("staging", overrides), account_id=STAGING, region=REGION)
