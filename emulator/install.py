"""Install every emulator extension into moto, once per process."""
from __future__ import annotations

import logging
import threading

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_installed = False


def install() -> None:
    """Register the CloudFormation, CodePipeline, STS and S3 bucket-policy extensions; safe to call again."""
    global _installed
    with _lock:
        if _installed:
            return
        # Imported here so that importing emulator.server stays cheap and so that a
        # partner extension still under construction only breaks install(), not imports.
        from emulator import cfn, codepipeline, s3policy, sts

        cfn.install()
        codepipeline.install()
        sts.install()
        s3policy.install()
        _installed = True
        logger.info("emulator extensions installed")
