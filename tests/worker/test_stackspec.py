"""The stack specs' parameters: each stage's values become the pipeline's ParameterOverrides text."""
from __future__ import annotations

import json
import logging

import pytest

from core import validation
from core.models import Setup
from tests.accounts import BUILD, PRODUCTION, STAGING
from worker import templates
from worker.stackspec import build_parameters, stage_parameter_overrides

VALUES = {"LogLevel": "WARN", "Greeting": "Hello", "MemorySize": 512, "LogRetentionInDays": 90}


def setup_with(stage_parameters, **fields) -> Setup:
    values = {"id": 3, "name": "orders-api", "build_account_id": BUILD, "staging_account_id": STAGING,
              "production_account_id": PRODUCTION, "region": "eu-west-1", "branch": "main",
              "source_provider": "CodeCommit", "stage_parameters": stage_parameters}
    return Setup(**{**values, **fields})


def test_overrides_are_compact_sorted_json_of_strings():
    overrides = stage_parameter_overrides(setup_with({"staging": VALUES}), "staging")

    assert overrides == '{"Greeting":"Hello","LogLevel":"WARN","LogRetentionInDays":"90","MemorySize":"512"}'


def test_the_same_values_in_another_order_give_the_same_text():
    reordered = dict(reversed(list(VALUES.items())))

    assert stage_parameter_overrides(setup_with({"production": reordered}), "production") == (
        stage_parameter_overrides(setup_with({"production": VALUES}), "production"))


def test_each_stage_gets_its_own_values():
    setup = setup_with({"staging": VALUES, "production": {**VALUES, "LogLevel": "ERROR"}})

    parameters = build_parameters(setup, "aws")

    assert json.loads(parameters["StagingParameterOverrides"])["LogLevel"] == "WARN"
    assert json.loads(parameters["ProductionParameterOverrides"])["LogLevel"] == "ERROR"


def test_build_template_declares_both_override_parameters():
    build_template = templates.load(templates.BUILD_TEMPLATE)
    parameters = build_template.select_parameters(build_parameters(setup_with({"staging": VALUES}), "aws"))

    assert {"StagingParameterOverrides", "ProductionParameterOverrides"} <= set(parameters)


@pytest.mark.parametrize("stage_parameters", [{}, {"production": VALUES}, {"staging": None}])
def test_a_stage_without_values_overrides_nothing(stage_parameters):
    assert stage_parameter_overrides(setup_with(stage_parameters), "staging") == "{}"


def test_stage_and_unknown_names_are_never_passed(caplog):
    setup = setup_with({"staging": {**VALUES, "Stage": "production", "Colour": "red"}})

    with caplog.at_level(logging.WARNING, logger="worker.stackspec"):
        overrides = json.loads(stage_parameter_overrides(setup, "staging"))

    assert set(overrides) == set(validation.STAGE_PARAMETER_CHECKS)
    assert "not passing Colour, Stage to the staging stack" in caplog.text


def test_the_longest_values_the_portal_accepts_fit_the_templates_limit():
    # JSON escapes a character outside the BMP as two \\uXXXX escapes: 12 characters for one.
    longest = {"LogLevel": "DEBUG", "Greeting": "\U0001F44B" * validation.GREETING_MAX,
               "MemorySize": validation.MEMORY_MAX, "LogRetentionInDays": max(validation.LOG_RETENTION_DAYS)}
    for name, check in validation.STAGE_PARAMETER_CHECKS.items():
        check(longest[name])  # every value is one the portal accepts
    limit = templates.load(templates.BUILD_TEMPLATE).parsed()["Parameters"]["StagingParameterOverrides"]["MaxLength"]

    assert len(stage_parameter_overrides(setup_with({"staging": longest}), "staging")) <= limit
