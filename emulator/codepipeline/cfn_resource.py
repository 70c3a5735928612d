"""CloudFormation resource type AWS::CodePipeline::Pipeline (Ref: the name, GetAtt: Version).

moto finds resource types among CloudFormationModel's direct subclasses, so defining this class
registers it (install() then clears moto's cached type map; see EmulatedResource). Creating the resource starts an
execution, as on AWS; updating it bumps the pipeline version; a new Name replaces it.
"""
from __future__ import annotations

import json
import logging
from typing import Any

from moto.codepipeline.models import CodePipelineBackend, codepipeline_backends
from moto.core.common_models import CloudFormationModel

from emulator.cfn.resources import TypeHooks, register_hooks
from emulator.cfn.resources.model import EmulatedResource
from emulator.codepipeline import engine
from emulator.codepipeline.backend import start_execution

logger = logging.getLogger(__name__)

# Properties that configure CloudFormation's handling rather than the pipeline declaration.
_NOT_DECLARATION = {"Name", "Tags", "RestartExecutionOnUpdate", "DisableInboundStageTransitions",
                    "ArtifactStores", "Stages"}


def _camel(value: Any) -> Any:
    """PascalCase property names (all the way down) to the API's camelCase."""
    if isinstance(value, dict):
        return {key[:1].lower() + key[1:]: _camel(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_camel(item) for item in value]
    return value


def _config_value(value: Any) -> str:
    # The API's configuration is a string map; templates often write booleans and numbers.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def _action(action: dict[str, Any]) -> dict[str, Any]:
    converted = _camel({k: v for k, v in action.items() if k != "Configuration"})
    # Configuration keys belong to the action provider and keep their spelling.
    converted["configuration"] = {k: _config_value(v) for k, v in (action.get("Configuration") or {}).items()}
    if "runOrder" in converted:
        converted["runOrder"] = int(converted["runOrder"])
    return converted


def to_declaration(name: str, properties: dict[str, Any]) -> dict[str, Any]:
    """The CreatePipeline/UpdatePipeline declaration for a resource's Properties."""
    declaration = _camel({k: v for k, v in properties.items() if k not in _NOT_DECLARATION})
    declaration["name"] = name
    declaration["stages"] = [
        {**_camel({k: v for k, v in stage.items() if k != "Actions"}),
         "actions": [_action(a) for a in stage.get("Actions") or []]}
        for stage in properties.get("Stages") or []
    ]
    if "ArtifactStores" in properties:
        declaration["artifactStores"] = {
            store["Region"]: _camel(store["ArtifactStore"]) for store in properties["ArtifactStores"]
        }
    return declaration


def _tags(properties: dict[str, Any]) -> list[dict[str, str]]:
    return [{"key": t["Key"], "value": str(t["Value"])} for t in properties.get("Tags") or []]


def _backend(account_id: str, region_name: str) -> CodePipelineBackend:
    return codepipeline_backends[account_id][region_name]


class CodePipelineStackResource(EmulatedResource, CloudFormationModel):
    """A stack's handle on a pipeline; the pipeline itself lives in moto's CodePipeline backend."""

    TYPE = "AWS::CodePipeline::Pipeline"
    NAME_PROPERTY = "Name"
    ATTRIBUTES = {"Version": lambda resource: str(resource.pipeline.pipeline["version"])}

    def __init__(self, account_id: str, region_name: str, name: str) -> None:
        super().__init__(account_id, region_name)
        self.name = name

    @property
    def pipeline(self) -> Any:
        return _backend(self.account_id, self.region_name).pipelines[self.name]

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[override]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
        region_name: str, **kwargs: Any,
    ) -> CodePipelineStackResource:
        properties = cloudformation_json.get("Properties") or {}
        _backend(account_id, region_name).create_pipeline(
            to_declaration(resource_name, properties), _tags(properties), created_by=str(kwargs.get("StackId", ""))
        )
        logger.info("stack created pipeline %s in %s %s", resource_name, account_id, region_name)
        return cls(account_id, region_name, resource_name)

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[override]
        cls, original_resource: CodePipelineStackResource, new_resource_name: str,
        cloudformation_json: dict[str, Any], account_id: str, region_name: str,
    ) -> CodePipelineStackResource:
        properties = cloudformation_json.get("Properties") or {}
        if "Name" not in properties:
            # moto generates a fresh random name on every update; AWS keeps the generated one.
            new_resource_name = original_resource.name
        if new_resource_name != original_resource.name:
            replacement = cls.create_from_cloudformation_json(new_resource_name, cloudformation_json,
                                                              account_id, region_name)
            _backend(account_id, region_name).delete_pipeline(original_resource.name)
            return replacement
        return update_in_place(original_resource, properties, account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[override]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str,
    ) -> None:
        _backend(account_id, region_name).delete_pipeline(resource_name)


def update_in_place(resource: CodePipelineStackResource, properties: dict[str, Any], account_id: str,
                    region_name: str) -> CodePipelineStackResource:
    """UpdatePipeline with the new properties: the version goes up, executions and history stay."""
    backend = _backend(account_id, region_name)
    backend.update_pipeline(to_declaration(resource.name, properties))
    pipeline = backend.pipelines[resource.name]
    pipeline.tags = {t["key"]: t["value"] for t in _tags(properties)}
    if str(properties.get("RestartExecutionOnUpdate", "false")).lower() == "true":
        with engine.LOCK:
            start_execution(backend, pipeline, "StartPipelineExecution", "RestartExecutionOnUpdate")
    logger.info("stack updated pipeline %s to version %s", resource.name, pipeline.pipeline["version"])
    return resource


def register_update_hook() -> None:
    """Give the emulator's CloudFormation engine an in-place update, instead of delete and recreate."""
    register_hooks(CodePipelineStackResource.cloudformation_type(), TypeHooks(
        update=lambda existing, properties, account_id, region: update_in_place(
            existing.model, properties, account_id, region),
    ))
