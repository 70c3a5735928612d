"""CodeCommit for the emulator: real git repositories behind moto's repository metadata.

``install()`` adds GetBranch, GetCommit and ListBranches to moto's CodeCommit, makes a
repository's ``cloneUrlHttp`` the emulator's own ``/v1/repos/NAME``, deletes a repository's git
content with it (and all of it on reset). ``git_http`` serves the repositories over git's smart
HTTP; a push there starts the watching pipelines (``emulator.codepipeline.triggers``).

The patches live here, each keeping moto's original, until the emulator has one patch registry.
"""
from __future__ import annotations

import logging
import threading
from typing import Any

import moto
from moto.codecommit.models import CodeCommit, CodeCommitBackend
from moto.codecommit.responses import CodeCommitResponse

from emulator.codecommit import api, clone_urls, repos
from emulator.state import STATE

logger = logging.getLogger(__name__)

MOTO_VERSION = "5.2.5"  # the internals patched below are those of this version

_lock = threading.Lock()
_installed = False
ORIGINALS: dict[str, Any] = {}


def _init_repository(self: CodeCommit, account_id: str, region: str, repository_description: str,
                     repository_name: str) -> None:
    ORIGINALS["CodeCommit.__init__"](self, account_id, region, repository_description, repository_name)
    metadata = self.repository_metadata
    metadata["cloneUrlHttp"] = clone_urls.http_clone_url(repository_name, metadata["cloneUrlHttp"])


def _delete_repository(self: CodeCommitBackend, repository_name: str) -> str | None:
    repository = self.repositories.get(repository_name)
    deleted = ORIGINALS["CodeCommitBackend.delete_repository"](self, repository_name)
    if repository is not None:
        repos.remove(repos.path_of(self.account_id, self.region_name,
                                   repository.repository_metadata["repositoryId"]))
    return deleted


def install() -> None:
    """Patch moto's CodeCommit model, backend and handlers (idempotent).

    :raise RuntimeError: moto is not the version these patches were written against.
    """
    global _installed
    with _lock:
        if _installed:
            return
        if moto.__version__ != MOTO_VERSION:
            raise RuntimeError(f"emulator.codecommit patches moto {MOTO_VERSION}, found moto {moto.__version__}")
        ORIGINALS["CodeCommit.__init__"] = CodeCommit.__init__
        ORIGINALS["CodeCommitBackend.delete_repository"] = CodeCommitBackend.delete_repository
        CodeCommit.__init__ = _init_repository  # type: ignore[method-assign]
        CodeCommitBackend.delete_repository = _delete_repository  # type: ignore[method-assign]
        for name, handler in api.HANDLERS.items():
            setattr(CodeCommitResponse, name, handler)
        # Runs under STATE.lock, after moto forgot every repository.
        STATE.on_reset(repos.remove_all)
        _installed = True
        logger.debug("CodeCommit extension installed")
