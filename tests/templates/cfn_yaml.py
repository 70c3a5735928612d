"""Read CloudFormation YAML templates, short-form intrinsic functions included.

PyYAML's SafeLoader rejects CloudFormation's short forms (``!Ref``, ``!Sub``...). The loader here
turns each into the long JSON form CloudFormation itself uses (``{"Fn::Sub": ...}``), so tests
compare templates the way CloudFormation reads them.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

# Short tag -> long-form key. !Ref and !Condition keep their names; the rest are Fn:: functions.
INTRINSIC_TAGS = {
    "Ref": "Ref",
    "Condition": "Condition",
    "Sub": "Fn::Sub",
    "GetAtt": "Fn::GetAtt",
    "If": "Fn::If",
    "Equals": "Fn::Equals",
    "Not": "Fn::Not",
    "And": "Fn::And",
    "Or": "Fn::Or",
    "Join": "Fn::Join",
    "Select": "Fn::Select",
    "Split": "Fn::Split",
    "FindInMap": "Fn::FindInMap",
    "Base64": "Fn::Base64",
    "ImportValue": "Fn::ImportValue",
    "GetAZs": "Fn::GetAZs",
    "Cidr": "Fn::Cidr",
}

NO_VALUE = {"Ref": "AWS::NoValue"}


class CfnLoader(yaml.SafeLoader):
    """A SafeLoader that also knows CloudFormation's short-form intrinsic function tags."""


def _construct_intrinsic(loader: CfnLoader, node: yaml.Node, key: str) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        # !GetAtt Resource.Attribute is the only scalar short form whose long form is a list;
        # attribute names may contain dots themselves (Endpoint.Address), so split once.
        if key == "Fn::GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {key: value}


for _tag, _key in INTRINSIC_TAGS.items():
    CfnLoader.add_constructor(
        f"!{_tag}",
        lambda loader, node, key=_key: _construct_intrinsic(loader, node, key),
    )


def load_template_text(text: str) -> dict[str, Any]:
    """Parse a CloudFormation YAML document into plain dicts and lists."""
    document = yaml.load(text, Loader=CfnLoader)  # noqa: S506 - CfnLoader is a SafeLoader
    if not isinstance(document, dict):
        raise ValueError("a CloudFormation template must be a mapping")
    return document


def load_template(path: Path) -> dict[str, Any]:
    """Parse the CloudFormation YAML template at ``path``."""
    return load_template_text(path.read_text(encoding="utf-8"))


def as_list(value: Any) -> list[Any]:
    """IAM and CloudFormation accept a single value where a list is expected; normalise."""
    return value if isinstance(value, list) else [value]


def if_branches(value: Any) -> list[Any]:
    """Every value ``value`` can take through Fn::If, AWS::NoValue dropped, list values flattened.

    Tests use this to check a property in every condition scenario (e.g. both sources).
    """
    if isinstance(value, dict) and set(value) == {"Fn::If"}:
        _condition, when_true, when_false = value["Fn::If"]
        return if_branches(when_true) + if_branches(when_false)
    if value == NO_VALUE:
        return []
    return [value]


def policy_documents(template: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Yield ``(logical id, where, document)`` for every IAM-language document in the template.

    Covers role trust and inline policies, managed and inline policy resources, bucket, topic
    and key policies: everywhere a statement can grant something.
    """
    for logical_id, resource in template.get("Resources", {}).items():
        properties = resource.get("Properties", {})
        kind = resource["Type"]
        if kind == "AWS::IAM::Role":
            yield logical_id, "AssumeRolePolicyDocument", properties["AssumeRolePolicyDocument"]
            for policy in properties.get("Policies", []):
                yield logical_id, f"Policies/{policy['PolicyName']}", policy["PolicyDocument"]
        elif kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            yield logical_id, "PolicyDocument", properties["PolicyDocument"]
        elif kind in ("AWS::S3::BucketPolicy", "AWS::SNS::TopicPolicy"):
            yield logical_id, "PolicyDocument", properties["PolicyDocument"]
        elif kind == "AWS::KMS::Key":
            yield logical_id, "KeyPolicy", properties["KeyPolicy"]


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The statements of a policy document, conditional (Fn::If) statements included."""
    found = []
    for statement in as_list(document["Statement"]):
        found.extend(if_branches(statement))
    return found


def all_statements(template: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Yield ``(logical id, where, statement)`` for every statement of every policy."""
    for logical_id, where, document in policy_documents(template):
        for statement in statements(document):
            yield logical_id, where, statement


def resources_of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    """Logical id -> resource for every resource of CloudFormation type ``kind``."""
    return {
        logical_id: resource
        for logical_id, resource in template.get("Resources", {}).items()
        if resource["Type"] == kind
    }
