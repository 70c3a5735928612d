"""Load CloudFormation YAML, short-form intrinsics (!Ref, !Sub, !GetAtt...) included."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class CloudFormationLoader(yaml.SafeLoader):
    """A SafeLoader that turns ``!Tag value`` into the long form ``{"Fn::Tag": value}``."""


def _construct_intrinsic(loader: CloudFormationLoader, suffix: str, node: yaml.Node) -> dict:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref" or suffix == "Condition":
        return {suffix: value}
    if suffix == "GetAtt" and isinstance(value, str):
        # !GetAtt Resource.Attribute is short for ["Resource", "Attribute"].
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


CloudFormationLoader.add_multi_constructor("!", _construct_intrinsic)


def load_template(path: Path) -> dict:
    """Parse a CloudFormation YAML (or JSON) template file."""
    with path.open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=CloudFormationLoader)  # noqa: S506 - SafeLoader subclass
