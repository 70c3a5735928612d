"""AWS::Lambda::Function and AWS::Lambda::Permission, as CloudFormation's Lambda handlers create them.

moto's own CloudFormation model of a function drops most properties (Architectures, Tags,
LoggingConfig, PackageType, ...), wraps every inline ``ZipFile`` as ``index.py`` and reads
``Code.S3Bucket`` only in the function's own account; a SAM application built in one account and
deployed in another keeps its code in the build account's artifact bucket. These types create
the function in moto's Lambda backend with everything the template says, read the code from the
bucket wherever it lives (bucket names are global, as on AWS), update in place, and replace the
function only when a create-only property (``FunctionName``) changes.

The code object is read as the Lambda service reads it: the bucket policy and the KMS key policy
are not evaluated for this read (see the emulator README).
"""
from __future__ import annotations

import base64
import io
import json
import zipfile
from typing import Any

from moto.awslambda.models import lambda_backends
from moto.core.common_models import CloudFormationModel
from moto.s3.exceptions import MissingBucket, MissingKey
from moto.s3.models import s3_backends

from emulator.cfn.resources.hooks import TypeHooks, tag_dict
from emulator.cfn.resources.model import EmulatedResource
from emulator.cfn.scalars import text
from emulator.patches import Kind, Patch

# Configuration properties that map one to one onto CreateFunction's request.
_CONFIGURATION = ("Description", "Handler", "MemorySize", "Role", "Runtime", "Timeout", "VpcConfig",
                  "Environment", "ReservedConcurrentExecutions", "Layers", "TracingConfig",
                  "KmsKeyArn", "ImageConfig", "EphemeralStorage", "PackageType", "Architectures",
                  "DeadLetterConfig", "FileSystemConfigs")
# The file CloudFormation puts inline code (ZipFile) in, by runtime family.
_INLINE_FILE = {"nodejs": "index.js", "python": "index.py"}


def _configuration(properties: dict[str, Any]) -> dict[str, Any]:
    spec = {key: properties[key] for key in _CONFIGURATION if key in properties}
    variables = (spec.get("Environment") or {}).get("Variables")
    if variables:
        # Lambda's variables are strings; CloudFormation turns a YAML `DEBUG: false` into "false".
        spec["Environment"] = {**spec["Environment"], "Variables": {k: text(v) for k, v in variables.items()}}
    return spec


class CodeError(Exception):
    """The function's code cannot be read; worded as Lambda words it."""


def _backend(account_id: str, region: str) -> Any:
    return lambda_backends[account_id][region]


def _s3_code(code: dict[str, Any], region: str) -> bytes:
    bucket, key = code["S3Bucket"], code["S3Key"]
    owner = s3_backends.bucket_accounts.get(bucket)
    if owner is None:
        raise CodeError("Error occurred while GetObject. S3 Error Code: NoSuchBucket. "
                        "S3 Error Message: The specified bucket does not exist")
    partition, account_id = owner
    try:
        found = s3_backends[account_id][partition].get_object(bucket, key, version_id=code.get("S3ObjectVersion"))
    except (MissingBucket, MissingKey):
        found = None
    if found is None:
        raise CodeError("Error occurred while GetObject. S3 Error Code: NoSuchKey. "
                        "S3 Error Message: The specified key does not exist.")
    return found.value


def _inline_code(source: str, runtime: str | None) -> bytes:
    family = next((f for f in _INLINE_FILE if (runtime or "").startswith(f)), "python")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(_INLINE_FILE[family], source)
    return buffer.getvalue()


def code_spec(properties: dict[str, Any], region: str) -> dict[str, Any]:
    """Code as CreateFunction/UpdateFunctionCode take it: a base64 zip, or an image URI."""
    code = properties.get("Code") or {}
    if "ImageUri" in code:
        return {"ImageUri": code["ImageUri"]}
    if "ZipFile" in code:
        content = _inline_code(code["ZipFile"], properties.get("Runtime"))
    elif "S3Bucket" in code and "S3Key" in code:
        content = _s3_code(code, region)
    else:
        raise CodeError("Please provide a source for function code.")
    return {"ZipFile": base64.b64encode(content).decode()}


def _apply_extras(function: Any, properties: dict[str, Any]) -> None:
    # Kept on moto's function for whoever runs it (the emulator's Lambda runtime reads them).
    function.logging_config = properties.get("LoggingConfig") or {
        "LogFormat": "Text", "LogGroup": f"/aws/lambda/{function.function_name}"}
    function.tags = tag_dict(properties.get("Tags"))
    # UpdateFunctionConfiguration (what moto's update_configuration follows) has no Architectures.
    function.architectures = properties.get("Architectures") or ["x86_64"]


class LambdaFunction(EmulatedResource, CloudFormationModel):
    """Creates moto's LambdaFunction (Ref: the name, GetAtt Arn) with every property the template sets."""

    TYPE = "AWS::Lambda::Function"
    NAME_PROPERTY = "FunctionName"
    ATTRIBUTES = {"Arn": lambda function: function.function_arn}

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: dict[str, Any],  # type: ignore[override]
                                        account_id: str, region_name: str, **kwargs: Any) -> Any:
        properties = cloudformation_json["Properties"]
        spec = _configuration(properties)
        spec.update(FunctionName=resource_name, Code=code_spec(properties, region_name),
                    Tags=tag_dict(properties.get("Tags")))
        function = _backend(account_id, region_name).create_function(spec)
        _apply_extras(function, properties)
        return function


def _update_function(existing: Any, properties: dict[str, Any], account_id: str, region: str) -> Any:
    function = existing.model
    wanted, had = _configuration(properties), _configuration(existing.properties)
    changed = {key: wanted.get(key) for key in _CONFIGURATION if wanted.get(key) != had.get(key)}
    if "Environment" in changed and changed["Environment"] is None:
        changed["Environment"] = {"Variables": {}}
    function.update_configuration({k: v for k, v in changed.items() if v is not None})
    if properties.get("Code") != existing.properties.get("Code"):
        function.update_function_code(code_spec(properties, region))
    _apply_extras(function, properties)
    return function


def _delete_function(existing: Any, account_id: str, region: str) -> None:
    _backend(account_id, region).delete_function(existing.model.function_name)


class LambdaPermission(EmulatedResource, CloudFormationModel):
    """One statement of a function's resource policy; Ref is its statement id."""

    TYPE = "AWS::Lambda::Permission"

    def __init__(self, account_id: str, region_name: str, statement_id: str, function_name: str) -> None:
        super().__init__(account_id, region_name)
        self.statement_id = statement_id
        self.function_name = function_name

    @property
    def physical_resource_id(self) -> str:
        return self.statement_id

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: dict[str, Any],  # type: ignore[override]
                                        account_id: str, region_name: str, **kwargs: Any) -> "LambdaPermission":
        properties = dict(cloudformation_json["Properties"])
        function = _backend(account_id, region_name).get_function(properties.pop("FunctionName"))
        statement = {"StatementId": resource_name, **properties}
        function.policy.add_statement(raw=json.dumps(statement))
        return cls(account_id, region_name, resource_name, function.function_name)


def _delete_permission(existing: Any, account_id: str, region: str) -> None:
    permission = existing.model
    backend = _backend(account_id, region)
    if permission.function_name not in [f.function_name for f in backend.list_functions()]:
        return  # the function went first; its policy went with it
    backend.get_function(permission.function_name).policy.del_statement(permission.statement_id)


def _configuration_with_logging(original: Any, self: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    configuration = original(self, *args, **kwargs)
    logging_config = getattr(self, "logging_config", None)
    if logging_config:
        configuration["LoggingConfig"] = dict(logging_config)
    return configuration


PATCHES = (
    Patch("moto.awslambda.models:LambdaFunction.get_configuration", _configuration_with_logging, Kind.FUNCTION,
          "GetFunction shows the LoggingConfig a stack gave the function (moto has none)", wraps=True),
)

HOOKS = {
    "AWS::Lambda::Function": TypeHooks(update=_update_function, delete=_delete_function),
    # Every property of a permission is create-only: a change replaces it, there is no update.
    "AWS::Lambda::Permission": TypeHooks(delete=_delete_permission),
}

__all__ = ["HOOKS", "PATCHES", "LambdaFunction", "LambdaPermission", "code_spec"]
