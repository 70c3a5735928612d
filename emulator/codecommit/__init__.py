"""CodeCommit for the emulator: real git repositories behind moto's repository metadata.

``PATCHES`` add GetBranch, GetCommit and ListBranches to moto's CodeCommit, make a repository's
``cloneUrlHttp`` the emulator's own ``/v1/repos/NAME`` and delete a repository's git content with
it; ``install()`` applies them and empties every repository on reset. ``git_http`` serves the
repositories over git's smart HTTP; a push there starts the watching pipelines
(``emulator.codepipeline.triggers``).
"""
from __future__ import annotations

import logging
from typing import Any, Callable

from emulator.codecommit import api, clone_urls, repos
from emulator.patches import MOTO, Kind, Patch, methods
from emulator.state import STATE

__all__ = ["PATCHES", "install"]

logger = logging.getLogger(__name__)


def _init_repository(original: Callable[..., None], self: Any, account_id: str, region: str,
                     repository_description: str, repository_name: str) -> None:
    original(self, account_id, region, repository_description, repository_name)
    metadata = self.repository_metadata
    metadata["cloneUrlHttp"] = clone_urls.http_clone_url(repository_name, metadata["cloneUrlHttp"])


def _delete_repository(original: Callable[..., str | None], self: Any, repository_name: str) -> str | None:
    repository = self.repositories.get(repository_name)
    deleted = original(self, repository_name)
    if repository is not None:
        repos.remove(repos.path_of(self.account_id, self.region_name,
                                   repository.repository_metadata["repositoryId"]))
    return deleted


PATCHES = (
    Patch("moto.codecommit.models:CodeCommit.__init__", _init_repository, Kind.FUNCTION,
          "report the emulator's own git URL as cloneUrlHttp, so clone URLs lead to a git server", wraps=True),
    Patch("moto.codecommit.models:CodeCommitBackend.delete_repository", _delete_repository, Kind.FUNCTION,
          "delete the repository's git content with it", wraps=True),
    *methods("moto.codecommit.responses:CodeCommitResponse", Kind.ABSENT,
             "read branches and commits from the repository's git content", **api.HANDLERS),
)


def install() -> None:
    """Apply the patches (once) and empty every repository's git content on reset."""
    applied = MOTO.install(PATCHES)
    # Runs under STATE.lock, after moto forgot every repository.
    STATE.on_reset(repos.remove_all)
    if applied:
        logger.debug("CodeCommit extension installed")
