"""Template reading: parsing, references between resources, and dependency order.

moto creates resources lazily while resolving ``Ref``; the emulator walks them itself, in the
order CloudFormation would, so that stack events, failures and rollbacks follow that order.
"""
from __future__ import annotations

import re
from typing import Any, Iterable

import yaml

from moto.cloudformation.exceptions import CloudFormationError, ValidationError
from moto.cloudformation.models import Stack

from emulator.cfn.scalars import normalise, text as scalar_text

# ${Name} or ${Name.Attribute} in Fn::Sub; ${!Literal} is an escaped literal.
_SUB_VARIABLE = re.compile(r"\$\{(?!!)([^}]+)\}")


def parse(template_body: str | dict[str, Any]) -> dict[str, Any]:
    """Parse a JSON or YAML template body (short-form tags included) into a dict.

    Scalars CloudFormation reads as strings are strings (``emulator/cfn/scalars.py``).
    """
    if isinstance(template_body, dict):
        return template_body
    try:
        parsed = Stack.parse_template(template_body)
    except (ValueError, yaml.YAMLError) as err:
        raise ValidationError(message=f"Template format error: {err}") from err
    if not isinstance(parsed, dict):
        raise ValidationError(message="Template format error: JSON not well-formed.")
    return normalise(parsed)


def references(node: Any) -> set[str]:
    """Names a template fragment refers to through Ref, Fn::GetAtt and Fn::Sub."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                target = value[0] if isinstance(value, list) else str(value).split(".")[0]
                found.add(target)
            elif key == "Fn::Sub":
                text, variables = (value[0], value[1]) if isinstance(value, list) else (value, {})
                if isinstance(text, str):
                    names = {m.split(".")[0] for m in _SUB_VARIABLE.findall(text)}
                    found |= names - set(variables)
                found |= references(variables)
            else:
                found |= references(value)
    elif isinstance(node, list):
        for item in node:
            found |= references(item)
    return found


def depends_on(resource: dict[str, Any]) -> set[str]:
    value = resource.get("DependsOn", [])
    return {value} if isinstance(value, str) else set(value)


def dependencies(resources: dict[str, Any], active: Iterable[str]) -> dict[str, set[str]]:
    """For each active resource, the active resources it needs first."""
    active_ids = set(active)
    graph: dict[str, set[str]] = {}
    for logical_id in active_ids:
        resource = resources[logical_id]
        needed = references(resource.get("Properties", {})) | depends_on(resource)
        graph[logical_id] = {dep for dep in needed if dep in active_ids and dep != logical_id}
    return graph


def dependency_order(resources: dict[str, Any], active: Iterable[str]) -> list[str]:
    """Active resources in creation order: dependencies first, template order otherwise.

    :raise ValidationError: on a dependency cycle, with CloudFormation's message.
    """
    active_list = [logical_id for logical_id in resources if logical_id in set(active)]
    graph = dependencies(resources, active_list)
    order: list[str] = []
    placed: set[str] = set()
    remaining = list(active_list)
    while remaining:
        ready = [lid for lid in remaining if graph[lid] <= placed]
        if not ready:
            raise ValidationError(
                message=f"Circular dependency between resources: [{', '.join(sorted(remaining))}]"
            )
        # One at a time keeps template order among resources that are ready together.
        order.append(ready[0])
        placed.add(ready[0])
        remaining.remove(ready[0])
    return order


def check_references(template: dict[str, Any]) -> None:
    """Reject references to names the template does not declare, as CloudFormation does.

    :raise ValidationError: "Template format error: Unresolved resource dependencies [X] ..."
    """
    resources = template.get("Resources") or {}
    known = set(resources) | set(template.get("Parameters") or {})
    unresolved: set[str] = set()
    for resource in resources.values():
        names = references(resource.get("Properties", {})) | depends_on(resource)
        unresolved |= {n for n in names if n not in known and not n.startswith("AWS::")}
    if unresolved:
        raise ValidationError(
            message="Template format error: Unresolved resource dependencies "
            f"[{', '.join(sorted(unresolved))}] in the Resources block of the template"
        )


def _constraint_error(name: str, spec: dict[str, Any], default: str) -> ValidationError:
    # With a ConstraintDescription AWS reports it instead of the specific rule.
    if spec.get("ConstraintDescription"):
        return ValidationError(
            message=f"Parameter {name} failed to satisfy constraint: {spec['ConstraintDescription']}")
    return ValidationError(message=default)


def check_parameters(template: dict[str, Any], values: dict[str, Any]) -> None:
    """Apply AllowedValues, AllowedPattern, Min/MaxLength and Min/MaxValue as CloudFormation does.

    :raise ValidationError: for the first parameter that breaks its constraints.
    """
    for name, spec in (template.get("Parameters") or {}).items():
        if name not in values:
            continue
        items = values[name] if isinstance(values[name], list) else [values[name]]
        for value in items:
            text = str(scalar_text(value))
            allowed = spec.get("AllowedValues")
            if allowed is not None and text not in [scalar_text(a) for a in allowed]:
                raise _constraint_error(name, spec, f"Parameter '{name}' must be one of AllowedValues")
            pattern = spec.get("AllowedPattern")
            if pattern is not None and not re.fullmatch(pattern, text):
                raise _constraint_error(name, spec, f"Parameter '{name}' must match pattern {pattern}")
            if "MinLength" in spec and len(text) < int(spec["MinLength"]):
                raise _constraint_error(
                    name, spec, f"Parameter '{name}' must contain at least {spec['MinLength']} characters")
            if "MaxLength" in spec and len(text) > int(spec["MaxLength"]):
                raise _constraint_error(
                    name, spec, f"Parameter '{name}' must contain at most {spec['MaxLength']} characters")
            if "MinValue" in spec and float(text) < float(spec["MinValue"]):
                raise _constraint_error(
                    name, spec, f"Parameter '{name}' must be a number not less than {spec['MinValue']}")
            if "MaxValue" in spec and float(text) > float(spec["MaxValue"]):
                raise _constraint_error(
                    name, spec, f"Parameter '{name}' must be a number not greater than {spec['MaxValue']}")


class InsufficientCapabilitiesError(CloudFormationError):
    code = "InsufficientCapabilitiesException"


# IAM resource types, with the property that names them (a name needs CAPABILITY_NAMED_IAM).
IAM_TYPES = {
    "AWS::IAM::Role": "RoleName", "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::IAM::User": "UserName", "AWS::IAM::Group": "GroupName",
    "AWS::IAM::InstanceProfile": "InstanceProfileName", "AWS::IAM::Policy": None,
    "AWS::IAM::AccessKey": None, "AWS::IAM::UserToGroupAddition": None,
}


def check_capabilities(template: dict[str, Any], capabilities: Iterable[str]) -> None:
    """Demand the acknowledgement CloudFormation demands for templates that create IAM resources.

    :raise InsufficientCapabilitiesError: "Requires capabilities : [CAPABILITY_...]".
    """
    granted = set(capabilities)
    iam = [r for r in (template.get("Resources") or {}).values() if r.get("Type") in IAM_TYPES]
    named = any(IAM_TYPES[r["Type"]] in (r.get("Properties") or {}) for r in iam if IAM_TYPES[r["Type"]])
    if named and "CAPABILITY_NAMED_IAM" not in granted:
        raise InsufficientCapabilitiesError("Requires capabilities : [CAPABILITY_NAMED_IAM]")
    if iam and not granted & {"CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"}:
        raise InsufficientCapabilitiesError("Requires capabilities : [CAPABILITY_IAM]")
