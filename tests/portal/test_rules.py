"""Whole-setup validation shared by the wizard and the API: errors named after their fields."""
from __future__ import annotations

import pytest

from portal.setups import document_rules
from portal.setups.defaults import stage_defaults
from portal.deployments.preview import account_sharing, planned_stacks
from tests.portal.helpers import BUILD, PRODUCTION, STAGING, setup_values

CONNECTION = f"arn:aws:codestar-connections:eu-west-1:{BUILD}:connection/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"


def test_a_complete_document_is_valid():
    clean, errors = document_rules.validate_document(setup_values())
    assert errors == {}
    assert clean["access"][BUILD] == {"method": "assume_role", "role_name": "OrganizationAccountAccessRole",
                                      "external_id": ""}


@pytest.mark.parametrize("overrides, field, message", [
    ({"name": 42}, "name", "Must be a string."),
    ({"colour": "blue"}, "colour", "Unknown field."),
    ({"tags": ["a"]}, "tags", "Must be a JSON object of tag keys to string values."),
    ({"tags": {"a": 1}}, "tags", "Must be a JSON object of tag keys to string values."),
    ({"stage_parameters": []}, "stage_parameters", "Must be a JSON object."),
    ({"stage_parameters": {"staging": {"LogLevel": "INFO", "Greeting": "Hi", "MemorySize": 128,
                                       "LogRetentionInDays": 30}}},
     "stage_parameters.production", "This field is required."),
    ({"stage_parameters": {"staging": {"LogLevel": "INFO", "Greeting": "Hi", "MemorySize": 128}, "production": {}}},
     "stage_parameters.staging.LogRetentionInDays", "Choose a retention CloudWatch Logs offers: 1, 3, 5, 7, 14, 30, "
     "60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653 days."),
    ({"stage_parameters": {"staging": {"LogRetentionInDays": "30"}, "production": {}}},
     "stage_parameters.staging.LogRetentionInDays", "Must be a whole number."),
    ({"stage_parameters": {"staging": {"LogRetentionInDays": True}, "production": {}}},
     "stage_parameters.staging.LogRetentionInDays", "Must be a whole number."),
    ({"stage_parameters": {"staging": {"Stage": "production"}, "production": {}}},
     "stage_parameters.staging.Stage", "Unknown field."),
    ({"stage_parameters": {"qa": {}, "staging": {}, "production": {}}}, "stage_parameters.qa",
     "Unknown stage; the stages are staging, production."),
    ({"stage_parameters": {"staging": {"MemorySize": "256"}, "production": {}}},
     "stage_parameters.staging.MemorySize", "Must be a whole number."),
    ({"stage_parameters": {"staging": {"Colour": "red"}, "production": {}}},
     "stage_parameters.staging.Colour", "Unknown field."),
    ({"source_provider": "GitHub"}, "connection_arn", "A GitHub source needs the ARN of a CodeConnections connection."),
    ({"source_provider": "GitHub", "connection_arn": CONNECTION}, "full_repository_id",
     "A GitHub source needs the repository as owner/repo."),
    ({"access": {BUILD: {"method": "self_launch"}}}, f"access.{STAGING}", "Say how the portal reaches this account."),
    ({"access": {"999999999999": {"method": "self_launch"}}}, "access.999999999999",
     "This account is not one of the setup's accounts."),
    ({"access": {BUILD: {"method": "assume_role", "role_name": ""}, STAGING: {"method": "self_launch"},
                 PRODUCTION: {"method": "self_launch"}}}, f"access.{BUILD}.role_name",
     "Enter the role the portal assumes, e.g. OrganizationAccountAccessRole."),
    ({"access": {BUILD: {"method": "jump"}, STAGING: {"method": "self_launch"},
                 PRODUCTION: {"method": "self_launch"}}}, f"access.{BUILD}.method",
     "Choose how the portal reaches this account."),
    ({"access": {BUILD: {"method": "self_launch", "extra": 1}, STAGING: {"method": "self_launch"},
                 PRODUCTION: {"method": "self_launch"}}}, f"access.{BUILD}.extra", "Unknown field."),
])
def test_names_each_error_after_its_field(overrides, field, message):
    _, errors = document_rules.validate_document(setup_values(**overrides))
    assert message in errors[field]


def test_accepts_a_github_source_in_the_build_account_and_region():
    _, errors = document_rules.validate_document(setup_values(source_provider="GitHub", connection_arn=CONNECTION,
                                                     full_repository_id="octo-org/orders-api"))
    assert errors == {}


def test_drops_github_fields_for_a_codecommit_source():
    clean, errors = document_rules.validate_document(setup_values(connection_arn=CONNECTION, full_repository_id="a/b"))
    assert errors == {} and clean["connection_arn"] == "" and clean["full_repository_id"] == ""


def test_shared_accounts_need_one_access_entry_each():
    values = setup_values(staging_account_id=BUILD, production_account_id=BUILD)
    assert document_rules.distinct_accounts(values) == [BUILD]
    assert document_rules.validate_document(values)[1] == {}


@pytest.mark.parametrize("errors, step", [
    ({"region": ["x"]}, "accounts"), ({"name": ["x"], "access.1": ["y"]}, "application"),
    ({"stage_parameters.staging.Greeting": ["x"]}, "application"), ({"access.111111111111": ["x"]}, "access"),
    ({}, "review"),
])
def test_points_the_wizard_at_the_first_incomplete_step(errors, step):
    assert document_rules.first_incomplete_step(errors) == step


@pytest.mark.parametrize("build, staging, production, sentences", [
    ("1", "2", "2", ["Staging and production share account 2: one deploy stack serves both."]),
    ("1", "1", "2", ["Build and staging share account 1: the pipeline and the staging application live in the "
                     "same account."]),
    ("1", "1", "1", ["Build, staging and production share account 1: the pipeline and both stages live in one "
                     "account, and one deploy stack serves both stages."]),
    ("1", "2", "3", ["Build, staging and production are three separate accounts: each stage is isolated."]),
    ("1", "", "3", []),
])
def test_explains_what_shared_accounts_mean(build, staging, production, sentences):
    assert account_sharing(build, staging, production) == sentences


def test_plans_one_deploy_stack_per_distinct_deploy_account_then_the_pipeline():
    access = {BUILD: {"method": "assume_role", "role_name": "Admin"}, STAGING: {"method": "self_launch"}}
    stacks = planned_stacks("orders-api", BUILD, STAGING, STAGING, access)
    assert [(s.account_id, s.stack_name) for s in stacks] == [
        (STAGING, "orders-api-deploy-dependencies"), (BUILD, "orders-api-pipeline")]
    assert "staging and production" in stacks[0].purpose
    assert stacks[0].access == "the account's admin launches the stack from a quick-create link"
    assert stacks[1].access == "the portal assumes the role Admin"


def test_reads_stage_defaults_from_the_sample_apps_config(tmp_path):
    (tmp_path / "staging.json").write_text('{"Parameters": {"Stage": "staging", "LogLevel": "DEBUG", '
                                           '"MemorySize": "256", "LogRetentionInDays": "14", '
                                           '"Greeting": "' + "x" * 65 + '"}}')
    (tmp_path / "production.json").write_text("not json")
    defaults = stage_defaults(tmp_path)
    # Valid values are taken; the too-long greeting and the unreadable file fall back to the built-ins.
    assert defaults["staging"] == {"LogLevel": "DEBUG", "Greeting": "Hello", "MemorySize": 256,
                                   "LogRetentionInDays": 14}
    assert defaults["production"] == {"LogLevel": "INFO", "Greeting": "Hello", "MemorySize": 128,
                                      "LogRetentionInDays": 30}


def test_ignores_a_retention_cloudwatch_logs_does_not_offer(tmp_path):
    (tmp_path / "staging.json").write_text('{"Parameters": {"LogRetentionInDays": "13", "MemorySize": "64"}}')
    defaults = stage_defaults(tmp_path)
    assert (defaults["staging"]["LogRetentionInDays"], defaults["staging"]["MemorySize"]) == (30, 128)
