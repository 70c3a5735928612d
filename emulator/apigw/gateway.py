"""API Gateway's REST API endpoints: a request in, the integrated Lambda function's answer out.

Only Lambda proxy integrations (``AWS_PROXY``) run; the answers and errors are API Gateway's:

| what happens | status | body |
| --- | --- | --- |
| no such stage | 403 | ``{"message":"Forbidden"}`` |
| no resource or method for the path | 403 | ``{"message":"Missing Authentication Token"}`` |
| no permission for API Gateway in the function's policy, no such function, another integration type | 500 | ``{"message": "Internal server error"}`` |
| the function fails, times out, or answers no proxy response | 502 | ``{"message": "Internal server error"}`` |
| no answer within the integration's timeout (29 s by default) | 504 | ``{"message": "Endpoint request timed out"}`` |
"""
from __future__ import annotations

import json
import logging
import re
import time
import uuid
from http import HTTPStatus
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Callable, Iterable

from moto.awslambda.models import lambda_backends
from werkzeug.wsgi import get_input_stream

from emulator.apigw import permission, proxy, routing
from emulator.lambda_runtime import pool
from emulator.lambda_runtime.function import CodeUnavailable

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_MS = 29_000
MAX_REQUEST_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
_LAMBDA_URI = re.compile(r"^arn:aws[\w-]*:apigateway:[a-z0-9-]+:lambda:path/2015-03-31/functions/"
                         r"(?P<function>arn:aws[\w-]*:lambda:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
                         r"function:(?P<name>[^:/]+)(?::(?P<qualifier>[^:/]+))?)/invocations$")
_STAGE_VARIABLE = re.compile(r"\$\{stageVariables\.(\w+)\}")
# Invocations run here so a request can stop waiting (504) while the function runs on.
_invocations = ThreadPoolExecutor(max_workers=16, thread_name_prefix="apigw-invoke")

StartResponse = Callable[..., Any]


def handles(environ: dict[str, Any]) -> bool:
    """Whether a request goes to a REST API's endpoint rather than to an AWS API."""
    if environ.get("PATH_INFO", "").startswith(routing.PATH_PREFIX):
        return True
    return ".execute-api." in environ.get("HTTP_HOST", "") and routing.target_of(environ) is not None


def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    request_id = str(uuid.uuid4())
    started = time.monotonic()
    status, headers, body = _answer(environ, request_id)
    headers = [*headers, ("x-amzn-RequestId", request_id), ("x-amz-apigw-id", request_id[:16]),
               ("Content-Length", str(len(body)))]
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))  # API Gateway's default
    logger.info("execute-api %s %s -> %d (%.0f ms)", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"),
                status, (time.monotonic() - started) * 1000)
    start_response(f"{status} {_reason(status)}".strip(), headers)
    return [body]


def _answer(environ: dict[str, Any], request_id: str) -> tuple[int, list[tuple[str, str]], bytes]:
    target = routing.target_of(environ)
    if target is None:
        # On AWS an unknown API id has no DNS name at all.
        return _error(404, "NotFoundException", "Not Found")
    api, http_method = target.api, environ.get("REQUEST_METHOD", "GET").upper()
    stage = api.stages.get(target.stage_name)
    if stage is None:
        return _error(403, "ForbiddenException", "Forbidden")
    found = routing.route(api, target.path, http_method)
    if found is None:
        return _error(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
    refused = _authorization(found.method, environ)
    if refused is not None:
        return refused
    function = _integrated_function(found.method, stage.variables, api)
    if function is None:
        return _error(500, "InternalServerErrorException", "Internal server error", spaced=True)
    arn = permission.source_arn(api, target.stage_name, http_method, target.path)
    if not permission.allows(list(function.policy.statements), arn, api.account_id):
        logger.warning("execute-api: %s has no permission for %s to invoke it with source %s "
                       "(Execution failed due to configuration error: Invalid permissions on Lambda function)",
                       function.function_name, permission.SERVICE, arn)
        return _error(500, "InternalServerErrorException", "Internal server error", spaced=True)
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length > MAX_REQUEST_BYTES:
        return _error(413, "RequestTooLargeException", "Request Too Long")
    body = get_input_stream(environ).read(MAX_REQUEST_BYTES + 1)
    if len(body) > MAX_REQUEST_BYTES:
        return _error(413, "RequestTooLargeException", "Request Too Long")
    event = proxy.event(environ, body, target, found, request_id)
    return _invoke(function, json.dumps(event).encode(), found.method.method_integration)


def _invoke(function: Any, payload: bytes, integration: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    timeout_ms = int(getattr(integration, "timeout_in_millis", None) or DEFAULT_TIMEOUT_MS)
    future = _invocations.submit(pool.invoke, function, payload)
    try:
        result = future.result(timeout=timeout_ms / 1000)
    except FutureTimeout:
        return _error(504, "IntegrationTimeout", "Endpoint request timed out")
    except CodeUnavailable as err:
        logger.warning("execute-api: function %s cannot run: %s", function.function_name, err)
        return _error(502, "InternalServerErrorException", "Internal server error", spaced=True)
    if result.failed:
        logger.info("execute-api: function %s failed (%s): %s", function.function_name, result.error_type,
                    result.payload[:500].decode(errors="replace"))
        return _error(502, "InternalServerErrorException", "Internal server error", spaced=True)
    try:
        answer = proxy.response(result.payload)
    except proxy.MalformedResponse as err:
        logger.info("execute-api: Execution failed due to configuration error: Malformed Lambda proxy response "
                    "from %s: %s", function.function_name, err)
        return _error(502, "InternalServerErrorException", "Internal server error", spaced=True)
    return answer.status, answer.headers, answer.body


def _authorization(method: Any, environ: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes] | None:
    """Refuse what the emulator cannot check: authorizers, IAM auth and API keys are not emulated."""
    kind = (method.authorization_type or "NONE").upper()
    if kind == "AWS_IAM":
        logger.warning("execute-api: AWS_IAM authorization is not emulated; the request is refused")
        return _error(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
    if kind != "NONE":
        logger.warning("execute-api: %s authorizers are not emulated; the request is refused", kind)
        return _error(401, "UnauthorizedException", "Unauthorized")
    if method.api_key_required:
        logger.warning("execute-api: API keys are not emulated; a method requiring one refuses every request")
        return _error(403, "ForbiddenException", "Forbidden")
    return None


def _integrated_function(method: Any, stage_variables: dict[str, str], api: Any) -> Any | None:
    integration = method.method_integration
    # OpenAPI bodies (SAM's) spell it aws_proxy.
    if integration is None or (integration.integration_type or "").upper() != "AWS_PROXY":
        kind = integration.integration_type if integration is not None else "no"
        logger.warning("execute-api: %s integration on API %s is not emulated (only AWS_PROXY to Lambda)",
                       kind, api.id)
        return None
    uri = _STAGE_VARIABLE.sub(lambda m: str(stage_variables.get(m[1], "")), integration.uri or "")
    match = _LAMBDA_URI.match(uri)
    if match is None:
        logger.warning("execute-api: integration URI %s names no Lambda function", uri)
        return None
    try:
        return lambda_backends[match["account"]][match["region"]].get_function(match["name"], match["qualifier"])
    except Exception as err:  # moto's UnknownFunctionException and friends
        logger.warning("execute-api: Execution failed: function %s not found (%s)", match["function"], err)
        return None


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _error(status: int, error_type: str, message: str, spaced: bool = False) -> tuple[int, list[tuple[str, str]], bytes]:
    # API Gateway writes {"message": "Internal server error"} with a space, its other errors without.
    body = json.dumps({"message": message}, separators=(", ", ": ") if spaced else (",", ":")).encode()
    return status, [("Content-Type", "application/json"), ("x-amzn-ErrorType", error_type)], body

