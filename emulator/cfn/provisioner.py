"""One resource at a time in moto: create, update in place, replace, delete.

Each method either succeeds or raises ResourceError with the reason CloudFormation would put
on the resource's *_FAILED event; moto's own errors are reworded the way AWS words a resource
handler's error.
"""
from __future__ import annotations

import copy
import logging
from typing import Any

from moto.cloudformation.parsing import (
    NULL_MODELS,
    clean_json,
    generate_resource_name,
    get_model_map,
    resource_name_property_from_type,
)
from moto.core.common_models import CloudFormationModel

from emulator.cfn.resources import HOOKS
from emulator.cfn.scalars import as_schema_types
from emulator.cfn.schema import MissingSchemaError, create_only_properties, required_properties
from emulator.cfn.stack import EmulatedStack, ExistingResource
from emulator.state import STATE

logger = logging.getLogger(__name__)


class ResourceError(Exception):
    """A resource operation failed; ``reason`` is what its *_FAILED event says."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def error_reason(err: Exception) -> str:
    """Word a moto error the way CloudFormation reports a resource handler's error."""
    message = getattr(err, "message", None) or str(err) or type(err).__name__
    return f'Resource handler returned message: "{message}"'


def supported_model(resource_type: str) -> type[CloudFormationModel]:
    """The moto model for a type, or a ResourceError saying the emulator lacks it."""
    model = None
    if resource_type not in NULL_MODELS and not resource_type.startswith("Custom::"):
        model = get_model_map().get(resource_type)
    if model is None:
        raise ResourceError(f"Resource type {resource_type} is not supported by the emulator")
    return model


class Provisioner:
    """Creates, updates and deletes one stack's resources in moto, keeping stack.existing in step."""

    def __init__(self, stack: EmulatedStack) -> None:
        self.stack = stack
        self.resource_map = stack.resource_map
        self.account_id = stack.account_id
        self.region = stack.region_name

    def injected(self, logical_id: str, operation: str) -> None:
        failure = STATE.take_resource_failure(self.account_id, self.stack.name, logical_id, operation)
        if failure is not None:
            logger.info("injected %s failure on %s/%s: %s", operation, self.stack.name, logical_id,
                        failure.reason)
            raise ResourceError(failure.reason)

    def resolve(self, definition: dict[str, Any]) -> dict[str, Any]:
        """The resource entry with intrinsic functions evaluated against the stack's resources."""
        try:
            resolved = clean_json(copy.deepcopy(definition), self.resource_map)
        except Exception as err:  # noqa: BLE001 - moto raises assorted errors for bad intrinsics
            logger.warning("resolving %s failed: %s", definition.get("Type"), err, exc_info=True)
            raise ResourceError(f"Template error: {getattr(err, 'message', None) or err}") from err
        resolved.setdefault("Properties", {})
        resolved["Properties"] = as_schema_types(resolved.get("Type", ""), resolved["Properties"] or {})
        return resolved

    def check_required(self, logical_id: str, resource_type: str, properties: dict[str, Any]) -> None:
        try:
            required = required_properties(resource_type)
        except MissingSchemaError as err:
            raise ResourceError(str(err)) from err
        missing = [name for name in required if name not in properties]
        if missing:
            raise ResourceError(f"Properties validation failed for resource {logical_id} with message: "
                                f"#: required key [{missing[0]}] not found")

    def instantiate(self, logical_id: str, definition: dict[str, Any], name: str | None) -> ExistingResource:
        resource_type = definition["Type"]
        model_class = supported_model(resource_type)
        hooks = HOOKS.get(resource_type)
        try:
            resolved = self.resolve(definition)
            self.check_required(logical_id, resource_type, resolved["Properties"])
            name_property = resource_name_property_from_type(resource_type)
            if name_property and name_property in resolved["Properties"]:
                name = resolved["Properties"][name_property]
            name = name or generate_resource_name(resource_type, self.stack.name, logical_id)
            # Hooks get copies: what the stack records is what the template said, for diffs.
            given = copy.deepcopy(resolved)
            if hooks and hooks.prepare:
                hooks.prepare(given["Properties"], self.account_id, self.region)
            model = model_class.create_from_cloudformation_json(
                name, given, self.account_id, self.region,
                LogicalId=logical_id, StackId=self.stack.stack_id, ResourceType=resource_type,
            )
            if hooks and hooks.after_create:
                hooks.after_create(model, copy.deepcopy(resolved["Properties"]), self.account_id, self.region)
        except ResourceError:
            raise
        except Exception as err:  # noqa: BLE001 - any model error is this resource's failure
            logger.warning("creating %s (%s) failed: %s", logical_id, resource_type, err, exc_info=True)
            raise ResourceError(error_reason(err)) from err
        model.cf_resource_type = resource_type
        model.logical_resource_id = logical_id
        self.resource_map._parsed_resources[logical_id] = model
        existing = ExistingResource(logical_id, resource_type, str(name), copy.deepcopy(definition),
                                    resolved["Properties"], model)
        self.stack.existing[logical_id] = existing
        return existing

    def destroy(self, existing: ExistingResource) -> None:
        hooks = HOOKS.get(existing.resource_type)
        definition = {"Type": existing.resource_type, "Properties": copy.deepcopy(existing.properties)}
        try:
            if hooks and hooks.delete:
                hooks.delete(existing, self.account_id, self.region)
            else:
                self.resource_map._delete_resource(existing.model, definition)
        except Exception as err:  # noqa: BLE001 - any model error is this resource's failure
            logger.warning("deleting %s failed: %s", existing.logical_id, err, exc_info=True)
            raise ResourceError(error_reason(err)) from err

    def forget(self, logical_id: str) -> None:
        self.stack.existing.pop(logical_id, None)
        self.resource_map._parsed_resources.pop(logical_id, None)

    def needs_replacement(self, old: ExistingResource, definition: dict[str, Any]) -> bool:
        new_properties = self.resolve(definition)["Properties"]
        try:
            create_only = create_only_properties(old.resource_type)
        except MissingSchemaError as err:  # the update fails rather than guessing "in place"
            raise ResourceError(str(err)) from err
        return any(old.properties.get(name) != new_properties.get(name) for name in create_only)

    def modify(self, old: ExistingResource, definition: dict[str, Any], replace: bool) -> ExistingResource:
        """Replace (new copy first, old one left for cleanup), update in place, or recreate in place."""
        hooks = HOOKS.get(old.resource_type)
        updater = hooks.update if hooks else None
        if replace:
            name_property = resource_name_property_from_type(old.resource_type)
            new_name = self.resolve(definition)["Properties"].get(name_property) if name_property else None
            if new_name not in (None, "") and new_name == old.properties.get(name_property):
                raise ResourceError(
                    "CloudFormation cannot update a stack when a custom-named resource requires "
                    f"replacing. Rename {old.name} and update the stack again.")
            return self.instantiate(old.logical_id, definition, None)
        if updater is None:
            # moto has no in-place update for this type: recreate it under the same name.
            self.destroy(old)
            self.forget(old.logical_id)
            return self.instantiate(old.logical_id, definition, old.name)
        try:
            resolved = self.resolve(definition)
            self.check_required(old.logical_id, old.resource_type, resolved["Properties"])
            model = updater(old, copy.deepcopy(resolved["Properties"]), self.account_id, self.region)
        except ResourceError:
            raise
        except Exception as err:  # noqa: BLE001 - any model error is this resource's failure
            logger.warning("updating %s failed: %s", old.logical_id, err, exc_info=True)
            raise ResourceError(error_reason(err)) from err
        model.cf_resource_type = old.resource_type
        model.logical_resource_id = old.logical_id
        self.resource_map._parsed_resources[old.logical_id] = model
        updated = ExistingResource(old.logical_id, old.resource_type, old.name,
                                   copy.deepcopy(definition), resolved["Properties"], model)
        self.stack.existing[old.logical_id] = updated
        return updated

    def restore(self, old: ExistingResource) -> None:
        """Make a resource's previous copy current again (rolling back a replacement)."""
        self.stack.existing[old.logical_id] = old
        self.resource_map._parsed_resources[old.logical_id] = old.model
