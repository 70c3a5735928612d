"""Helpers for the emulator tests that are not fixtures."""
from __future__ import annotations

import copy
import datetime
import json
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from emulator.client import control  # noqa: F401  (tests import it from here)
from tests.accounts import BUILD, DEFAULT_ACCOUNT, PRODUCTION, STAGING  # noqa: F401 - tests import them from here
from tests.waiting import wait_for

REGION = "us-east-1"
BUILD_ACCOUNT, STAGING_ACCOUNT, PRODUCTION_ACCOUNT = BUILD, STAGING, PRODUCTION
TEMPLATES = Path(__file__).resolve().parents[2] / "templates_cfn"
DUMMY = "testing"
ACCESS_ROLE = "emulator-test-access"


def make_client(endpoint: str, service: str, credentials: dict[str, str] | None = None,
                retries: int = 0, **config: Any) -> Any:
    """A boto3 client against the emulator; retries off unless asked, so tests see raw errors."""
    creds = credentials or {"aws_access_key_id": DUMMY, "aws_secret_access_key": DUMMY}
    return boto3.client(
        service, endpoint_url=endpoint, region_name=REGION,
        config=Config(retries={"total_max_attempts": retries + 1, "mode": "standard"}, **config), **creds,
    )


def account_credentials(endpoint: str, account_id: str) -> dict[str, str]:
    """Credentials acting in ``account_id``: create a role there trusting the default account, assume it.

    moto picks the account from the access key, so only AssumeRole credentials act elsewhere;
    the role is created through moto's ``x-moto-account-id`` header, the one way in first.
    """
    iam = make_client(endpoint, "iam")

    def in_account(request: Any, **_: Any) -> None:
        request.headers["x-moto-account-id"] = account_id

    iam.meta.events.register("before-sign.iam.*", in_account)
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                       "Principal": {"AWS": f"arn:aws:iam::{DEFAULT_ACCOUNT}:root"}}],
    }
    try:
        iam.create_role(RoleName=ACCESS_ROLE, AssumeRolePolicyDocument=json.dumps(trust))
    except iam.exceptions.EntityAlreadyExistsException:
        pass
    sts = make_client(endpoint, "sts")
    creds = sts.assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/{ACCESS_ROLE}", RoleSessionName="emulator-tests"
    )["Credentials"]
    return {
        "aws_access_key_id": creds["AccessKeyId"],
        "aws_secret_access_key": creds["SecretAccessKey"],
        "aws_session_token": creds["SessionToken"],
    }


# ---- response shapes -------------------------------------------------------------------
def shape_errors(value: Any, shape: Any, path: str = "$") -> list[str]:
    """Ways a parsed botocore value breaks its model shape (empty when it conforms).

    botocore's parsers accept almost anything; this checks what they skip: required
    members, member names, Python types per shape type, enum values, parsed timestamps.
    """
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{path}: expected structure {shape.name}, got {type(value).__name__}"]
        errors = [f"{path}: missing required member {name}"
                  for name in shape.required_members if name not in value]
        for key, item in value.items():
            if key not in shape.members:
                errors.append(f"{path}: unknown member {key} for {shape.name}")
            else:
                errors += shape_errors(item, shape.members[key], f"{path}.{key}")
        return errors
    if kind == "list":
        if not isinstance(value, list):
            return [f"{path}: expected list, got {type(value).__name__}"]
        return [e for i, item in enumerate(value) for e in shape_errors(item, shape.member, f"{path}[{i}]")]
    if kind == "map":
        if not isinstance(value, dict):
            return [f"{path}: expected map, got {type(value).__name__}"]
        return [e for k, v in value.items()
                for e in shape_errors(k, shape.key, f"{path}<key>") + shape_errors(v, shape.value, f"{path}[{k}]")]
    expected = {
        "string": str, "boolean": bool, "integer": int, "long": int, "float": (int, float),
        "double": (int, float), "timestamp": datetime.datetime, "blob": (bytes, bytearray),
    }.get(kind)
    if expected is None:
        return []
    if not isinstance(value, expected) or (kind in ("integer", "long") and isinstance(value, bool)):
        return [f"{path}: expected {kind}, got {type(value).__name__} {value!r}"]
    if kind == "string" and shape.enum and value not in shape.enum:
        return [f"{path}: {value!r} is not one of {shape.name}'s values {shape.enum}"]
    return []


# Members botocore itself rewrites after parsing (documented customizations), so not model-typed.
POST_PARSED = {("cloudformation", "GetTemplate"): {"TemplateBody"}}  # JSON bodies become dicts


def _stack_event_errors(client: Any, body: dict[str, Any]) -> list[str]:
    """Check, then set aside, the status of a stack's own events.

    AWS reports a stack's own events (ResourceType AWS::CloudFormation::Stack) with StackStatus
    values such as REVIEW_IN_PROGRESS or UPDATE_COMPLETE_CLEANUP_IN_PROGRESS, which the
    model's ResourceStatus enum lacks; they are checked against StackStatus instead.
    """
    stack_statuses = client.meta.service_model.shape_for("StackStatus").enum
    errors = []
    for index, event in enumerate(body.get("StackEvents", [])):
        if event.get("ResourceType") == "AWS::CloudFormation::Stack":
            status = event.pop("ResourceStatus", None)
            if status not in stack_statuses:
                errors.append(f"$.StackEvents[{index}].ResourceStatus: {status!r} is not a StackStatus")
    return errors


def assert_valid_response(client: Any, operation: str, response: dict[str, Any]) -> None:
    """Assert that a boto3 response of ``operation`` conforms to the service model's output shape."""
    model = client.meta.service_model
    output = model.operation_model(operation).output_shape
    skipped = POST_PARSED.get((model.service_name, operation), set()) | {"ResponseMetadata"}
    body = copy.deepcopy({k: v for k, v in response.items() if k not in skipped})
    errors = _stack_event_errors(client, body) if operation == "DescribeStackEvents" else []
    errors += shape_errors(body, output) if output is not None else []
    assert not errors, f"{operation} response breaks the model:\n" + "\n".join(errors)


# ---- CloudFormation --------------------------------------------------------------------
def template(resources: dict[str, Any], outputs: dict[str, Any] | None = None,
             parameters: dict[str, Any] | None = None) -> str:
    """A JSON template body from its sections."""
    body: dict[str, Any] = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources}
    if outputs:
        body["Outputs"] = outputs
    if parameters:
        body["Parameters"] = parameters
    return json.dumps(body)


def stack_events(cfn: Any, stack_name: str) -> list[dict[str, Any]]:
    """All visible events of a stack, oldest first."""
    events = cfn.describe_stack_events(StackName=stack_name)["StackEvents"]
    return list(reversed(events))


def event_trail(cfn: Any, stack_name: str) -> list[tuple[str, str]]:
    """(LogicalResourceId, ResourceStatus) of every visible event, oldest first."""
    return [(e["LogicalResourceId"], e["ResourceStatus"]) for e in stack_events(cfn, stack_name)]


def wait_for_status(cfn: Any, stack_name: str, statuses: set[str], timeout: float = 20.0) -> dict[str, Any]:
    """Poll DescribeStacks until the stack reaches one of ``statuses``; return the stack."""
    seen: list[str] = []

    def reached() -> dict[str, Any] | None:
        stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
        seen.append(stack["StackStatus"])
        return stack if stack["StackStatus"] in statuses else None

    return wait_for(reached, timeout, f"{stack_name} to reach {sorted(statuses)}",
                    output=lambda: f"it is still {seen[-1]}")


def outputs(stack: dict[str, Any]) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def params(**values: str) -> list[dict[str, str]]:
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()]


def deploy_repository_templates(client: Any, app: str = "orders-api", **pipeline_parameters: str
                                ) -> tuple[dict[str, dict[str, str]], dict[str, Any]]:
    """deploy-dependencies.yaml into the staging and production accounts, then build-pipeline.yaml
    into the build account (docs/contracts.md); return each deploy stack's outputs by account and
    the pipeline stack. ``client`` is the ``client`` fixture; ``pipeline_parameters`` are more of
    build-pipeline.yaml's parameters (e.g. StagingParameterOverrides).
    """
    roles = {}
    for account in (STAGING_ACCOUNT, PRODUCTION_ACCOUNT):
        cfn = client("cloudformation", account=account)
        cfn.create_stack(StackName=f"{app}-deploy-dependencies",
                         TemplateBody=(TEMPLATES / "deploy-dependencies.yaml").read_text(),
                         Parameters=params(ApplicationName=app, BuildAccountId=BUILD_ACCOUNT),
                         Capabilities=["CAPABILITY_NAMED_IAM"])
        stack = cfn.describe_stacks(StackName=f"{app}-deploy-dependencies")["Stacks"][0]
        assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
        roles[account] = outputs(stack)
    build = client("cloudformation", account=BUILD_ACCOUNT)
    build.create_stack(StackName=f"{app}-pipeline", Capabilities=["CAPABILITY_NAMED_IAM"],
                       TemplateBody=(TEMPLATES / "build-pipeline.yaml").read_text(), Parameters=params(
                           ApplicationName=app, StagingAccountId=STAGING_ACCOUNT,
                           ProductionAccountId=PRODUCTION_ACCOUNT, ApprovalEmail="approver@example.com",
                           PortalUrl="https://portal.example.com",
                           StagingDeployRoleArn=roles[STAGING_ACCOUNT]["DeployRoleArn"],
                           StagingExecutionRoleArn=roles[STAGING_ACCOUNT]["CloudFormationExecutionRoleArn"],
                           ProductionDeployRoleArn=roles[PRODUCTION_ACCOUNT]["DeployRoleArn"],
                           ProductionExecutionRoleArn=roles[PRODUCTION_ACCOUNT]["CloudFormationExecutionRoleArn"],
                           **pipeline_parameters))
    return roles, build.describe_stacks(StackName=f"{app}-pipeline")["Stacks"][0]
