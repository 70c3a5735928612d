"""What an execution environment needs from a function: its configuration and its code.

Read from moto's Lambda model when a request arrives. Lambda copies the deployment package (a
``ZipFile``, or the object at ``Code.S3Bucket/S3Key``) when the function is created or its code
updated, and so does moto (``code_bytes``; the emulator's ``AWS::Lambda::Function`` reads a bucket
of another account too): a later change of the S3 object does not change the function, as on AWS.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import Any

# The environment variables Lambda sets itself; a function's configuration cannot override them.
RESERVED = frozenset({
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
})


class CodeUnavailable(Exception):
    """The function's deployment package cannot be read."""


@dataclass(frozen=True)
class FunctionConfig:
    account_id: str
    region: str
    name: str
    arn: str
    version: str
    runtime: str
    handler: str
    architecture: str
    memory_size: int
    timeout: int
    role: str
    log_group: str
    log_format: str
    variables: dict[str, str] = field(hash=False)
    code: bytes = field(repr=False, hash=False)

    @cached_property
    def fingerprint(self) -> str:
        """Changes whenever Lambda would start new execution environments (code or configuration)."""
        described = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "code"}
        described["code"] = hashlib.sha256(self.code).hexdigest()
        return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()


def config_of(model: Any) -> FunctionConfig:
    """A snapshot of moto's ``LambdaFunction``: later updates start a new environment, as on AWS."""
    logging_config = getattr(model, "logging_config", None) or {}
    version = str(model.version)
    return FunctionConfig(
        account_id=model.account_id,
        region=model.region,
        name=model.function_name,
        arn=model.function_arn,
        version="$LATEST" if version in ("1", "$LATEST") else version,
        runtime=model.run_time or "",
        handler=model.handler or "",
        architecture=(model.architectures or ["x86_64"])[0],
        memory_size=int(model.memory_size),
        timeout=int(model.timeout),
        role=model.role,
        log_group=logging_config.get("LogGroup") or f"/aws/lambda/{model.function_name}",
        log_format=logging_config.get("LogFormat") or "Text",
        variables={str(k): str(v) for k, v in (model.environment_vars or {}).items()},
        code=_code(model),
    )


def _code(model: Any) -> bytes:
    if not model.code_bytes:
        raise CodeUnavailable(f"function {model.function_name} has no deployment package stored "
                              f"(Code: {sorted(model.code or {})})")
    return model.code_bytes
