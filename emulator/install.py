"""Install every emulator extension into moto; installing again changes nothing."""
from __future__ import annotations

import logging

from emulator.patches import MOTO, Patch

logger = logging.getLogger(__name__)


def patches() -> tuple[Patch, ...]:
    """Every patch of moto the extensions make, in installation order."""
    # Imported here so that importing emulator.server stays cheap.
    from emulator import cfn, codebuild, codecommit, codepipeline, eventbridge, s3policy, sts

    return (cfn.patches() + codecommit.PATCHES + codepipeline.PATCHES + sts.PATCHES + s3policy.PATCHES
            + eventbridge.patches() + codebuild.PATCHES)


def install() -> None:
    """Register the CloudFormation, CodeCommit, CodePipeline, STS, S3 bucket-policy and EventBridge extensions.

    :raise UntestedMotoError: moto is not the release the patches were checked against.
    :raise MotoInternalsChanged: a patched part of moto is missing or changed kind.
    """
    from emulator import cfn, cfn_action, codebuild, codecommit, codepipeline, eventbridge, s3policy, sts

    # All patches are checked before any is applied, so a changed moto leaves moto untouched.
    applied = MOTO.install(patches())
    for extension in (cfn, codecommit, codepipeline, sts, s3policy, eventbridge, cfn_action, codebuild):
        extension.install()  # the registrations beside the patches (resource types, reset hooks)
    if applied:
        logger.info("emulator extensions installed: %d patches of moto", len(applied))
