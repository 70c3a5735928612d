"""How to start a custom runtime's ``bootstrap`` on this host.

Lambda runs ``/var/task/bootstrap`` on the CPU the function's ``Architectures`` names; a binary
built for the other one fails there with "exec format error". The emulator keeps that rule, then
runs a binary for the host's CPU directly and one for the other CPU under Debian's ``qemu-user``
(``qemu-aarch64`` for arm64 on an x86_64 host): the function's real build, not a rebuild for the
host, is what answers.
"""
from __future__ import annotations

import os
import platform
import shutil
from pathlib import Path

# ELF e_machine values of the two CPUs Lambda offers.
_ELF_MACHINES = {0x3E: "x86_64", 0xB7: "arm64"}
_HOST_ARCHITECTURES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}
_QEMU = {"arm64": "qemu-aarch64", "x86_64": "qemu-x86_64"}
BOOTSTRAP_PATHS = "[/var/task/bootstrap /opt/bootstrap]"


class EntrypointError(Exception):
    """The bootstrap cannot be started; ``error_type`` is the one Lambda reports."""

    error_type = "Runtime.InvalidEntrypoint"


def host_architecture() -> str:
    return _HOST_ARCHITECTURES.get(platform.machine().lower(), platform.machine().lower())


def binary_architecture(path: Path) -> str | None:
    """``x86_64`` / ``arm64`` for an ELF executable, ``None`` for anything else (e.g. a script)."""
    with path.open("rb") as handle:
        header = handle.read(20)
    if len(header) < 20 or header[:4] != b"\x7fELF":
        return None
    byteorder = "little" if header[5] == 1 else "big"
    machine = int.from_bytes(header[18:20], byteorder)
    return _ELF_MACHINES.get(machine, f"ELF machine {machine:#x}")


def command(task_root: Path, architecture: str, runtime: str) -> list[str]:
    """The argv that starts the function's bootstrap.

    :raise EntrypointError: a runtime other than an OS-only one, no executable bootstrap, a binary
        for another CPU than the function's, or no qemu-user to run a foreign one.
    """
    if not runtime.startswith("provided"):
        # Managed runtimes (python3.x, nodejs...) bring their own bootstrap, which is not here.
        raise EntrypointError(f"the emulator runs only OS-only runtimes (provided, provided.al2, "
                              f"provided.al2023), not {runtime or 'a function without Runtime'}")
    bootstrap = task_root / "bootstrap"
    if not bootstrap.is_file():
        raise EntrypointError(f"Couldn't find valid bootstrap(s): {BOOTSTRAP_PATHS}")
    if not os.access(bootstrap, os.X_OK):
        raise EntrypointError("fork/exec /var/task/bootstrap: permission denied")
    built_for = binary_architecture(bootstrap)
    if built_for is None:
        return [str(bootstrap)]  # a script: its #! line names the interpreter
    if built_for != architecture:
        raise EntrypointError("fork/exec /var/task/bootstrap: exec format error")
    if built_for == host_architecture():
        return [str(bootstrap)]
    qemu = _QEMU.get(built_for)
    found = shutil.which(qemu) if qemu else None
    if found is None:
        raise EntrypointError(
            f"the emulator cannot run a {built_for} bootstrap on this {host_architecture()} host: "
            f"{qemu or 'an emulator for it'} is not installed (Debian: apt-get install qemu-user)")
    return [found, str(bootstrap)]
