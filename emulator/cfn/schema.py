"""What CloudFormation's resource schemas say about updates: which properties force replacement.

The registry schemas ship with cfn-lint (a dependency of moto's CloudFormation support);
``createOnlyProperties`` are the ones whose change creates a new physical resource.
"""
from __future__ import annotations

import functools
import logging

logger = logging.getLogger(__name__)


@functools.lru_cache(maxsize=None)
def create_only_properties(resource_type: str) -> frozenset[str]:
    """Top-level property names whose change requires replacement (empty if unknown)."""
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    try:
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", resource_type).schema
    except Exception:  # noqa: BLE001 - an unknown type simply has no schema
        logger.debug("no registry schema for %s", resource_type)
        return frozenset()
    paths = schema.get("createOnlyProperties") or []
    return frozenset(p.split("/")[2] for p in paths if p.startswith("/properties/"))


@functools.lru_cache(maxsize=None)
def required_properties(resource_type: str) -> tuple[str, ...]:
    """Top-level properties the type's schema requires."""
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    try:
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", resource_type).schema
    except Exception:  # noqa: BLE001 - an unknown type simply has no schema
        return ()
    return tuple(schema.get("required") or ())
