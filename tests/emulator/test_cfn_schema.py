"""Replacement and required properties come from the registry schemas, and a missing one is loud."""
from __future__ import annotations

import re

import pytest
from moto.cloudformation.parsing import get_model_map

from emulator.cfn import schema
from emulator.install import install
from tests.emulator.helpers import stack_events, template


@pytest.fixture
def fresh_schema_cache():
    schema.resource_schema.cache_clear()
    yield
    schema.resource_schema.cache_clear()


def test_every_resource_type_moto_models_has_a_registry_schema():
    install()
    # moto's placeholders for models without a CloudFormation type of their own.
    types = [t for t in get_model_map() if re.fullmatch(r"AWS::\w+::\w+", t) and t != "AWS::SERVICE::RESOURCE"]
    missing = []
    for resource_type in types:
        try:
            schema.resource_schema(resource_type)
        except schema.MissingSchemaError:
            missing.append(resource_type)

    assert len(types) > 100
    assert missing == []


@pytest.mark.parametrize("resource_type, replaces, in_place", [
    ("AWS::SNS::Topic", "TopicName", "DisplayName"),
    ("AWS::Logs::LogGroup", "LogGroupName", "RetentionInDays"),
    ("AWS::S3::Bucket", "BucketName", "VersioningConfiguration"),
    ("AWS::CodeCommit::Repository", None, "RepositoryName"),  # renamed in place, as UpdateRepositoryName
])
def test_create_only_properties_are_read_from_the_schema(resource_type, replaces, in_place):
    create_only = schema.create_only_properties(resource_type)

    if replaces is not None:
        assert replaces in create_only
    assert in_place not in create_only


def test_required_properties_are_read_from_the_schema():
    assert set(schema.required_properties("AWS::SNS::Subscription")) == {"Protocol", "TopicArn"}


def test_a_type_without_a_schema_is_a_missing_schema_error():
    with pytest.raises(schema.MissingSchemaError, match="no registry schema for AWS::Nope::Nope"):
        schema.create_only_properties("AWS::Nope::Nope")


def test_any_other_failure_of_cfn_lint_propagates(monkeypatch, fresh_schema_cache):
    # A changed cfn-lint API is not something the emulator can produce; stand it in.
    def broken(region, resource_type):
        raise AttributeError("'ProviderSchemaManager' object has no attribute 'get_resource_schema'")

    monkeypatch.setattr(schema.PROVIDER_SCHEMA_MANAGER, "get_resource_schema", broken)

    with pytest.raises(AttributeError):
        schema.create_only_properties("AWS::SNS::Topic")


def test_the_start_check_refuses_schemas_without_replacement_rules(monkeypatch, fresh_schema_cache):
    # A cfn-lint release whose schemas lost createOnlyProperties cannot be installed here; stand it in.
    real = schema.PROVIDER_SCHEMA_MANAGER.get_resource_schema

    def without_create_only(region, resource_type):
        found = real(region, resource_type)
        stripped = type("Stripped", (), {"schema": {k: v for k, v in found.schema.items()
                                                    if k != "createOnlyProperties"}})
        return stripped()

    monkeypatch.setattr(schema.PROVIDER_SCHEMA_MANAGER, "get_resource_schema", without_create_only)

    with pytest.raises(schema.SchemaUnavailableError, match="createOnlyProperties"):
        schema.check_available()


def test_an_update_the_schema_cannot_judge_fails_instead_of_updating_in_place(client, monkeypatch):
    # Every type moto models has a schema (tested above), so a missing one must be stood in.
    import emulator.cfn.provisioner as provisioner

    def no_schema(resource_type):
        raise schema.MissingSchemaError(resource_type)

    cfn = client("cloudformation")
    topic = {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "alerts"}}
    cfn.create_stack(StackName="app", TemplateBody=template({"Topic": topic}))
    monkeypatch.setattr(provisioner, "create_only_properties", no_schema)

    renamed = {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "alarms"}}
    cfn.update_stack(StackName="app", TemplateBody=template({"Topic": renamed}))

    failed = [e for e in stack_events(cfn, "app") if e["ResourceStatus"] == "UPDATE_FAILED"]
    assert [e["LogicalResourceId"] for e in failed] == ["Topic"]
    assert "no registry schema for AWS::SNS::Topic" in failed[0]["ResourceStatusReason"]
    assert cfn.describe_stacks(StackName="app")["Stacks"][0]["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert [t["TopicArn"].rsplit(":", 1)[-1] for t in client("sns").list_topics()["Topics"]] == ["alerts"]
