"""The Lambda proxy integration's two formats (REST API, payload version 1.0).

The event is what API Gateway sends the function: the request's method, path, headers and query
string (single- and multi-valued), path parameters, stage variables, body (base64 when it is not
text) and a ``requestContext``; absent maps are ``null``, as API Gateway sends them. The function
must answer ``{statusCode, headers?, multiValueHeaders?, body?, isBase64Encoded?}`` and nothing
else; any other answer is a "Malformed Lambda proxy response", which API Gateway turns into a 502.
"""
from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl

from emulator.apigw.routing import Route, Target

_RESPONSE_KEYS = {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"}


class MalformedResponse(Exception):
    """The function's answer is not a proxy response."""


@dataclass(frozen=True)
class ProxyResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def event(environ: dict[str, Any], body: bytes, target: Target, route: Route, request_id: str) -> dict[str, Any]:
    """The proxy event for one request."""
    api, stage = target.api, target.api.stages[target.stage_name]
    headers, multi_headers = _headers(environ)
    query, multi_query = _query(environ.get("QUERY_STRING", ""))
    content_type = headers.get("Content-Type", headers.get("content-type", ""))
    # Only the API's binaryMediaTypes reach the function base64-encoded.
    is_text = not body or not _is_binary(api, content_type)
    now = time.time()
    source_ip = environ.get("REMOTE_ADDR", "127.0.0.1")
    forwarded = {"X-Forwarded-For": source_ip, "X-Forwarded-Port": "443", "X-Forwarded-Proto": "https",
                 "X-Amzn-Trace-Id": f"Root=1-{int(now):08x}-{uuid.uuid4().hex[:24]}"}
    for name, value in forwarded.items():
        headers[name] = value
        multi_headers[name] = [value]
    host = headers.get("Host", headers.get("host", ""))
    return {
        "resource": route.resource_path,
        "path": target.path,
        "httpMethod": environ.get("REQUEST_METHOD", "GET").upper(),
        "headers": headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": route.path_parameters or None,
        "stageVariables": dict(stage.variables) or None,
        "requestContext": {
            "accountId": api.account_id,
            "apiId": api.id,
            "domainName": host.split(":")[0],
            "domainPrefix": host.split(".")[0],
            "extendedRequestId": base64.b32encode(uuid.uuid4().bytes)[:16].decode(),
            "httpMethod": environ.get("REQUEST_METHOD", "GET").upper(),
            "identity": {
                "accessKey": None, "accountId": None, "caller": None, "cognitoAuthenticationProvider": None,
                "cognitoAuthenticationType": None, "cognitoIdentityId": None, "cognitoIdentityPoolId": None,
                "principalOrgId": None, "sourceIp": source_ip, "user": None,
                "userAgent": headers.get("User-Agent", headers.get("user-agent")), "userArn": None,
            },
            "path": f"/{target.stage_name}{target.path}",
            "protocol": environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
            "requestId": request_id,
            "requestTime": datetime.fromtimestamp(now, timezone.utc).strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(now * 1000),
            "resourceId": route.resource.id,
            "resourcePath": route.resource_path,
            "stage": target.stage_name,
        },
        "body": (body.decode("utf-8", errors="replace") if is_text else base64.b64encode(body).decode())
        if body else None,
        "isBase64Encoded": bool(body) and not is_text,
    }


def response(payload: bytes) -> ProxyResponse:
    """The HTTP response a function's proxy answer stands for.

    :raise MalformedResponse: the answer is not a JSON object of the proxy response's keys, its
        ``statusCode`` is not a number, or its ``body`` is not a string.
    """
    try:
        answer = json.loads(payload)
    except ValueError as err:
        raise MalformedResponse("the answer is not JSON") from err
    if not isinstance(answer, dict):
        raise MalformedResponse("the answer is not a JSON object")
    unknown = sorted(set(answer) - _RESPONSE_KEYS)
    if unknown:
        raise MalformedResponse(f"unexpected keys {unknown}")
    status = answer.get("statusCode")
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise MalformedResponse(f"statusCode {status!r} is not an HTTP status")
    body = answer.get("body")
    if body is not None and not isinstance(body, str):
        raise MalformedResponse("body is not a string")
    headers: list[tuple[str, str]] = []
    single = answer.get("headers") or {}
    multi = answer.get("multiValueHeaders") or {}
    if not isinstance(single, dict) or not isinstance(multi, dict):
        raise MalformedResponse("headers are not a JSON object")
    for name, values in multi.items():
        if not isinstance(values, list):
            raise MalformedResponse(f"multiValueHeaders {name} is not a list")
        headers += [(str(name), _header_value(v)) for v in values]
    # A name in both keeps the single value too, as API Gateway merges the two.
    headers += [(str(name), _header_value(value)) for name, value in single.items()]
    raw = (body or "").encode()
    if answer.get("isBase64Encoded") and body:
        try:
            raw = base64.b64decode(body, validate=True)
        except ValueError as err:
            raise MalformedResponse("body is not base64") from err
    return ProxyResponse(status, headers, raw)


def _header_value(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return value if isinstance(value, str) else json.dumps(value)


def _headers(environ: dict[str, Any]) -> tuple[dict[str, str], dict[str, list[str]]]:
    multi: dict[str, list[str]] = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            name = "-".join(part.capitalize() for part in key[5:].split("_"))
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            name = "-".join(part.capitalize() for part in key.split("_"))
        else:
            continue
        # WSGI joins a repeated header with ", ", which API Gateway would have kept apart; a comma
        # inside one value (Accept, User-Agent) cannot be told from that, so the value stays whole.
        multi.setdefault(name, []).append(str(value))
    # The single-valued map carries each header's last value, as API Gateway documents.
    return {name: values[-1] for name, values in multi.items()}, multi


def _query(query_string: str) -> tuple[dict[str, str], dict[str, list[str]]]:
    multi: dict[str, list[str]] = {}
    for name, value in parse_qsl(query_string, keep_blank_values=True):
        multi.setdefault(name, []).append(value)
    return {name: values[-1] for name, values in multi.items()}, multi


def _is_binary(api: Any, content_type: str) -> bool:
    media = content_type.split(";")[0].strip().lower()
    for pattern in getattr(api, "binaryMediaTypes", None) or []:
        pattern = pattern.replace("~1", "/").lower()
        if pattern == "*/*" or pattern == media or (pattern.endswith("/*") and media.startswith(pattern[:-1])):
            return True
    return False
