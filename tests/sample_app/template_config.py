"""Check CloudFormation template configuration files against their template.

A template configuration file is what CodePipeline's CloudFormation action
reads through TemplateConfiguration: {"Parameters": {...}, "Tags": {...},
"StackPolicy": {...}}, every parameter value a string.
"""
from __future__ import annotations

import re
from typing import Any

ALLOWED_KEYS = frozenset({"Parameters", "Tags", "StackPolicy"})
MAX_TAGS = 50
MAX_TAG_KEY_LENGTH = 128
MAX_TAG_VALUE_LENGTH = 256
# Besides letters, digits and white space, AWS tags allow these characters.
TAG_PUNCTUATION = frozenset("_.:/=+-@")


def tag_problems(tags: Any) -> list[str]:
    """List how ``tags`` breaks the AWS tagging rules (empty when it does not)."""
    if not isinstance(tags, dict):
        return [f"Tags must be an object, not {type(tags).__name__}"]
    problems = []
    if len(tags) > MAX_TAGS:
        problems.append(f"{len(tags)} tags: at most {MAX_TAGS} are allowed")
    for key, value in tags.items():
        if not isinstance(value, str):
            problems.append(f"tag {key!r}: value must be a string")
            continue
        if not 1 <= len(key) <= MAX_TAG_KEY_LENGTH:
            problems.append(f"tag {key!r}: key must be 1 to {MAX_TAG_KEY_LENGTH} characters")
        if len(value) > MAX_TAG_VALUE_LENGTH:
            problems.append(f"tag {key!r}: value must be at most {MAX_TAG_VALUE_LENGTH} characters")
        if key.lower().startswith("aws:"):
            problems.append(f"tag {key!r}: the aws: prefix is reserved for AWS")
        for label, text in (("key", key), ("value", value)):
            bad = sorted({ch for ch in text if not _is_tag_character(ch)})
            if bad:
                problems.append(f"tag {key!r}: {label} has characters AWS does not allow: {bad}")
    return problems


def parameter_problems(parameters: Any, template: dict) -> list[str]:
    """List how ``parameters`` does not fit the template's Parameters section."""
    if not isinstance(parameters, dict):
        return [f"Parameters must be an object, not {type(parameters).__name__}"]
    declared = template.get("Parameters", {})
    problems = []
    for name, value in parameters.items():
        if name not in declared:
            problems.append(f"parameter {name!r} is not declared in the template")
            continue
        if not isinstance(value, str):
            problems.append(f"parameter {name!r}: value must be a string, not {type(value).__name__}")
            continue
        problems.extend(_value_problems(name, value, declared[name]))
    for name, spec in declared.items():
        if "Default" not in spec and name not in parameters:
            problems.append(f"parameter {name!r} has no default and is not given")
    return problems


def configuration_problems(config: Any, template: dict) -> list[str]:
    """List everything wrong with a template configuration file's content."""
    if not isinstance(config, dict):
        return ["a template configuration must be a JSON object"]
    problems = [f"unknown key {key!r}" for key in sorted(set(config) - ALLOWED_KEYS)]
    problems.extend(parameter_problems(config.get("Parameters", {}), template))
    problems.extend(tag_problems(config.get("Tags", {})))
    policy = config.get("StackPolicy")
    if policy is not None and not (isinstance(policy, dict) and isinstance(policy.get("Statement"), list)):
        problems.append("StackPolicy must be an object with a Statement list")
    return problems


def _value_problems(name: str, value: str, spec: dict) -> list[str]:
    problems = []
    allowed = spec.get("AllowedValues")
    if allowed is not None and value not in [str(v) for v in allowed]:
        problems.append(f"parameter {name!r}: {value!r} is not one of {allowed}")
    if spec.get("Type") == "Number":
        try:
            number = float(value)
        except ValueError:
            return [f"parameter {name!r}: {value!r} is not a number"]
        if "MinValue" in spec and number < float(spec["MinValue"]):
            problems.append(f"parameter {name!r}: {value} is below MinValue {spec['MinValue']}")
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            problems.append(f"parameter {name!r}: {value} is above MaxValue {spec['MaxValue']}")
    if "MinLength" in spec and len(value) < int(spec["MinLength"]):
        problems.append(f"parameter {name!r}: shorter than MinLength {spec['MinLength']}")
    if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
        problems.append(f"parameter {name!r}: longer than MaxLength {spec['MaxLength']}")
    pattern = spec.get("AllowedPattern")
    if pattern is not None and re.fullmatch(pattern, value) is None:
        problems.append(f"parameter {name!r}: {value!r} does not match AllowedPattern {pattern!r}")
    return problems


def _is_tag_character(ch: str) -> bool:
    return ch.isalpha() or ch.isdigit() or ch.isspace() or ch in TAG_PUNCTUATION
