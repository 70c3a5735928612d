"""CloudFormation extension: extra resource types, change sets, pacing, failures with rollback.

``install()`` swaps moto's CloudFormation backend class for the emulator's, puts the
emulator's request handlers on moto's CloudFormationResponse, and makes moto see the new
resource types.
"""
from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


def clear_model_caches() -> None:
    """Forget moto's cached list of CloudFormation models so new subclasses are seen."""
    from moto.cloudformation import parsing

    parsing.get_model_list.cache_clear()
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()


def install() -> None:
    """Register the resource types, the backend and the request handlers with moto."""
    from moto.cloudformation.models import cloudformation_backends

    from emulator.cfn import resources, responses  # noqa: F401 - defines the resource models
    from emulator.cfn.backend import EmulatedCloudFormationBackend

    clear_model_caches()
    if cloudformation_backends.backend is not EmulatedCloudFormationBackend:
        # New accounts get the emulator's backend; backends made before install are dropped.
        cloudformation_backends.backend = EmulatedCloudFormationBackend
        for account_backend in cloudformation_backends.values():
            account_backend.backend = EmulatedCloudFormationBackend
            account_backend.clear()
    responses.install()
    logger.info("CloudFormation extension installed")
