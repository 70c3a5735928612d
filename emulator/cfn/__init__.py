"""CloudFormation extension: extra resource types, change sets, pacing, failures with rollback.

``install()`` swaps moto's CloudFormation backend class for the emulator's, puts the
emulator's request handlers on moto's CloudFormationResponse, and makes moto see the new
resource types.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from emulator.patches import Patch

logger = logging.getLogger(__name__)


def clear_model_caches() -> None:
    """Forget moto's cached list of CloudFormation models so new subclasses are seen."""
    from moto.cloudformation import parsing

    parsing.get_model_list.cache_clear()
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()


def patches() -> tuple[Patch, ...]:
    """The extension's patches of moto (imported on demand: importing the package stays cheap)."""
    from emulator.cfn import backend, responses
    from emulator.cfn import resources  # noqa: F401 - defining the models registers the resource types
    from emulator.cfn.resources import awslambda

    return backend.PATCHES + responses.PATCHES + awslambda.PATCHES


def install() -> None:
    """Register the resource types, the backend and the request handlers with moto (idempotent)."""
    from emulator.cfn import schema
    from emulator.patches import MOTO

    applied = MOTO.install(patches())
    clear_model_caches()
    schema.check_available()
    if applied:
        logger.info("CloudFormation extension installed")
