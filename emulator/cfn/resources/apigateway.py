"""AWS::ApiGateway::RestApi, ::Deployment and ::Stage, as CloudFormation creates them (SAM's APIs).

moto's models of these types need a ``Name`` where AWS takes the OpenAPI ``Body``'s title,
ignore the ``Body``, give a deployment no physical id, and lack the Stage type. These create the
API in moto's API Gateway backend with its OpenAPI body imported, update the API, deployment and
stage in place (a changed ``Body`` is put on the same API id, a stage moves to a new
deployment), and refuse to delete a deployment a stage still uses, as AWS does.

Where a stage answers: ``invoke_url`` (see the emulator README, "API Gateway endpoints").
"""
from __future__ import annotations

import json
import re
from typing import Any

import yaml
from moto.apigateway.models import apigateway_backends
from moto.core.common_models import CloudFormationModel
from moto.s3.models import s3_backends

from emulator.apigw.routing import PATH_PREFIX
from emulator.cfn.resources.hooks import TypeHooks, tag_dict
from emulator.cfn.resources.model import EmulatedResource
from emulator.codecommit.clone_urls import base_url



def invoke_url(api_id: str, region: str, stage: str) -> str:
    """A stage's base URL: the emulator's own address when it serves HTTP, else AWS's."""
    base = base_url()
    if base:
        return f"{base}{PATH_PREFIX}{api_id}/{stage}"  # where emulator.apigw serves a stage
    return f"https://{api_id}.execute-api.{region}.amazonaws.com/{stage}"


_AWS_INVOKE_URL = re.compile(r"https://([a-z0-9]{10})\.execute-api\.([a-z0-9-]+)\.amazonaws\.com/([^/\s]+)")


def emulator_urls(text: str, account_id: str) -> str:
    """AWS invoke URLs of this account's REST APIs in ``text`` as the emulator's, the rest unchanged.

    A template builds its endpoint as AWS serves it (``https://${Api}.execute-api.${AWS::Region}
    .${AWS::URLSuffix}/STAGE/...``), a host that never reaches the emulator; as with CodeCommit's
    clone URLs, the emulator answers with the address it does serve the API at.
    """
    def replace(match: re.Match[str]) -> str:
        api_id, region, stage = match.groups()
        if api_id not in apigateway_backends[account_id][region].apis:
            return match.group(0)
        return invoke_url(api_id, region, stage)

    return _AWS_INVOKE_URL.sub(replace, text)


class StageInUseError(Exception):
    """AWS's BadRequestException when a deployment still has stages."""


def _backend(account_id: str, region: str) -> Any:
    return apigateway_backends[account_id][region]


# ---- RestApi ---------------------------------------------------------------------------------
def _body(properties: dict[str, Any]) -> dict[str, Any] | None:
    if "Body" in properties:
        body = properties["Body"]
        return json.loads(body) if isinstance(body, str) else body
    location = properties.get("BodyS3Location")
    if not location:
        return None
    partition, account_id = s3_backends.bucket_accounts[location["Bucket"]]
    found = s3_backends[account_id][partition].get_object(location["Bucket"], location["Key"],
                                                          version_id=location.get("Version"))
    return yaml.safe_load(found.value)


def _import(api: Any, properties: dict[str, Any], body: dict[str, Any], mode: str, account_id: str,
            region: str) -> None:
    _backend(account_id, region).put_rest_api(api.id, _for_moto(body),
                                              fail_on_warnings=bool(properties.get("FailOnWarnings")), mode=mode)
    # API Gateway reads x-amazon-apigateway-integration's type case-insensitively and shows it
    # upper case (GetIntegration says AWS_PROXY for SAM's aws_proxy); moto keeps the spelling.
    for resource in api.resources.values():
        for method in resource.resource_methods.values():
            integration = method.method_integration
            if integration is not None and integration.integration_type:
                integration.integration_type = integration.integration_type.upper()
                if integration.uri == "":
                    integration.uri = integration.http_method = None  # a MOCK integration has neither


_ANY_METHOD = "x-amazon-apigateway-any-method"


def _for_moto(body: dict[str, Any]) -> dict[str, Any]:
    """An API definition as moto's OpenAPI import reads it, meaning what API Gateway reads.

    API Gateway imports Swagger 2.0 too, and moto only OpenAPI 3: the parts moto reads (paths,
    methods, x-amazon-apigateway-integration) are written alike in both. ``x-amazon-apigateway-
    any-method`` is the ANY method; a MOCK integration (SAM's CORS preflight) has no uri.
    """
    converted = {"openapi": "3.0.1", **{k: v for k, v in body.items() if k not in ("swagger", "openapi")}}
    paths = {}
    for path, methods in (body.get("paths") or {}).items():
        operations = {}
        for method, operation in (methods or {}).items():
            if not isinstance(operation, dict) or method == "parameters":
                continue
            integration = operation.get("x-amazon-apigateway-integration")
            if isinstance(integration, dict) and "uri" not in integration:  # MOCK
                operation = {**operation, "x-amazon-apigateway-integration": {"uri": "", "httpMethod": "", **integration}}
            operations["any" if method == _ANY_METHOD else method] = operation
        paths[path] = operations
    converted["paths"] = paths
    return converted


def _configure_api(api: Any, properties: dict[str, Any], body: dict[str, Any] | None) -> None:
    api.name = properties.get("Name") or (body or {}).get("info", {}).get("title") or api.name
    api.description = properties.get("Description", (body or {}).get("info", {}).get("description", ""))
    types = (properties.get("EndpointConfiguration") or {}).get("Types") or ["EDGE"]
    api.endpoint_configuration = {"types": types}
    api.binaryMediaTypes = properties.get("BinaryMediaTypes") or []
    policy = properties.get("Policy")
    api.policy = json.dumps(policy) if isinstance(policy, dict) else policy
    api.tags = tag_dict(properties.get("Tags"))
    api.disableExecuteApiEndpoint = bool(properties.get("DisableExecuteApiEndpoint", False))


class RestApi(EmulatedResource, CloudFormationModel):
    """A REST API in moto's backend (Ref: its id); an OpenAPI Body becomes its resources and methods."""

    TYPE = "AWS::ApiGateway::RestApi"
    ATTRIBUTES = {"RestApiId": lambda api: api.id, "RootResourceId": lambda api: api.root_resource_id}

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: dict[str, Any],  # type: ignore[override]
                                        account_id: str, region_name: str, **kwargs: Any) -> Any:
        properties = cloudformation_json["Properties"]
        body = _body(properties)
        name = properties.get("Name") or (body or {}).get("info", {}).get("title")
        if not name:
            raise ValueError("Invalid REST API name specified")
        backend = _backend(account_id, region_name)
        api = backend.create_rest_api(name=name, description=properties.get("Description", ""))
        _configure_api(api, properties, body)
        if body is not None:
            _import(api, properties, body, "overwrite", account_id, region_name)
        return api


def _update_api(existing: Any, properties: dict[str, Any], account_id: str, region: str) -> Any:
    api = existing.model
    body = _body(properties)
    _configure_api(api, properties, body)
    if body is not None and body != _body(existing.properties):
        _import(api, properties, body, properties.get("Mode") or "overwrite", account_id, region)
    return api


def _delete_api(existing: Any, account_id: str, region: str) -> None:
    _backend(account_id, region).delete_rest_api(existing.model.id)


# ---- Deployment ------------------------------------------------------------------------------
class Deployment(EmulatedResource, CloudFormationModel):
    """A deployment of a REST API (Ref: its id); with StageName it also creates that stage."""

    TYPE = "AWS::ApiGateway::Deployment"
    ATTRIBUTES = {"DeploymentId": lambda deployment: deployment.deployment_id}

    def __init__(self, account_id: str, region_name: str, rest_api_id: str, deployment_id: str) -> None:
        super().__init__(account_id, region_name)
        self.rest_api_id = rest_api_id
        self.deployment_id = deployment_id

    @property
    def physical_resource_id(self) -> str:
        return self.deployment_id

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: dict[str, Any],  # type: ignore[override]
                                        account_id: str, region_name: str, **kwargs: Any) -> "Deployment":
        properties = cloudformation_json["Properties"]
        backend = _backend(account_id, region_name)
        stage_name = properties.get("StageName")
        deployment = backend.create_deployment(
            properties["RestApiId"], stage_name, properties.get("Description", ""),
            (properties.get("StageDescription") or {}).get("Variables"))
        return cls(account_id, region_name, properties["RestApiId"], deployment.id)


def _update_deployment(existing: Any, properties: dict[str, Any], account_id: str, region: str) -> Any:
    deployment = existing.model
    _backend(account_id, region).get_deployment(deployment.rest_api_id, deployment.deployment_id).description = \
        properties.get("Description", "")
    return deployment


def _delete_deployment(existing: Any, account_id: str, region: str) -> None:
    deployment = existing.model
    backend = _backend(account_id, region)
    if deployment.rest_api_id not in backend.apis:
        return  # the API went first; its deployments went with it
    api = backend.apis[deployment.rest_api_id]
    using = [name for name, stage in api.stages.items() if stage.deployment_id == deployment.deployment_id
             and name != api.deployments[deployment.deployment_id].stage_name]
    if using:
        raise StageInUseError("Active stages pointing to this deployment must be moved or deleted")
    api.stages.pop(api.deployments[deployment.deployment_id].stage_name or "", None)
    api.deployments.pop(deployment.deployment_id, None)


# ---- Stage -----------------------------------------------------------------------------------
def _method_settings(settings: list[dict[str, Any]] | None) -> dict[str, Any]:
    """CloudFormation's MethodSettings as GetStage shows them: keyed "resource/METHOD"."""
    result = {}
    for setting in settings or []:
        path = setting.get("ResourcePath", "/*")
        key_path = "*" if path == "/*" else path.lstrip("/").replace("/", "~1")
        values = {k[:1].lower() + k[1:]: v for k, v in setting.items() if k not in ("ResourcePath", "HttpMethod")}
        result[f"{key_path}/{setting.get('HttpMethod', '*')}"] = values
    return result


def _configure_stage(stage: Any, properties: dict[str, Any]) -> None:
    stage.deployment_id = properties.get("DeploymentId")
    stage.description = properties.get("Description", "")
    stage.variables = dict(properties.get("Variables") or {})
    stage.method_settings = _method_settings(properties.get("MethodSettings"))
    stage.tracing_enabled = properties.get("TracingEnabled")
    stage.tags = tag_dict(properties.get("Tags")) or None
    access_log = properties.get("AccessLogSetting")
    stage.access_log_settings = {k[:1].lower() + k[1:]: v for k, v in access_log.items()} if access_log else None


class Stage(EmulatedResource, CloudFormationModel):
    """A stage of a REST API pointing at a deployment (Ref: the stage name)."""

    TYPE = "AWS::ApiGateway::Stage"
    NAME_PROPERTY = "StageName"

    def __init__(self, account_id: str, region_name: str, rest_api_id: str, stage_name: str) -> None:
        super().__init__(account_id, region_name)
        self.rest_api_id = rest_api_id
        self.stage_name = stage_name

    @property
    def physical_resource_id(self) -> str:
        return self.stage_name

    @property
    def url(self) -> str:
        return invoke_url(self.rest_api_id, self.region_name, self.stage_name)

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: dict[str, Any],  # type: ignore[override]
                                        account_id: str, region_name: str, **kwargs: Any) -> "Stage":
        properties = cloudformation_json["Properties"]
        backend = _backend(account_id, region_name)
        stage = backend.create_stage(properties["RestApiId"], resource_name, properties.get("DeploymentId"))
        _configure_stage(stage, properties)
        return cls(account_id, region_name, properties["RestApiId"], resource_name)


def _update_stage(existing: Any, properties: dict[str, Any], account_id: str, region: str) -> Any:
    stage = existing.model
    _configure_stage(_backend(account_id, region).get_stage(stage.rest_api_id, stage.stage_name), properties)
    return stage


def _delete_stage(existing: Any, account_id: str, region: str) -> None:
    stage = existing.model
    backend = _backend(account_id, region)
    if stage.rest_api_id in backend.apis:
        backend.apis[stage.rest_api_id].stages.pop(stage.stage_name, None)


HOOKS = {
    "AWS::ApiGateway::RestApi": TypeHooks(update=_update_api, delete=_delete_api, attributes=dict(RestApi.ATTRIBUTES)),
    "AWS::ApiGateway::Deployment": TypeHooks(update=_update_deployment, delete=_delete_deployment),
    "AWS::ApiGateway::Stage": TypeHooks(update=_update_stage, delete=_delete_stage),
}
