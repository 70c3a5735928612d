"""Working out what a new template does to a stack: Add, Modify (with Replacement), Remove.

Properties are compared resolved: the new value is evaluated against the stack's current
resources and the new parameters, so a changed parameter shows up where it is used. A value
that depends on a resource being added or replaced cannot be known yet; CloudFormation calls
that a Dynamic evaluation and answers Replacement "Conditional" for it.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.parsing import clean_json

from emulator.cfn.scalars import as_schema_types
from emulator.cfn.schema import create_only_properties
from emulator.cfn.stack import EmulatedResourceMap, EmulatedStack, NotCreatedError
from emulator.cfn.templates import dependency_order, references

_NO_VALUE = object()


class DynamicValue(Exception):
    """The value depends on a resource whose identity is not known until execution."""


@dataclass
class ResourceChange:
    """One entry of a change set; attribute names follow botocore's ResourceChange shape."""

    action: str
    logical_resource_id: str
    resource_type: str
    physical_resource_id: str | None = None
    replacement: str | None = None
    scope: list[str] = field(default_factory=list)
    details: list[dict[str, Any]] = field(default_factory=list)


class PreviewResourceMap(EmulatedResourceMap):
    """The new template's context over the stack's existing resources, creating nothing."""

    def __init__(self, stack: EmulatedStack, template: dict[str, Any], parameters: dict[str, Any]) -> None:
        super().__init__(
            stack.stack_id, stack.name, parameters, stack.tags, region_name=stack.region_name,
            account_id=stack.account_id, template=template,
            cross_stack_resources=stack.cross_stack_resources,
        )
        self.load()
        self.unknown: set[str] = set()
        for logical_id, existing in stack.existing.items():
            self._parsed_resources[logical_id] = existing.model

    def __getitem__(self, key: str) -> Any:
        if key in self.unknown:
            raise DynamicValue(key)
        try:
            return super().__getitem__(key)
        except NotCreatedError as err:
            raise DynamicValue(key) from err

    def resolve(self, value: Any) -> Any:
        """Evaluate a template fragment. :raise DynamicValue: :raise ValidationError: if it is invalid."""
        try:
            return clean_json(copy.deepcopy(value), self)
        except DynamicValue:
            raise
        except Exception as err:  # noqa: BLE001 - moto raises assorted errors for bad intrinsics
            raise ValidationError(message=f"Template error: {getattr(err, 'message', None) or err}") from err


def _property_detail(name: str, create_only: bool, dynamic: bool, source: str,
                     causing: str | None) -> dict[str, Any]:
    if create_only:
        recreation = "Conditionally" if dynamic else "Always"
    else:
        recreation = "Never"
    detail: dict[str, Any] = {
        "Target": {"Attribute": "Properties", "Name": name, "RequiresRecreation": recreation},
        "Evaluation": "Dynamic" if dynamic else "Static",
        "ChangeSource": source,
    }
    if causing:
        detail["CausingEntity"] = causing
    return detail


def _compare(preview: PreviewResourceMap, old: Any, definition: dict[str, Any],
             changed_parameters: set[str]) -> ResourceChange | None:
    """A Modify change for one existing resource, or None when nothing differs."""
    old_raw = old.definition.get("Properties") or {}
    new_raw = definition.get("Properties") or {}
    create_only = create_only_properties(old.resource_type)
    details: list[dict[str, Any]] = []
    for name in list(dict.fromkeys([*old_raw, *new_raw])):
        raw_value = new_raw.get(name, _NO_VALUE)
        refs = references(raw_value) if raw_value is not _NO_VALUE else set()
        try:
            new_value = _NO_VALUE if raw_value is _NO_VALUE else \
                as_schema_types(old.resource_type, {name: preview.resolve(raw_value)})[name]
        except DynamicValue as unknown:
            details.append(_property_detail(name, name in create_only, True, "ResourceReference",
                                            str(unknown)))
            continue
        old_value = old.properties.get(name, _NO_VALUE)
        if new_value is None:
            new_value = _NO_VALUE  # AWS::NoValue removes the property
        if new_value == old_value:
            continue
        if old_raw.get(name, _NO_VALUE) != raw_value:
            source, causing = "DirectModification", None
        else:
            causing = next(iter(sorted(refs & changed_parameters)), None)
            source = "ParameterReference" if causing else "DirectModification"
        details.append(_property_detail(name, name in create_only, False, source, causing))
    if not details:
        return None
    recreations = {d["Target"]["RequiresRecreation"] for d in details}
    replacement = "True" if "Always" in recreations else "Conditional" if "Conditionally" in recreations else "False"
    changed_names = {d["Target"]["Name"] for d in details}
    scope = ["Properties"] + (["Tags"] if "Tags" in changed_names else [])
    return ResourceChange("Modify", old.logical_id, old.resource_type, old.physical_id,
                          replacement, scope, details)


def plan_changes(stack: EmulatedStack, template: dict[str, Any], parameters: dict[str, Any]) -> list[ResourceChange]:
    """Changes the template and parameters would make, in the order they would be made.

    :raise ValidationError: for bad parameters or a resource whose type changes.
    """
    preview = PreviewResourceMap(stack, template, parameters)
    resources = template.get("Resources") or {}
    active = preview.active_resources()
    retyped = [lid for lid in active if lid in stack.existing
               and stack.existing[lid].resource_type != resources[lid]["Type"]]
    if retyped:
        raise ValidationError(message=(
            "Update of resource type is not permitted. The new template modifies resource type of "
            f"the following resources: [{', '.join(retyped)}]"))
    old_parameters = stack.resource_map.resolved_parameters
    changed_parameters = {k for k, v in preview.resolved_parameters.items() if old_parameters.get(k) != v}
    changes: list[ResourceChange] = []
    for logical_id in dependency_order(resources, active):
        old = stack.existing.get(logical_id)
        if old is None:
            changes.append(ResourceChange("Add", logical_id, resources[logical_id]["Type"]))
            preview.unknown.add(logical_id)
            continue
        change = _compare(preview, old, resources[logical_id], changed_parameters)
        if change is None:
            continue
        changes.append(change)
        if change.replacement != "False":
            preview.unknown.add(logical_id)
    for logical_id, old in stack.existing.items():
        if logical_id not in active:
            changes.append(ResourceChange("Remove", logical_id, old.resource_type, old.physical_id))
    return changes


def resolved_parameters(stack: EmulatedStack, template: dict[str, Any], parameters: dict[str, Any]) -> dict[str, Any]:
    """Parameter values the template would run with (defaults applied).

    :raise ValidationError: when a parameter without default has no value.
    """
    return dict(PreviewResourceMap(stack, template, parameters).resolved_parameters)
