"""API endpoints answer by running the function's real code (issue 8, "The application answers").

The sample app's real ``bootstrap`` (Go, linux/arm64, from ``make build``) runs as a process that
speaks the Lambda Runtime API to the emulator, under qemu-user on an x86_64 host; a REST API's
Lambda proxy integration turns HTTP requests into its events and its answers into responses.
"""
from __future__ import annotations

import json
import time

import pytest
import requests
from moto.awslambda.models import lambda_backends

from emulator.lambda_runtime import pool
from emulator.lambda_runtime.environment import EnvironmentClosed
from tests.accounts import DEFAULT_ACCOUNT
from tests.emulator.helpers import REGION
from tests.emulator.lambda_helpers import bootstrap_zip, build_sample_app, deploy, script_runtime
from tests.waiting import wait_for

INTERNAL_ERROR = {"message": "Internal server error"}


@pytest.fixture(scope="session")
def sample_app_zip(tmp_path_factory) -> bytes:
    return bootstrap_zip(build_sample_app(tmp_path_factory.mktemp("lambda-sample-app")))


def _starts(name: str) -> int:
    environment = pool.environment_of(DEFAULT_ACCOUNT, REGION, name)
    return environment.starts if environment is not None else 0


@pytest.mark.slow
def test_the_endpoint_answers_with_the_function_s_greeting_and_stage(emulator, client, sample_app_zip):
    endpoint = deploy(emulator, client, sample_app_zip, variables={"STAGE": "staging", "GREETING": "Hej"})

    answer = endpoint.get("/hello", params={"name": "Ada"})

    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"] == "application/json; charset=utf-8"
    assert answer.headers["x-amzn-RequestId"]
    body = answer.json()
    assert (body["message"], body["stage"], body["path"]) == ("Hej, Ada!", "staging", "/hello")
    assert body["requestId"] == answer.headers["x-amzn-RequestId"]  # the event's requestContext.requestId


@pytest.mark.slow
def test_the_aws_host_name_reaches_the_same_api(emulator, client, sample_app_zip):
    endpoint = deploy(emulator, client, sample_app_zip, stage="production",
                      variables={"STAGE": "production", "GREETING": "Hello"})

    answer = requests.get(
        f"{emulator}/production/hello",
        headers={"Host": f"{endpoint.api_id}.execute-api.{REGION}.amazonaws.com"}, timeout=60)

    assert answer.status_code == 200, answer.text
    assert answer.json()["message"] == "Hello, World!"
    assert answer.json()["stage"] == "production"


@pytest.mark.slow
def test_one_warm_process_serves_every_request_until_the_configuration_changes(emulator, client, sample_app_zip):
    endpoint = deploy(emulator, client, sample_app_zip)
    assert [endpoint.get().json()["message"] for _ in range(3)] == ["Hello, World!"] * 3
    assert _starts(endpoint.function_name) == 1

    client("lambda").update_function_configuration(
        FunctionName=endpoint.function_name, Environment={"Variables": {"STAGE": "staging", "GREETING": "Howdy"}})

    assert endpoint.get().json()["message"] == "Howdy, World!"
    assert _starts(endpoint.function_name) == 1  # a new environment, started once
    environment = pool.environment_of(DEFAULT_ACCOUNT, REGION, endpoint.function_name)
    assert environment.config.variables["GREETING"] == "Howdy"


@pytest.mark.slow
def test_the_function_s_own_client_errors_pass_through(emulator, client, sample_app_zip):
    endpoint = deploy(emulator, client, sample_app_zip)

    answer = endpoint.get("/hello", params={"nmae": "typo"})

    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_parameter"


@pytest.mark.slow
def test_a_function_that_cannot_start_answers_502_as_api_gateway_does(emulator, client, sample_app_zip):
    # STAGE outside staging/production: the bootstrap reports an init error and exits.
    endpoint = deploy(emulator, client, sample_app_zip, variables={"STAGE": "qa"})

    answer = endpoint.get()

    assert answer.status_code == 502
    assert answer.json() == INTERNAL_ERROR
    assert answer.headers["x-amzn-ErrorType"] == "InternalServerErrorException"


@pytest.mark.slow
def test_a_binary_for_another_cpu_than_the_function_s_fails_as_on_lambda(emulator, client, sample_app_zip):
    endpoint = deploy(emulator, client, sample_app_zip, architecture="x86_64")

    answer = endpoint.get()

    assert (answer.status_code, answer.json()) == (502, INTERNAL_ERROR)


def test_a_runtime_that_exits_during_an_event_answers_502_and_the_next_event_starts_afresh(emulator, client):
    endpoint = deploy(emulator, client, script_runtime("next_event()\nsys.exit(3)"))

    first, second = endpoint.get(), endpoint.get()

    assert (first.status_code, first.json()) == (502, INTERNAL_ERROR)
    assert second.status_code == 502
    assert _starts(endpoint.function_name) == 2


def test_an_event_that_outlives_the_timeout_fails_and_the_environment_is_replaced(emulator, client):
    endpoint = deploy(emulator, client, timeout=1, code=script_runtime("next_event()\ntime.sleep(30)"))

    started = time.monotonic()
    answer = endpoint.get()
    took = time.monotonic() - started

    assert (answer.status_code, answer.json()) == (502, INTERNAL_ERROR)
    assert 1.0 <= took < 5.0
    assert not pool.environment_of(DEFAULT_ACCOUNT, REGION, endpoint.function_name).running


def test_an_answer_that_is_no_proxy_response_is_a_502(emulator, client):
    code = script_runtime("""
while True:
    request_id, event = next_event()
    post(f"/runtime/invocation/{request_id}/response", {"statusCode": 200, "body": {"not": "a string"}})
""")
    endpoint = deploy(emulator, client, code)

    assert (endpoint.get().status_code, endpoint.get().json()) == (502, INTERNAL_ERROR)


def test_the_event_is_api_gateway_s_proxy_event(emulator, client):
    code = script_runtime("""
while True:
    request_id, event = next_event()
    post(f"/runtime/invocation/{request_id}/response",
         {"statusCode": 201, "headers": {"X-Env": os.environ["AWS_LAMBDA_FUNCTION_NAME"] + " "
          + os.environ["AWS_REGION"] + " " + os.environ["_HANDLER"] + " " + os.environ["GREETING"]},
          "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]}, "body": json.dumps(event)})
""")
    endpoint = deploy(emulator, client, code, variables={"GREETING": "Hi", "AWS_REGION": "not-overridable"})

    answer = endpoint.get("/hello", params=[("name", "Ada"), ("tag", "x"), ("tag", "y")],
                          headers={"X-Custom": "1"})

    assert answer.status_code == 201, answer.text
    assert answer.headers["X-Env"] == f"hello {REGION} bootstrap Hi"
    assert answer.raw.headers.getlist("Set-Cookie") == ["a=1", "b=2"]
    event = answer.json()
    assert (event["resource"], event["path"], event["httpMethod"]) == ("/hello", "/hello", "GET")
    assert event["queryStringParameters"] == {"name": "Ada", "tag": "y"}
    assert event["multiValueQueryStringParameters"] == {"name": ["Ada"], "tag": ["x", "y"]}
    assert event["headers"]["X-Custom"] == "1"
    assert event["multiValueHeaders"]["X-Custom"] == ["1"]
    assert (event["pathParameters"], event["stageVariables"], event["body"]) == (None, None, None)
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert (context["accountId"], context["apiId"], context["stage"]) == (DEFAULT_ACCOUNT, endpoint.api_id, "staging")
    assert (context["path"], context["resourcePath"], context["httpMethod"]) == ("/staging/hello", "/hello", "GET")
    assert context["requestId"] == answer.headers["x-amzn-RequestId"]


def test_api_gateway_refuses_what_it_cannot_route(emulator, client):
    endpoint = deploy(emulator, client, script_runtime("time.sleep(60)"))

    unknown_stage = requests.get(endpoint.base.replace("/staging", "/nostage") + "/hello", timeout=10)
    unknown_path = endpoint.get("/nothing")

    assert (unknown_stage.status_code, unknown_stage.json()) == (403, {"message": "Forbidden"})
    assert (unknown_path.status_code, unknown_path.json()) == (403, {"message": "Missing Authentication Token"})
    assert _starts(endpoint.function_name) == 0


def test_without_a_permission_for_api_gateway_the_function_is_never_run(emulator, client):
    endpoint = deploy(emulator, client, script_runtime("time.sleep(60)"), permit=False)

    answer = endpoint.get()

    assert (answer.status_code, answer.json()) == (500, INTERNAL_ERROR)
    assert _starts(endpoint.function_name) == 0


ECHO = """
while True:
    request_id, event = next_event()
    post(f"/runtime/invocation/{request_id}/response", {"statusCode": 200, "body": json.dumps(event)})
"""


def test_an_api_imported_from_openapi_routes_as_api_gateway_does(emulator, client):
    # The shape SAM writes: lower-case aws_proxy, a path parameter, a greedy proxy, ANY.
    endpoint = deploy(emulator, client, script_runtime(ECHO))
    function_arn = client("lambda").get_function(FunctionName=endpoint.function_name)["Configuration"]["FunctionArn"]
    integration = {"type": "aws_proxy", "httpMethod": "POST",
                   "uri": f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{function_arn}/invocations"}
    body = {"openapi": "3.0.1", "info": {"title": "routes", "version": "1", "description": "moto 5.2.5 requires one"}, "paths": {
        "/items/{id}": {"get": {"x-amazon-apigateway-integration": integration}},
        "/items/special": {"get": {"x-amazon-apigateway-integration": integration}},
        "/{proxy+}": {"x-amazon-apigateway-any-method": {"x-amazon-apigateway-integration": integration}},
    }}
    apigw = client("apigateway")
    api_id = apigw.import_rest_api(body=json.dumps(body))["id"]
    apigw.create_deployment(restApiId=api_id, stageName="v1")
    client("lambda").add_permission(
        FunctionName=endpoint.function_name, StatementId="openapi", Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com", SourceArn=f"arn:aws:execute-api:{REGION}:{DEFAULT_ACCOUNT}:{api_id}/*")
    base = f"{emulator}/_emulator/execute-api/{api_id}/v1"

    by_id = requests.get(f"{base}/items/42", timeout=30).json()
    special = requests.get(f"{base}/items/special", timeout=30).json()
    greedy = requests.post(f"{base}/a/b/c", data=b'{"x": 1}', headers={"Content-Type": "application/json"},
                           timeout=30).json()

    assert (by_id["resource"], by_id["pathParameters"]) == ("/items/{id}", {"id": "42"})
    assert (special["resource"], special["pathParameters"]) == ("/items/special", None)
    assert (greedy["resource"], greedy["pathParameters"]) == ("/{proxy+}", {"proxy": "a/b/c"})
    assert (greedy["httpMethod"], greedy["body"], greedy["isBase64Encoded"]) == ("POST", '{"x": 1}', False)


def test_a_function_whose_code_came_from_s3_runs_that_code(emulator, client):
    s3 = client("s3")
    s3.create_bucket(Bucket="function-code")
    s3.put_object(Bucket="function-code", Key="echo.zip", Body=script_runtime(ECHO))
    endpoint = deploy(emulator, client, script_runtime("sys.exit(1)"))
    client("lambda").update_function_code(FunctionName=endpoint.function_name, S3Bucket="function-code",
                                          S3Key="echo.zip")

    answer = endpoint.get()

    assert answer.status_code == 200, answer.text
    assert answer.json()["resource"] == "/hello"


def _log_messages(client, group: str) -> list[str]:
    logs = client("logs")
    streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
    return [event["message"] for stream in streams
            for event in logs.get_log_events(logGroupName=group, logStreamName=stream["logStreamName"])["events"]]


@pytest.mark.slow
def test_the_function_s_output_goes_to_its_log_group_between_lambda_s_lines(emulator, client, sample_app_zip):
    endpoint = deploy(emulator, client, sample_app_zip)
    request_id = endpoint.get().headers["x-amzn-RequestId"]

    messages = wait_for(lambda: (m := _log_messages(client, "/aws/lambda/hello")) and m[-1].startswith("REPORT")
                        and m, timeout=10, what="the invocation's REPORT line")

    assert messages[0] == "INIT_START Runtime Version: provided:al2023.emulator"
    assert '"function started"' in messages[1]  # the init phase's own output, before the event
    assert messages[2].startswith("START RequestId: ") and messages[2].endswith(" Version: $LATEST")
    handled = [json.loads(m) for m in messages if m.startswith("{") and '"request handled"' in m]
    assert [(h["status"], h["apiRequestId"]) for h in handled] == [(200, request_id)]
    assert any(m.startswith("END RequestId: ") for m in messages)
    assert "Init Duration: " in messages[-1]


def test_a_json_log_format_writes_lambda_s_lines_as_platform_records(emulator, client):
    endpoint = deploy(emulator, client, script_runtime(ECHO))
    # What the emulator's AWS::Lambda::Function keeps of LoggingConfig (moto's API has no field for it).
    function = lambda_backends[DEFAULT_ACCOUNT][REGION].get_function(endpoint.function_name)
    function.logging_config = {"LogFormat": "JSON", "LogGroup": "/custom/hello"}
    endpoint.get()

    records = wait_for(lambda: (m := _log_messages(client, "/custom/hello")) and len(m) >= 4 and m,
                       timeout=10, what="the invocation's platform records")

    assert [json.loads(m)["type"] for m in records] == [
        "platform.initStart", "platform.start", "platform.runtimeDone", "platform.report"]
    assert json.loads(records[2])["record"]["status"] == "success"


def test_an_integration_timeout_shorter_than_the_function_s_answers_504(emulator, client):
    endpoint = deploy(emulator, client, timeout=20, code=script_runtime("next_event()\ntime.sleep(15)"))
    apigw = client("apigateway")
    resource = next(r["id"] for r in apigw.get_resources(restApiId=endpoint.api_id)["items"] if r["path"] == "/hello")
    apigw.put_integration(
        restApiId=endpoint.api_id, resourceId=resource, httpMethod="GET", type="AWS_PROXY",
        integrationHttpMethod="POST", timeoutInMillis=500,
        uri=apigw.get_integration(restApiId=endpoint.api_id, resourceId=resource, httpMethod="GET")["uri"])

    started = time.monotonic()
    answer = endpoint.get()

    assert (answer.status_code, answer.json()) == (504, {"message": "Endpoint request timed out"})
    assert time.monotonic() - started < 5


def test_a_stage_variable_in_the_integration_uri_picks_the_function(emulator, client):
    endpoint = deploy(emulator, client, script_runtime(ECHO))
    apigw = client("apigateway")
    resource = next(r["id"] for r in apigw.get_resources(restApiId=endpoint.api_id)["items"] if r["path"] == "/hello")
    apigw.put_integration(
        restApiId=endpoint.api_id, resourceId=resource, httpMethod="GET", type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/arn:aws:lambda:{REGION}:"
            f"{DEFAULT_ACCOUNT}:function:${{stageVariables.fn}}/invocations")
    apigw.create_deployment(restApiId=endpoint.api_id, stageName="vars", variables={"fn": endpoint.function_name})

    answer = requests.get(endpoint.base.replace("/staging", "/vars") + "/hello", timeout=30)

    assert answer.status_code == 200, answer.text
    assert answer.json()["stageVariables"] == {"fn": endpoint.function_name}


def test_an_environment_ended_by_a_reset_takes_no_event_and_the_next_request_gets_a_fresh_one(emulator, client):
    endpoint = deploy(emulator, client, script_runtime(ECHO))
    assert endpoint.get().status_code == 200
    ended = pool.environment_of(DEFAULT_ACCOUNT, REGION, endpoint.function_name)

    pool.close_all()

    with pytest.raises(EnvironmentClosed):
        ended.invoke(b"{}")
    assert not ended.running
    assert endpoint.get().status_code == 200
    assert pool.environment_of(DEFAULT_ACCOUNT, REGION, endpoint.function_name) is not ended
