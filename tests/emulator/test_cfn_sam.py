"""The SAM transform: which requests run it, what GetTemplate shows, and the sample app deployed.

The sample application (``sample_app/template.yaml``) is packaged with the AWS CLI's
``cloudformation package`` and deployed with ``cloudformation deploy``, as its buildspec and the
pipeline do, and every resource its translation produces is checked in its own service.
"""
from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest
import yaml
from botocore.exceptions import ClientError

from tests.emulator.helpers import BUILD_ACCOUNT, STAGING_ACCOUNT, event_trail, outputs, params
from tests.emulator.test_awscli_deploy import aws

SAMPLE_APP = Path(__file__).resolve().parents[2] / "sample_app"
BOOTSTRAP = b"#!/bin/sh\necho built for arm64\n"
INLINE = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      InlineCode: "def handler(event, context):\\n    return 'hi'\\n"
"""
INLINE_CODE = INLINE.splitlines()[-1].strip()


def package_sample_app(emulator: str, tmp_path: Path, bucket: str = "artifacts") -> Path:
    """``aws cloudformation package`` of the sample app, its build/ holding a stand-in bootstrap."""
    app = tmp_path / "app"
    app.mkdir()
    shutil.copy(SAMPLE_APP / "template.yaml", app / "template.yaml")
    (app / "build").mkdir()
    (app / "build" / "bootstrap").write_bytes(BOOTSTRAP)
    packaged = app / "packaged.yaml"
    done = aws(emulator, tmp_path, "cloudformation", "package", "--template-file", str(app / "template.yaml"),
               "--s3-bucket", bucket, "--output-template-file", str(packaged))
    assert done.returncode == 0, done.stderr
    return packaged


def deploy(emulator: str, tmp_path: Path, packaged: Path, stack: str, *overrides: str) -> None:
    done = aws(emulator, tmp_path, "cloudformation", "deploy", "--template-file", str(packaged),
               "--stack-name", stack, "--capabilities", "CAPABILITY_IAM", "--parameter-overrides", *overrides)
    assert done.returncode == 0, done.stderr + done.stdout


def physical_ids(cfn, stack: str) -> dict[str, tuple[str, str]]:
    return {r["LogicalResourceId"]: (r["ResourceType"], r["PhysicalResourceId"])
            for r in cfn.list_stack_resources(StackName=stack)["StackResourceSummaries"]}


def zipped_files(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


# ---- which requests run a transform ----------------------------------------------------------
def test_create_and_update_stack_refuse_a_transform_without_auto_expand(client):
    cfn = client("cloudformation")

    with pytest.raises(ClientError) as caught:
        cfn.create_stack(StackName="fn", TemplateBody=INLINE, Capabilities=["CAPABILITY_IAM"])
    assert caught.value.response["Error"]["Code"] == "InsufficientCapabilitiesException"
    assert caught.value.response["Error"]["Message"] == "Requires capabilities : [CAPABILITY_AUTO_EXPAND]"
    assert cfn.list_stacks()["StackSummaries"] == []

    cfn.create_stack(StackName="fn", TemplateBody=INLINE, Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"])
    assert cfn.describe_stacks(StackName="fn")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    with pytest.raises(ClientError) as caught:
        cfn.update_stack(StackName="fn", TemplateBody=INLINE.replace("'hi'", "'ho'"), Capabilities=["CAPABILITY_IAM"])
    assert caught.value.response["Error"]["Message"] == "Requires capabilities : [CAPABILITY_AUTO_EXPAND]"


def test_a_processed_template_still_needs_its_iam_capability(client):
    cfn = client("cloudformation")

    with pytest.raises(ClientError) as caught:
        cfn.create_stack(StackName="fn", TemplateBody=INLINE, Capabilities=["CAPABILITY_AUTO_EXPAND"])
    assert caught.value.response["Error"]["Message"] == "Requires capabilities : [CAPABILITY_IAM]"


def test_a_change_set_processes_the_transform_without_auto_expand(client):
    cfn = client("cloudformation")

    cfn.create_change_set(StackName="fn", ChangeSetName="first", ChangeSetType="CREATE", TemplateBody=INLINE,
                          Capabilities=["CAPABILITY_IAM"])

    change_set = cfn.describe_change_set(StackName="fn", ChangeSetName="first")
    assert change_set["Status"] == "CREATE_COMPLETE"
    assert [(c["ResourceChange"]["Action"], c["ResourceChange"]["LogicalResourceId"],
             c["ResourceChange"]["ResourceType"]) for c in change_set["Changes"]] == [
        ("Add", "FnRole", "AWS::IAM::Role"), ("Add", "Fn", "AWS::Lambda::Function")]
    cfn.execute_change_set(StackName="fn", ChangeSetName="first")
    assert cfn.describe_stacks(StackName="fn")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    name = physical_ids(cfn, "fn")["Fn"][1]
    code = client("lambda").get_function(FunctionName=name)
    assert code["Configuration"]["Runtime"] == "python3.12"
    assert code["Tags"] == {"lambda:createdBy": "SAM"}


@pytest.mark.parametrize(("template", "capabilities", "reason"), [
    (INLINE, [], "Requires capabilities : [CAPABILITY_IAM]"),
    (INLINE.replace(INLINE_CODE, "CodeUri: build/"), ["CAPABILITY_IAM"],
     "Transform AWS::Serverless-2016-10-31 failed with: Invalid Serverless Application Specification "
     "document. Number of errors found: 1. Resource with id [Fn] is invalid. 'CodeUri' is not a valid S3 Uri "
     "of the form 's3://bucket/key' with optional versionId query parameter."),
])
def test_what_is_wrong_with_a_transformed_template_fails_the_change_set(client, template, capabilities, reason):
    cfn = client("cloudformation")

    cfn.create_change_set(StackName="fn", ChangeSetName="first", ChangeSetType="CREATE", TemplateBody=template,
                          Capabilities=capabilities)

    change_set = cfn.describe_change_set(StackName="fn", ChangeSetName="first")
    assert (change_set["Status"], change_set["ExecutionStatus"]) == ("FAILED", "UNAVAILABLE")
    assert change_set["StatusReason"] == reason
    assert cfn.describe_stacks(StackName="fn")["Stacks"][0]["StackStatus"] == "REVIEW_IN_PROGRESS"
    with pytest.raises(ClientError) as caught:
        cfn.execute_change_set(StackName="fn", ChangeSetName="first")
    assert caught.value.response["Error"]["Code"] == "InvalidChangeSetStatus"
    assert cfn.get_template(StackName="fn", ChangeSetName="first")["StagesAvailable"] == ["Original"]


def test_a_parameter_a_transformed_template_refuses_fails_the_change_set(client):
    cfn = client("cloudformation")
    template = INLINE.replace("Resources:", "Parameters:\n  Stage:\n    Type: String\n"
                              "    AllowedValues: [staging, production]\nResources:")

    cfn.create_change_set(StackName="fn", ChangeSetName="first", ChangeSetType="CREATE", TemplateBody=template,
                          Capabilities=["CAPABILITY_IAM"], Parameters=params(Stage="dev"))

    change_set = cfn.describe_change_set(StackName="fn", ChangeSetName="first")
    assert (change_set["Status"], change_set["StatusReason"]) == (
        "FAILED", "Parameter 'Stage' must be one of AllowedValues")


def test_get_template_shows_the_original_and_the_processed_template(client):
    cfn = client("cloudformation")
    cfn.create_change_set(StackName="fn", ChangeSetName="first", ChangeSetType="CREATE", TemplateBody=INLINE,
                          Capabilities=["CAPABILITY_IAM"])

    for where in ({"ChangeSetName": "first"}, {}):
        if not where:
            cfn.execute_change_set(StackName="fn", ChangeSetName="first")
        original = cfn.get_template(StackName="fn", TemplateStage="Original", **where)
        processed = cfn.get_template(StackName="fn", TemplateStage="Processed", **where)
        default = cfn.get_template(StackName="fn", **where)
        assert original["TemplateBody"] == INLINE
        assert original["StagesAvailable"] == ["Original", "Processed"]
        assert "Transform" not in processed["TemplateBody"]
        assert processed["TemplateBody"]["Resources"]["Fn"]["Type"] == "AWS::Lambda::Function"
        assert default["TemplateBody"] == processed["TemplateBody"]


def test_use_previous_template_runs_the_transform_again(client):
    cfn = client("cloudformation")
    template = INLINE.replace("Resources:", "Parameters:\n  Memory:\n    Type: Number\nResources:").replace(
        "Handler: index.handler", "Handler: index.handler\n      MemorySize: !Ref Memory")
    capabilities = ["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"]
    cfn.create_stack(StackName="fn", TemplateBody=template, Capabilities=capabilities, Parameters=params(Memory="128"))

    cfn.update_stack(StackName="fn", UsePreviousTemplate=True, Capabilities=capabilities,
                     Parameters=params(Memory="256"))

    assert cfn.describe_stacks(StackName="fn")["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"
    name = physical_ids(cfn, "fn")["Fn"][1]
    assert client("lambda").get_function(FunctionName=name)["Configuration"]["MemorySize"] == 256
    assert cfn.get_template(StackName="fn", TemplateStage="Original")["TemplateBody"] == template


# ---- the sample application --------------------------------------------------------------------
def test_sample_app_packaged_and_deployed_creates_every_resource_it_declares(emulator, client, tmp_path):
    client("s3").create_bucket(Bucket="artifacts")
    packaged = package_sample_app(emulator, tmp_path)
    code_uri = yaml.safe_load(packaged.read_text().replace("!", ""))["Resources"]["HelloFunction"]["Properties"]["CodeUri"]
    assert code_uri.startswith("s3://artifacts/")

    deploy(emulator, tmp_path, packaged, "APP-staging", "Stage=staging", "Greeting=Howdy")

    cfn = client("cloudformation")
    stack = cfn.describe_stacks(StackName="APP-staging")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    resources = physical_ids(cfn, "APP-staging")
    assert {logical: kind for logical, (kind, _) in resources.items()} == {
        "HelloFunctionLogGroup": "AWS::Logs::LogGroup", "HelloFunctionRole": "AWS::IAM::Role",
        "HelloFunction": "AWS::Lambda::Function", "HelloApi": "AWS::ApiGateway::RestApi",
        "HelloFunctionHelloPermissionStage": "AWS::Lambda::Permission",
        next(r for r in resources if r.startswith("HelloApiDeployment")): "AWS::ApiGateway::Deployment",
        "HelloApiStage": "AWS::ApiGateway::Stage",
    }
    for logical, (kind, _) in resources.items():
        assert [s for lid, s in event_trail(cfn, "APP-staging") if lid == logical] == [
            "CREATE_IN_PROGRESS", "CREATE_IN_PROGRESS", "CREATE_COMPLETE"], logical

    function_name = resources["HelloFunction"][1]
    assert function_name.startswith("APP-staging-HelloFunction-")
    function = client("lambda").get_function(FunctionName=function_name)
    configuration = function["Configuration"]
    assert (configuration["Runtime"], configuration["Handler"], configuration["Architectures"],
            configuration["MemorySize"], configuration["Timeout"]) == ("provided.al2023", "bootstrap", ["arm64"], 128, 10)
    assert configuration["Environment"]["Variables"] == {"STAGE": "staging", "GREETING": "Howdy", "LOG_LEVEL": "INFO"}
    assert configuration["LoggingConfig"] == {"LogFormat": "JSON", "LogGroup": "/aws/lambda/APP-staging-hello"}
    assert configuration["Role"] == client("iam").get_role(RoleName=resources["HelloFunctionRole"][1])["Role"]["Arn"]
    assert zipped_files(client("s3").get_object(Bucket="artifacts", Key=code_uri.split("/", 3)[3])["Body"].read()) \
        == {"bootstrap": BOOTSTRAP}
    assert [p["PolicyName"] for p in client("iam").list_attached_role_policies(
        RoleName=resources["HelloFunctionRole"][1])["AttachedPolicies"]] == ["AWSLambdaBasicExecutionRole"]
    group = client("logs").describe_log_groups(logGroupNamePrefix="/aws/lambda/APP-staging-hello")["logGroups"]
    assert [(g["logGroupName"], g["retentionInDays"]) for g in group] == [("/aws/lambda/APP-staging-hello", 30)]

    apigw = client("apigateway")
    api_id = resources["HelloApi"][1]
    assert apigw.get_rest_api(restApiId=api_id)["name"] == "APP-staging"
    methods = {r["path"]: set(r.get("resourceMethods", {})) for r in apigw.get_resources(restApiId=api_id)["items"]}
    assert methods == {"/": set(), "/hello": {"GET"}}
    hello = next(r["id"] for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == "/hello")
    integration = apigw.get_integration(restApiId=api_id, resourceId=hello, httpMethod="GET")
    assert integration["type"] == "AWS_PROXY"
    assert configuration["FunctionArn"] in integration["uri"]
    stage = apigw.get_stage(restApiId=api_id, stageName="staging")
    assert stage["deploymentId"] == resources[next(r for r in resources if r.startswith("HelloApiDeployment"))][1]
    assert stage["methodSettings"]["*/*"]["throttlingBurstLimit"] == 50
    policy = json.loads(client("lambda").get_policy(FunctionName=function_name)["Policy"])
    assert [(s["Principal"], s["Action"]) for s in policy["Statement"]] == [
        ({"Service": "apigateway.amazonaws.com"}, "lambda:InvokeFunction")]
    assert policy["Statement"][0]["Condition"]["ArnLike"]["AWS:SourceArn"] == \
        f"arn:aws:execute-api:us-east-1:123456789012:{api_id}/*/GET/hello"

    assert outputs(stack) == {
        "ApiUrl": f"{emulator}/_emulator/execute-api/{api_id}/staging/hello",
        "FunctionArn": configuration["FunctionArn"], "LogGroupName": "/aws/lambda/APP-staging-hello"}


def test_sample_app_updates_in_place_and_replaces_what_aws_replaces(emulator, client, tmp_path):
    client("s3").create_bucket(Bucket="artifacts")
    packaged = package_sample_app(emulator, tmp_path)
    deploy(emulator, tmp_path, packaged, "APP-staging", "Stage=staging")
    cfn = client("cloudformation")
    before = physical_ids(cfn, "APP-staging")

    deploy(emulator, tmp_path, packaged, "APP-staging", "Stage=staging", "Greeting=Bonjour", "LogRetentionInDays=7")

    after = physical_ids(cfn, "APP-staging")
    assert after == before  # same function, same group: updated in place
    trail = event_trail(cfn, "APP-staging")
    updated = trail[trail.index(("APP-staging", "UPDATE_IN_PROGRESS")):]
    assert [e for e in updated if e[0] != "APP-staging"] == [
        ("HelloFunctionLogGroup", "UPDATE_IN_PROGRESS"), ("HelloFunctionLogGroup", "UPDATE_COMPLETE"),
        ("HelloFunction", "UPDATE_IN_PROGRESS"), ("HelloFunction", "UPDATE_COMPLETE")]
    variables = client("lambda").get_function(FunctionName=after["HelloFunction"][1])["Configuration"]["Environment"]
    assert variables["Variables"]["GREETING"] == "Bonjour"
    group = client("logs").describe_log_groups(logGroupNamePrefix="/aws/lambda/APP-staging-hello")["logGroups"][0]
    assert group["retentionInDays"] == 7

    # A new Stage names a new API stage: StageName is create-only, so the stage is replaced.
    deploy(emulator, tmp_path, packaged, "APP-staging", "Stage=production")

    replaced = physical_ids(cfn, "APP-staging")
    assert replaced["HelloApiStage"][1] == "production"
    assert replaced["HelloApi"] == before["HelloApi"]
    api_id = replaced["HelloApi"][1]
    assert [s["stageName"] for s in client("apigateway").get_stages(restApiId=api_id)["item"]] == ["production"]
    trail = event_trail(cfn, "APP-staging")
    last = trail[len(trail) - trail[::-1].index(("APP-staging", "UPDATE_IN_PROGRESS")) - 1:]
    assert ("HelloApiStage", "DELETE_COMPLETE") in last
    assert last[-1] == ("APP-staging", "UPDATE_COMPLETE")
    assert outputs(cfn.describe_stacks(StackName="APP-staging")["Stacks"][0])["ApiUrl"] == \
        f"{emulator}/_emulator/execute-api/{api_id}/production/hello"


def test_sample_app_deploys_into_another_account_with_its_code_in_the_build_account(emulator, client, tmp_path):
    build_s3 = client("s3", account=BUILD_ACCOUNT)
    build_s3.create_bucket(Bucket="build-artifacts")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("bootstrap", BOOTSTRAP)
    build_s3.put_object(Bucket="build-artifacts", Key="hello.zip", Body=buffer.getvalue())
    template = (SAMPLE_APP / "template.yaml").read_text().replace("CodeUri: build/", "CodeUri: s3://build-artifacts/hello.zip")
    cfn = client("cloudformation", account=STAGING_ACCOUNT)

    cfn.create_change_set(StackName="APP-staging", ChangeSetName="deploy", ChangeSetType="CREATE",
                          TemplateBody=template, Parameters=params(Stage="staging"),
                          Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"])
    cfn.execute_change_set(StackName="APP-staging", ChangeSetName="deploy")

    stack = cfn.describe_stacks(StackName="APP-staging")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    function_arn = outputs(stack)["FunctionArn"]
    assert function_arn.startswith(f"arn:aws:lambda:us-east-1:{STAGING_ACCOUNT}:function:APP-staging-HelloFunction-")
    location = client("lambda", account=STAGING_ACCOUNT).get_function(FunctionName=function_arn)
    assert location["Configuration"]["CodeSize"] == len(buffer.getvalue())


def test_a_function_whose_code_object_is_missing_fails_with_lambda_s_message(client):
    client("s3").create_bucket(Bucket="artifacts")
    cfn = client("cloudformation")
    template = INLINE.replace(INLINE_CODE, "CodeUri: s3://artifacts/missing.zip")

    cfn.create_stack(StackName="fn", TemplateBody=template, Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"])

    events = {(e["LogicalResourceId"], e["ResourceStatus"]): e.get("ResourceStatusReason")
              for e in cfn.describe_stack_events(StackName="fn")["StackEvents"]}
    assert events[("Fn", "CREATE_FAILED")] == (
        'Resource handler returned message: "Error occurred while GetObject. S3 Error Code: NoSuchKey. '
        'S3 Error Message: The specified key does not exist."')
    assert cfn.describe_stacks(StackName="fn")["Stacks"][0]["StackStatus"] == "ROLLBACK_COMPLETE"


API = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: live
      OpenApiVersion: "3.0.1"
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      CodeUri: s3://artifacts/v1.zip
      Events:
        Hello:
          Type: Api
          Properties: {RestApiId: !Ref Api, Path: /hello, Method: get}
"""


def test_a_new_route_and_new_code_update_the_api_and_function_in_place(client):
    s3 = client("s3")
    s3.create_bucket(Bucket="artifacts")
    for version in ("v1", "v2"):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("index.py", f"def handler(event, context):\n    return '{version}'\n")
        s3.put_object(Bucket="artifacts", Key=f"{version}.zip", Body=buffer.getvalue())
    cfn = client("cloudformation")
    capabilities = ["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"]
    cfn.create_stack(StackName="api", TemplateBody=API, Capabilities=capabilities)
    before = physical_ids(cfn, "api")
    sha = client("lambda").get_function(FunctionName=before["Fn"][1])["Configuration"]["CodeSha256"]
    changed = API.replace("s3://artifacts/v1.zip", "s3://artifacts/v2.zip") + """\
        Bye:
          Type: Api
          Properties: {RestApiId: !Ref Api, Path: /bye, Method: post}
"""

    cfn.update_stack(StackName="api", TemplateBody=changed, Capabilities=capabilities)

    assert cfn.describe_stacks(StackName="api")["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"
    after = physical_ids(cfn, "api")
    assert (after["Api"], after["Fn"], after["ApiliveStage"]) == (before["Api"], before["Fn"], before["ApiliveStage"])
    old_deployment = next(k for k in before if k.startswith("ApiDeployment"))
    new_deployment = next(k for k in after if k.startswith("ApiDeployment"))
    assert new_deployment != old_deployment  # SAM names a deployment after its API's definition
    apigw = client("apigateway")
    api_id = after["Api"][1]
    assert {r["path"] for r in apigw.get_resources(restApiId=api_id)["items"]} == {"/", "/hello", "/bye"}
    assert apigw.get_stage(restApiId=api_id, stageName="live")["deploymentId"] == after[new_deployment][1]
    assert [d["id"] for d in apigw.get_deployments(restApiId=api_id)["items"]] == [after[new_deployment][1]]
    assert client("lambda").get_function(FunctionName=after["Fn"][1])["Configuration"]["CodeSha256"] != sha
    trail = event_trail(cfn, "api")
    update = trail[trail.index(("api", "UPDATE_IN_PROGRESS")):]
    assert (old_deployment, "DELETE_COMPLETE") in update
    assert update.index((new_deployment, "CREATE_COMPLETE")) < update.index(("ApiliveStage", "UPDATE_COMPLETE")) \
        < update.index(("api", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")) < update.index((old_deployment, "DELETE_COMPLETE"))
