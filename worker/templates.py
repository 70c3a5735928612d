"""The two CloudFormation templates: reading, fingerprinting and a light parse.

The parse only reads what the worker needs without calling AWS: the declared parameters (so
only those are passed) and the resources (what a stack that is recreated or launched by an
account's admin will contain, since no change set can describe those).
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from core.stacks import BUILD_TEMPLATE, DEPLOY_TEMPLATE  # noqa: F401 - callers read them here too
from worker import settings

logger = logging.getLogger(__name__)



class TemplateError(Exception):
    """A template is missing or cannot be read."""


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that accepts CloudFormation's short tags (!Ref, !Sub, !GetAtt, ...)."""


def _construct_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if tag_suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


@dataclass(frozen=True)
class Template:
    name: str
    body: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body.encode()).hexdigest()

    @property
    def size(self) -> int:
        return len(self.body.encode())

    def parsed(self) -> dict[str, Any]:
        try:
            data = yaml.load(self.body, Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass
        except yaml.YAMLError as err:
            raise TemplateError(f"{self.name} is not valid YAML/JSON: {err}") from err
        if not isinstance(data, dict):
            raise TemplateError(f"{self.name} is not a CloudFormation template (no mapping at the top)")
        return data

    def parameter_names(self) -> set[str]:
        return set((self.parsed().get("Parameters") or {}).keys())

    def resources(self) -> list[tuple[str, str]]:
        """Return (logical id, type) of every resource, in template order."""
        resources = self.parsed().get("Resources") or {}
        return [(logical_id, spec.get("Type", "")) for logical_id, spec in resources.items()]

    def select_parameters(self, values: dict[str, str]) -> dict[str, str]:
        """Keep the values the template declares; CloudFormation rejects undeclared ones."""
        declared = self.parameter_names()
        dropped = sorted(set(values) - declared)
        if dropped:
            logger.warning("%s does not declare %s; not passing them", self.name, ", ".join(dropped))
        return {key: value for key, value in values.items() if key in declared}


def load(name: str, directory: Path | None = None) -> Template:
    path = (directory or settings.templates_dir()) / name
    try:
        return Template(name=name, body=path.read_text(encoding="utf-8"))
    except OSError as err:
        raise TemplateError(f"cannot read template {path}: {err}") from err


def fingerprints(directory: Path | None = None) -> dict[str, str]:
    """Return the SHA-256 of both templates: a plan is stale once these change."""
    return {name: load(name, directory).sha256 for name in (DEPLOY_TEMPLATE, BUILD_TEMPLATE)}
