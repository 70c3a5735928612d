"""A local CodeBuild: a pipeline's CodeBuild action runs the project's buildspec on the host.

``install()`` registers the (Build, CodeBuild) job starter with the pipeline engine
(``emulator.codepipeline.jobs``) and patches moto's CodeBuild so BatchGetBuilds, StopBuild,
ListBuildsForProject and the Reports API show the builds that really ran. The pieces:
``buildspec`` (reading version 0.2), ``shell`` (one shell's state across commands),
``toolchains`` (runtime-versions on the host), ``environment`` (the variables a build sees),
``credentials`` (the service role, assumed by codebuild.amazonaws.com), ``storage`` (artifacts
over S3), ``artifacts`` (file selection and zips), ``logs`` (CloudWatch Logs), ``reports``
(JUnit test reports), ``records`` (what BatchGetBuilds shows), ``runner`` (the phases) and ``job``
(the pipeline action). The emulator's README says what is and is not emulated.
"""
from __future__ import annotations

import logging

from emulator.codebuild import job, records, reports, responses
from emulator.codepipeline import jobs
from emulator.patches import MOTO
from emulator.state import STATE

__all__ = ["PATCHES", "install"]

logger = logging.getLogger(__name__)

PATCHES = responses.PATCHES


def install() -> None:
    """Patch moto's CodeBuild, let CodeBuild actions run real builds, forget builds on reset (idempotent)."""
    applied = MOTO.install(PATCHES)
    jobs.register("Build", "CodeBuild", job.start)
    STATE.on_reset(records.reset)
    STATE.on_reset(reports.reset)
    if applied:
        logger.debug("CodeBuild extension installed")
