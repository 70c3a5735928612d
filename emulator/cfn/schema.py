"""What CloudFormation's resource schemas say about updates: which properties force replacement.

The registry schemas ship with cfn-lint (a dependency of moto's CloudFormation support);
``createOnlyProperties`` are the ones whose change creates a new physical resource. A lookup
that cannot be answered raises: without the schema the emulator would update in place what
AWS replaces, and nobody would notice.
"""
from __future__ import annotations

import functools
from typing import Any

from cfnlint.schema import PROVIDER_SCHEMA_MANAGER, ResourceNotFoundError

# The schemas are the same in every region for the types the emulator serves.
REGION = "us-east-1"


class MissingSchemaError(LookupError):
    """cfn-lint ships no registry schema for a resource type."""

    def __init__(self, resource_type: str) -> None:
        super().__init__(f"cfn-lint has no registry schema for {resource_type}, so the emulator cannot "
                         "tell which of its properties are required or force a replacement")
        self.resource_type = resource_type


class SchemaUnavailableError(RuntimeError):
    """cfn-lint's schemas do not say what the emulator relies on (a cfn-lint change)."""


@functools.lru_cache(maxsize=None)
def resource_schema(resource_type: str) -> dict[str, Any]:
    """The registry schema of a type. :raise MissingSchemaError: if cfn-lint has none."""
    try:
        return PROVIDER_SCHEMA_MANAGER.get_resource_schema(REGION, resource_type).schema
    except ResourceNotFoundError as err:  # only "no such type"; any other failure is a cfn-lint change
        raise MissingSchemaError(resource_type) from err


def create_only_properties(resource_type: str) -> frozenset[str]:
    """Top-level property names whose change requires replacement. :raise MissingSchemaError:"""
    paths = resource_schema(resource_type).get("createOnlyProperties") or []
    return frozenset(p.split("/")[2] for p in paths if p.startswith("/properties/"))


def required_properties(resource_type: str) -> tuple[str, ...]:
    """Top-level properties the type's schema requires. :raise MissingSchemaError:"""
    return tuple(resource_schema(resource_type).get("required") or ())


def check_available() -> None:
    """Fail at start, not at the first update, if cfn-lint stopped shipping what replacement needs.

    :raise SchemaUnavailableError:
    """
    try:
        topic_create_only = create_only_properties("AWS::SNS::Topic")
    except MissingSchemaError as err:
        raise SchemaUnavailableError(f"cfn-lint's registry schemas are not available: {err}") from err
    if "TopicName" not in topic_create_only:
        raise SchemaUnavailableError(
            "cfn-lint's schema of AWS::SNS::Topic no longer lists TopicName in createOnlyProperties; "
            "the emulator reads replacement rules from there")
