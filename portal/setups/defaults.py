"""Default per-stage parameters: the sample app's config/<stage>.json when present, else built-in values.

The built-in values are the SAM template's own defaults (core.validation.STAGE_PARAMETER_DEFAULTS).
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from core import validation as v

log = logging.getLogger(__name__)


def stage_defaults(config_dir: str | Path) -> dict[str, dict[str, Any]]:
    """Return ``{stage: {parameter: value}}``, taking each valid value from the stage's file.

    The files are CodePipeline template configuration files: ``{"Parameters": {...}, "Tags": {...}}``.
    A missing file, or a value that breaks the portal's rule for it, falls back to the built-in default.
    """
    defaults = {}
    for stage in v.STAGES:
        values = dict(v.STAGE_PARAMETER_DEFAULTS)
        path = Path(config_dir) / f"{stage}.json"
        try:
            parameters = json.loads(path.read_text(encoding="utf-8")).get("Parameters", {})
        except FileNotFoundError:
            parameters = {}
        except (OSError, ValueError, AttributeError) as err:
            log.warning("Ignoring %s: %s", path, err)
            parameters = {}
        if not isinstance(parameters, dict):
            parameters = {}
        for name, check in v.STAGE_PARAMETER_CHECKS.items():
            if name in parameters:
                try:
                    values[name] = check(parameters[name])
                except v.InvalidValue as err:
                    log.warning("Ignoring %s in %s: %s", name, path, err)
        defaults[stage] = values
    return defaults


def with_defaults(stored: dict[str, Any], config_dir: str | Path) -> dict[str, dict[str, Any]]:
    """Lay a setup's stored per-stage values over the defaults, stage by stage.

    A setup saved before a parameter joined the set lacks it; the wizard and the API then offer the
    default for it instead of refusing the stored values.
    """
    defaults = stage_defaults(config_dir)
    stored = stored if isinstance(stored, dict) else {}
    return {stage: {**defaults[stage], **(stored.get(stage) if isinstance(stored.get(stage), dict) else {})}
            for stage in v.STAGES}
