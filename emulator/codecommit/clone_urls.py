"""The HTTPS clone URL a repository reports: AWS's host on AWS, the emulator's own address here.

A stack's ``RepositoryCloneUrlHttp`` output and GetRepository's ``cloneUrlHttp`` must lead to a
server that speaks git. The emulator's server records where it listens when it starts;
``EMULATOR_PUBLIC_URL`` overrides that for clients that reach it by another name (a container's
published port, a proxy). Without either (moto used in-process), AWS's URL stays.
"""
from __future__ import annotations

import os
import threading

_lock = threading.Lock()
_listening: str | None = None


def set_listening(url: str) -> None:
    """Record the server's address (``http://HOST:PORT``); a wildcard host becomes the loopback one."""
    global _listening
    for wildcard in ("0.0.0.0", "[::]"):
        url = url.replace(f"//{wildcard}:", "//127.0.0.1:")
    with _lock:
        _listening = url.rstrip("/")


def base_url() -> str | None:
    public = os.environ.get("EMULATOR_PUBLIC_URL", "").strip().rstrip("/")
    with _lock:
        return public or _listening


def local_url() -> str | None:
    """Where the server listens, for the emulator's own calls to itself (None: no server runs)."""
    with _lock:
        return _listening


def http_clone_url(name: str, aws_url: str) -> str:
    """``BASE/v1/repos/NAME`` (the path AWS uses) when the emulator serves git, else ``aws_url``."""
    base = base_url()
    return f"{base}/v1/repos/{name}" if base else aws_url
