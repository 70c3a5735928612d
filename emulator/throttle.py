"""Answer a share of AWS calls with a throttling error, in the caller's protocol.

botocore only retries a throttle it can parse: the error code must sit where the protocol
puts it (``<Error><Code>`` for query/XML, ``__type`` for JSON), so the body is shaped per
protocol rather than one generic reply.
"""
from __future__ import annotations

import json
import logging
import uuid
from typing import Any, Callable, Iterable

from emulator.state import STATE

logger = logging.getLogger(__name__)

MESSAGE = "Rate exceeded"

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def signing_service(environ: dict[str, Any]) -> str:
    """Return the service named in the SigV4 credential scope, or "" when unsigned."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    try:
        scope = auth.split("Credential=", 1)[1].split(",", 1)[0]
        return scope.split("/")[3].lower()
    except IndexError:
        return ""


def throttling_response(environ: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
    """Build (status, headers, body) of a throttling error in the request's protocol."""
    request_id = str(uuid.uuid4())
    target = environ.get("HTTP_X_AMZ_TARGET")
    content_type = environ.get("CONTENT_TYPE", "")
    if target:
        # awsJson 1.0/1.1 (CodePipeline, KMS, CodeCommit, CodeBuild, Logs, Events, ...).
        body = json.dumps({"__type": "ThrottlingException", "message": MESSAGE}).encode()
        headers = [("Content-Type", content_type or "application/x-amz-json-1.1"),
                   ("x-amzn-RequestId", request_id)]
        return 400, headers, body
    if content_type.startswith("application/x-www-form-urlencoded"):
        # awsQuery (CloudFormation, STS, IAM, SNS): the code "Throttling" is what they send.
        body = (
            "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
            f"<Message>{MESSAGE}</Message></Error><RequestId>{request_id}</RequestId>"
            "</ErrorResponse>"
        ).encode()
        return 400, [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], body
    if signing_service(environ) == "s3":
        # S3 throttles with 503 SlowDown; botocore retries that code.
        body = (
            "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message>"
            f"<RequestId>{request_id}</RequestId></Error>"
        ).encode()
        return 503, [("Content-Type", "application/xml"), ("x-amz-request-id", request_id)], body
    # restJson (Lambda, API Gateway, ...): the code travels in a header as well.
    body = json.dumps({"message": MESSAGE}).encode()
    headers = [("Content-Type", "application/json"), ("x-amzn-RequestId", request_id),
               ("x-amzn-ErrorType", "ThrottlingException")]
    return 400, headers, body


class ThrottlingMiddleware:
    """Wrap the AWS app; paths under ``exempt_prefixes`` (control APIs) are never throttled."""

    def __init__(self, app: WSGIApp, exempt_prefixes: tuple[str, ...]) -> None:
        self.app = app
        self.exempt_prefixes = exempt_prefixes

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not path.startswith(self.exempt_prefixes) and STATE.should_throttle():
            status, headers, body = throttling_response(environ)
            logger.info("throttled %s %s", environ.get("REQUEST_METHOD"), path)
            reason = "Bad Request" if status == 400 else "Service Unavailable"
            start_response(f"{status} {reason}", headers + [("Content-Length", str(len(body)))])
            return [body]
        return self.app(environ, start_response)
