"""A corpus of SAM templates (tests/emulator/sam_corpus/) deploys through change sets, as on AWS.

Each template covers shapes the SAM documentation describes: Globals, inline code, CodeUri in S3,
API events (implicit and explicit APIs), policy templates, conditions, schedule/SNS/SQS events.
Each is created with a change set, executed to CREATE_COMPLETE with exactly the resources its
change set listed, and deleted again; a few facts per template show the translation took effect.
"""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from tests.emulator.helpers import params

CORPUS = Path(__file__).with_name("sam_corpus")
TEMPLATES = sorted(CORPUS.glob("*.yaml"))


def code_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("bootstrap", b"#!/bin/sh\n")
    return buffer.getvalue()


def deploy(client, path: Path, stack: str, **parameters: str) -> dict[str, tuple[str, str]]:
    """Change set CREATE → execute → CREATE_COMPLETE; return logical id → (type, physical id)."""
    cfn = client("cloudformation")
    cfn.create_change_set(StackName=stack, ChangeSetName="corpus", ChangeSetType="CREATE",
                          TemplateBody=path.read_text(), Capabilities=["CAPABILITY_IAM"],
                          Parameters=params(**parameters))
    change_set = cfn.describe_change_set(StackName=stack, ChangeSetName="corpus")
    assert change_set["Status"] == "CREATE_COMPLETE", change_set.get("StatusReason")
    planned = {c["ResourceChange"]["LogicalResourceId"]: c["ResourceChange"]["ResourceType"]
               for c in change_set["Changes"]}

    cfn.execute_change_set(StackName=stack, ChangeSetName="corpus")

    described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    assert described["StackStatus"] == "CREATE_COMPLETE", described.get("StackStatusReason")
    resources = {r["LogicalResourceId"]: (r["ResourceType"], r["PhysicalResourceId"])
                 for r in cfn.list_stack_resources(StackName=stack)["StackResourceSummaries"]}
    assert {logical: kind for logical, (kind, _) in resources.items()} == planned
    assert all(r["ResourceStatus"] == "CREATE_COMPLETE"
               for r in cfn.list_stack_resources(StackName=stack)["StackResourceSummaries"])
    return resources


@pytest.fixture
def code_bucket(client):
    s3 = client("s3")
    s3.create_bucket(Bucket="sam-corpus-code")
    s3.put_object(Bucket="sam-corpus-code", Key="hello.zip", Body=code_zip())


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda path: path.stem)
def test_each_corpus_template_deploys_and_deletes(client, code_bucket, path):
    cfn = client("cloudformation")
    resources = deploy(client, path, f"corpus-{path.stem.replace('_', '-')}")
    assert any(kind == "AWS::Lambda::Function" for kind, _ in resources.values())

    cfn.delete_stack(StackName=f"corpus-{path.stem.replace('_', '-')}")

    assert client("lambda").list_functions()["Functions"] == []
    assert client("apigateway").get_rest_apis()["items"] == []


def function(client, resources, logical_id: str) -> dict:
    return client("lambda").get_function(FunctionName=resources[logical_id][1])["Configuration"]


def test_globals_apply_to_every_function_and_properties_override_them(client):
    resources = deploy(client, CORPUS / "globals.yaml", "globals")

    reader, writer = function(client, resources, "Reader"), function(client, resources, "Writer")
    assert (reader["Runtime"], reader["MemorySize"], reader["Timeout"]) == ("python3.12", 256, 5)
    assert (writer["MemorySize"], writer["Timeout"]) == (512, 30)
    assert reader["Environment"]["Variables"] == {"TABLE": "orders", "DEBUG": "false"}
    assert writer["Environment"]["Variables"] == {"TABLE": "orders", "DEBUG": "true", "QUEUE": "writes"}
    tags = client("lambda").list_tags(Resource=reader["FunctionArn"])["Tags"]
    assert tags == {"team": "payments", "lambda:createdBy": "SAM"}


def test_inline_code_functions_take_their_names_roles_and_architectures(client):
    resources = deploy(client, CORPUS / "inline_code.yaml", "inline")

    assert resources["NodeFunction"][1] == "corpus-node"
    assert "PythonFunctionRole" not in resources  # the template's own role is used
    node = function(client, resources, "NodeFunction")
    assert (node["Runtime"], node["Architectures"]) == ("nodejs20.x", ["arm64"])
    assert node["CodeSize"] > 0
    assert function(client, resources, "PythonFunction")["Role"].endswith(resources["PythonRole"][1])


def test_code_in_s3_is_the_object_the_template_names(client, code_bucket):
    resources = deploy(client, CORPUS / "codeuri_s3.yaml", "s3code")

    for logical_id in ("FromUri", "FromObject"):
        assert function(client, resources, logical_id)["CodeSize"] == len(code_zip())


def test_api_events_make_the_implicit_api_with_its_prod_stage(emulator, client):
    resources = deploy(client, CORPUS / "api_events.yaml", "implicit")

    api_id = resources["ServerlessRestApi"][1]
    apigw = client("apigateway")
    paths = {r["path"]: set(r.get("resourceMethods", {})) for r in apigw.get_resources(restApiId=api_id)["items"]}
    assert paths["/items"] == {"GET", "POST"}
    assert paths["/items/{id}"] == {"GET"}
    assert paths["/admin/{proxy+}"] == {"ANY"}
    # Without OpenApiVersion SAM's deployment also names a stage "Stage", as on AWS.
    assert sorted(s["stageName"] for s in apigw.get_stages(restApiId=api_id)["item"]) == ["Prod", "Stage"]
    stack = client("cloudformation").describe_stacks(StackName="implicit")["Stacks"][0]
    assert stack["Outputs"][0]["OutputValue"] == f"{emulator}/_emulator/execute-api/{api_id}/Prod/items"
    statements = json.loads(client("lambda").get_policy(FunctionName=resources["Items"][1])["Policy"])["Statement"]
    assert len(statements) == 4  # one permission per event


def test_an_explicit_api_has_its_stage_variables_tracing_and_cors(client):
    resources = deploy(client, CORPUS / "explicit_api.yaml", "explicit")

    apigw = client("apigateway")
    api_id = resources["Api"][1]
    stage = apigw.get_stage(restApiId=api_id, stageName="v1")
    assert (stage["variables"], stage["tracingEnabled"]) == ({"backend": "blue"}, True)
    paths = {r["path"]: set(r.get("resourceMethods", {})) for r in apigw.get_resources(restApiId=api_id)["items"]}
    assert paths["/things/{id}"] == {"GET", "PUT", "OPTIONS"}


def test_policy_templates_expand_into_the_generated_role(client):
    resources = deploy(client, CORPUS / "policy_templates.yaml", "policies")

    iam = client("iam")
    role = resources["WorkerRole"][1]
    attached = [p["PolicyName"] for p in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]]
    assert attached == ["AWSLambdaBasicExecutionRole"]
    inline = {name: iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
              for name in iam.list_role_policies(RoleName=role)["PolicyNames"]}
    actions = json.dumps(inline)
    for action in ("s3:GetObject", "sqs:SendMessage", "dynamodb:PutItem", "ssm:GetParameter"):
        assert action in actions
    assert resources["Uploads"][1] in actions
    assert resources["Orders"][0] == "AWS::DynamoDB::Table"
    assert function(client, resources, "Worker")["Environment"]["Variables"]["TABLE"] == resources["Orders"][1]


@pytest.mark.parametrize(("values", "memory", "audited"), [
    ({}, 128, False), ({"Environment": "prod", "WithAudit": "true"}, 1024, True)])
def test_conditions_decide_which_sam_resources_exist(client, values, memory, audited):
    resources = deploy(client, CORPUS / "conditions.yaml", "conditions", **values)

    handler = function(client, resources, "Handler")
    assert handler["MemorySize"] == memory
    assert handler["Environment"]["Variables"]["MODE"] == ("strict" if audited else "relaxed")
    assert ("Audit" in resources) is audited
    assert ("AuditNightly" in resources) is audited  # SAM puts the condition on what it generates


def test_schedule_sns_and_sqs_events_connect_their_sources(client):
    resources = deploy(client, CORPUS / "events.yaml", "events")

    kinds = {kind for kind, _ in resources.values()}
    assert {"AWS::Events::Rule", "AWS::SNS::Subscription", "AWS::Lambda::EventSourceMapping"} <= kinds
    arn = function(client, resources, "Consumer")["FunctionArn"]
    rule = client("events").describe_rule(Name=resources["ConsumerTick"][1])
    assert rule["ScheduleExpression"] == "cron(0 12 * * ? *)"
    assert [t["Arn"] for t in client("events").list_targets_by_rule(Rule=rule["Name"])["Targets"]] == [arn]
    subscriptions = client("sns").list_subscriptions()["Subscriptions"]
    assert [(s["Protocol"], s["Endpoint"]) for s in subscriptions] == [("lambda", arn)]
    mappings = client("lambda").list_event_source_mappings()["EventSourceMappings"]
    assert [(m["FunctionArn"], m["BatchSize"]) for m in mappings] == [(arn, 5)]
