"""YAML scalars as CloudFormation reads them: strings, where Python's YAML sees booleans and numbers.

PyYAML turns ``true`` into True and ``30`` into 30; CloudFormation keeps parameter values,
``AllowedValues``, defaults, mapping keys and values, and the operands of ``Fn::Equals``,
``Fn::Join``, ``Fn::Sub`` and ``Fn::FindInMap`` as strings, compared case-sensitively: ``true``
is "true" (never Python's "True"). Property values become strings where the resource's registry
schema says the property is a string (tag values, environment variables, ...); a string becomes a
boolean or a number where the schema says so (a mapping value for RetentionInDays).
"""
from __future__ import annotations

from typing import Any

from emulator.cfn.schema import MissingSchemaError, resource_schema

# Intrinsic functions whose scalar operands CloudFormation reads as strings.
_STRING_OPERANDS = ("Fn::Equals", "Fn::FindInMap")


def text(value: Any) -> Any:
    """A YAML boolean or number as CloudFormation's string; anything else unchanged."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return value


def _texts(value: Any) -> Any:
    return [text(v) for v in value] if isinstance(value, list) else text(value)


def _operands(node: Any) -> Any:
    """Intrinsic functions' literal operands as strings, throughout a template fragment."""
    if isinstance(node, list):
        return [_operands(item) for item in node]
    if not isinstance(node, dict):
        return node
    result = {key: _operands(value) for key, value in node.items()}
    for key in _STRING_OPERANDS:
        if isinstance(result.get(key), list):
            result[key] = [text(v) for v in result[key]]
    join = result.get("Fn::Join")
    if isinstance(join, list) and len(join) == 2 and isinstance(join[1], list):
        result["Fn::Join"] = [join[0], [text(v) for v in join[1]]]
    sub = result.get("Fn::Sub")
    if isinstance(sub, list) and len(sub) == 2 and isinstance(sub[1], dict):
        result["Fn::Sub"] = [sub[0], {k: text(v) for k, v in sub[1].items()}]
    return result


def _parameters(parameters: Any) -> Any:
    if not isinstance(parameters, dict):
        return parameters
    result = {}
    for name, spec in parameters.items():
        if isinstance(spec, dict):
            spec = dict(spec)
            if isinstance(spec.get("AllowedValues"), list):
                spec["AllowedValues"] = [text(v) for v in spec["AllowedValues"]]
            if "Default" in spec:
                spec["Default"] = _texts(spec["Default"])
        result[name] = spec
    return result


def _mappings(mappings: Any) -> Any:
    if not isinstance(mappings, dict):
        return mappings
    return {
        name: {text(top): ({text(second): _texts(value) for second, value in entries.items()}
                           if isinstance(entries, dict) else entries)
               for top, entries in mapping.items()} if isinstance(mapping, dict) else mapping
        for name, mapping in mappings.items()
    }


def normalise(template: dict[str, Any]) -> dict[str, Any]:
    """The template with its scalars where CloudFormation reads strings turned into those strings."""
    result = _operands(template)
    if "Parameters" in result:
        result["Parameters"] = _parameters(result["Parameters"])
    if "Mappings" in result:
        result["Mappings"] = _mappings(result["Mappings"])
    if isinstance(result.get("Outputs"), dict):
        result["Outputs"] = {name: ({**output, "Value": text(output["Value"])}
                                    if isinstance(output, dict) and "Value" in output else output)
                             for name, output in result["Outputs"].items()}
    return result


# ---- property values, by the resource's schema ------------------------------------------------
def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    seen = 0
    while isinstance(node, dict) and "$ref" in node and seen < 20:
        path = node["$ref"].lstrip("#/").split("/")
        target: Any = root
        for part in path:
            target = target.get(part, {}) if isinstance(target, dict) else {}
        node, seen = target, seen + 1
    return node if isinstance(node, dict) else {}


def _number(value: str) -> Any:
    try:
        return int(value)
    except ValueError:
        try:
            return float(value)
        except ValueError:
            return value  # the resource's handler refuses it, as on AWS


# A string where the schema wants another type: CloudFormation converts it (a Ref to a parameter,
# a mapping value, a Join) before the resource's handler sees it.
_FROM_STRING = {
    "integer": _number, "number": _number,
    "boolean": lambda value: {"true": True, "false": False}.get(value.lower(), value),
}


def _coerce(value: Any, node: dict[str, Any], root: dict[str, Any]) -> Any:
    node = _resolve(node, root)
    kind = node.get("type")
    if kind == "string":
        return text(value)
    if isinstance(value, str) and isinstance(kind, str) and kind in _FROM_STRING:
        return _FROM_STRING[kind](value)
    if isinstance(value, dict) and (kind in (None, "object")):
        properties = node.get("properties") or {}
        patterns = list((node.get("patternProperties") or {}).values())
        extra = node.get("additionalProperties")
        result = {}
        for key, item in value.items():
            if key in properties:
                child = properties[key]
            elif len(patterns) == 1:
                child = patterns[0]
            elif isinstance(extra, dict):
                child = extra
            else:
                result[key] = item
                continue
            result[key] = _coerce(item, child, root)
        return result
    if isinstance(value, list) and kind in (None, "array") and isinstance(node.get("items"), dict):
        return [_coerce(item, node["items"], root) for item in value]
    return value


def as_schema_types(resource_type: str, properties: dict[str, Any]) -> dict[str, Any]:
    """Resolved properties with YAML booleans and numbers as strings where the schema wants strings."""
    try:
        schema = resource_schema(resource_type)
    except MissingSchemaError:
        return properties  # the engine reports the missing schema where it matters
    return _coerce(properties, {"type": "object", "properties": schema.get("properties") or {}}, schema)
