"""The per-stage parameters: the portal's rules are the SAM template's constraints, and old setups catch up.

The pipeline hands these values to CloudFormation for the application stacks, so a value the
portal accepts must be one sample_app/template.yaml accepts, and the defaults must be the
template's and the configuration files'.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from core import validation as v
from portal import tokens
from portal.api.openapi import build_spec
from portal.db import get_session
from portal.setups.defaults import stage_defaults, with_defaults
from tests.portal.helpers import form_values
from tests.templates.cfn_yaml import load_template

SAMPLE_APP = Path(__file__).resolve().parents[2] / "sample_app"
OLD_STAGE_PARAMETERS = {"staging": {"LogLevel": "DEBUG", "Greeting": "Hello", "MemorySize": 128},
                        "production": {"LogLevel": "INFO", "Greeting": "Hi", "MemorySize": 256}}


@pytest.fixture(scope="module")
def sam_parameters() -> dict:
    return load_template(SAMPLE_APP / "template.yaml")["Parameters"]


def test_log_retention_choices_are_the_templates_allowed_values(sam_parameters):
    assert list(v.LOG_RETENTION_DAYS) == sam_parameters["LogRetentionInDays"]["AllowedValues"]


def test_log_levels_are_the_templates_allowed_values(sam_parameters):
    assert list(v.LOG_LEVELS) == sam_parameters["LogLevel"]["AllowedValues"]


def test_memory_bounds_are_the_templates(sam_parameters):
    memory = sam_parameters["MemorySize"]
    assert (memory["Type"], memory["MinValue"], memory["MaxValue"]) == ("Number", v.MEMORY_MIN, v.MEMORY_MAX)


def test_greeting_length_is_the_templates(sam_parameters):
    greeting = sam_parameters["Greeting"]
    assert (greeting["MinLength"], greeting["MaxLength"]) == (1, v.GREETING_MAX)


def test_every_portal_parameter_is_a_template_parameter_and_stage_is_not_one(sam_parameters):
    assert set(v.STAGE_PARAMETER_CHECKS) == set(sam_parameters) - {"Stage"}
    assert v.STAGE_NUMBER_PARAMETERS == {name for name, spec in sam_parameters.items() if spec["Type"] == "Number"}


def test_built_in_defaults_are_the_templates_defaults(sam_parameters):
    assert {name: str(value) for name, value in v.STAGE_PARAMETER_DEFAULTS.items()} == {
        name: str(sam_parameters[name]["Default"]) for name in v.STAGE_PARAMETER_CHECKS}


@pytest.mark.parametrize("stage", v.STAGES)
def test_defaults_come_from_the_sample_apps_configuration_files(stage):
    parameters = json.loads((SAMPLE_APP / "config" / f"{stage}.json").read_text(encoding="utf-8"))["Parameters"]
    defaults = stage_defaults(SAMPLE_APP / "config")[stage]
    # Every value the file gives is taken, typed as the API shows it.
    assert {name: str(value) for name, value in defaults.items()} == {
        name: parameters.get(name, str(v.STAGE_PARAMETER_DEFAULTS[name])) for name in v.STAGE_PARAMETER_CHECKS}
    assert isinstance(defaults["MemorySize"], int) and isinstance(defaults["LogRetentionInDays"], int)


@pytest.mark.parametrize("value", [*v.LOG_RETENTION_DAYS, *(str(days) for days in v.LOG_RETENTION_DAYS)])
def test_accepts_every_retention_the_template_allows(value):
    assert v.check_log_retention(value) == int(value)


def test_openapi_describes_the_same_parameters():
    stage = build_spec()["components"]["schemas"]["SetupCreate"]["properties"]["stage_parameters"]["properties"]
    for name in v.STAGES:
        properties = stage[name]["properties"]
        assert set(properties) == set(v.STAGE_PARAMETER_CHECKS)
        assert properties["LogRetentionInDays"] == {
            "type": "integer", "enum": list(v.LOG_RETENTION_DAYS),
            "description": "Days CloudWatch Logs keeps the function's logs."}
        assert (properties["MemorySize"]["minimum"], properties["MemorySize"]["maximum"]) == (128, 10240)
        assert {key for key, spec in properties.items() if spec["type"] == "integer"} == v.STAGE_NUMBER_PARAMETERS


def test_stored_values_win_over_defaults_and_missing_ones_are_filled(tmp_path):
    filled = with_defaults(OLD_STAGE_PARAMETERS, tmp_path)
    assert filled["production"] == {"LogLevel": "INFO", "Greeting": "Hi", "MemorySize": 256, "LogRetentionInDays": 30}
    assert with_defaults({}, tmp_path) == stage_defaults(tmp_path)


def test_wizard_offers_the_default_for_a_parameter_an_old_setup_lacks(client, auth, users, make_setup, setup_row):
    auth.login("operator")
    setup_id = make_setup(stage_parameters=OLD_STAGE_PARAMETERS)
    assert setup_row(setup_id).wizard_step == "application"

    values = form_values(client.get(f"/setups/{setup_id}/application").get_data(as_text=True))

    assert (values["staging-LogRetentionInDays"], values["production-Greeting"]) == ("30", "Hi")


def test_api_update_of_an_old_setup_fills_the_missing_parameter(client, app, users, make_setup, setup_row):
    setup_id = make_setup(stage_parameters=OLD_STAGE_PARAMETERS)
    with app.app_context():
        _, plaintext = tokens.create_token(get_session(), users["operator"], "test")
        get_session().commit()
    version = setup_row(setup_id).version

    response = client.patch(f"/api/v1/setups/{setup_id}", headers={"Authorization": f"Bearer {plaintext}"},
                            json={"version": version, "stage_parameters": {"staging": {"LogRetentionInDays": 7}}})

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "ready"
    assert body["stage_parameters"]["staging"]["LogRetentionInDays"] == 7
    assert body["stage_parameters"]["production"] == {**OLD_STAGE_PARAMETERS["production"], "LogRetentionInDays": 30}


def test_review_shows_each_stages_retention(client, auth, users, make_setup):
    auth.login("viewer")
    page = client.get(f"/setups/{make_setup()}/settings").get_data(as_text=True)
    assert "<th>Log retention (days)</th>" in page
    memory, retention = '<td data-label="Memory (MB)">', '<td data-label="Log retention (days)">'
    assert f"{memory}128</td>{retention}14</td>" in page and f"{memory}256</td>{retention}90</td>" in page
