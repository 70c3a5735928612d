"""Per-type hooks the engine calls around moto's CloudFormation models.

moto's models create resources but ignore some properties, and their "updates" mostly
delete and recreate. Hooks fill those gaps without changing moto's classes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

Properties = dict[str, Any]


@dataclass(frozen=True)
class TypeHooks:
    # Fill in defaults AWS applies before the model sees the properties.
    prepare: Callable[[Properties, str, str], None] | None = None
    # Apply properties the moto model ignores, right after it created the resource.
    after_create: Callable[[Any, Properties, str, str], None] | None = None
    # Update in place (no replacement): (existing resource, new properties, account, region) -> model.
    update: Callable[[Any, Properties, str, str], Any] | None = None
    # Delete the way CloudFormation does (e.g. detach first): (existing resource, account, region).
    delete: Callable[[Any, str, str], None] | None = None
    # Fn::GetAtt attributes moto's model lacks or spells differently from AWS: name -> f(model).
    attributes: dict[str, Callable[[Any], Any]] = field(default_factory=dict)


class AttributeView:
    """A model as Ref/Fn::GetAtt see it, with the type's attribute hooks taking precedence."""

    def __init__(self, model: Any, attributes: dict[str, Callable[[Any], Any]]) -> None:
        self._model = model
        self._attributes = attributes

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name in self._attributes:
            return self._attributes[attribute_name](self._model)
        return self._model.get_cfn_attribute(attribute_name)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("_model", "_attributes"):
            # copy.deepcopy builds a view without __init__ and asks for these first.
            raise AttributeError(name)
        return getattr(self._model, name)


def tag_dict(tags: list[dict[str, str]] | None) -> dict[str, str]:
    """CloudFormation's [{Key, Value}] tags as a dict."""
    return {tag["Key"]: tag["Value"] for tag in tags or []}


def camel_keys(value: Any, renames: dict[str, str] | None = None) -> Any:
    """CloudFormation's PascalCase keys as an API's camelCase keys, recursively."""
    renames = renames or {}
    if isinstance(value, dict):
        return {
            renames.get(key, key[:1].lower() + key[1:]): camel_keys(item, renames)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [camel_keys(item, renames) for item in value]
    return value
