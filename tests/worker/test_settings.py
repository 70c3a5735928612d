"""The worker's settings: one module reads the environment, and a bad value names its variable."""
from __future__ import annotations

import ast
from datetime import timedelta
from pathlib import Path

import pytest

from core.config import REPO_ROOT
from worker import cadence, settings


def _reads_environment(path: Path) -> bool:
    tree = ast.parse(path.read_text(), str(path))
    return any(isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv")
               and isinstance(node.value, ast.Name) and node.value.id == "os" for node in ast.walk(tree))


def test_only_settings_reads_the_environment():
    readers = sorted(p.name for p in (REPO_ROOT / "worker").glob("*.py") if _reads_environment(p))
    assert readers == ["settings.py"]


def test_lease_grace_and_sweep_follow_the_environment(monkeypatch):
    monkeypatch.setenv("PORTAL_LEASE_GRACE_SECONDS", "0.5")
    monkeypatch.setenv("PORTAL_SWEEP_SECONDS", "")  # empty means "the default", as unset

    assert settings.lease_grace() == timedelta(seconds=0.5)
    assert settings.sweep_seconds() == 30


def test_poll_limits_take_only_the_overrides_given(monkeypatch):
    for name in ("PORTAL_POLL_STEADY_SECONDS", "PORTAL_POLL_FAST_SECONDS", "PORTAL_POLL_CALLS_PER_MINUTE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PORTAL_POLL_FAST_SECONDS", "0.2")

    assert cadence.Limits.from_settings() == cadence.Limits(steady=cadence.STEADY_SECONDS, fast=0.2,
                                                            calls_per_minute=cadence.CALLS_PER_MINUTE)


@pytest.mark.parametrize(("name", "raw", "message"), [
    ("PORTAL_LEASE_GRACE_SECONDS", "15s", "PORTAL_LEASE_GRACE_SECONDS must be a number, not '15s'"),
    ("PORTAL_SWEEP_SECONDS", "-1", "PORTAL_SWEEP_SECONDS must not be negative, not '-1'"),
    ("PORTAL_VISIBILITY_TIMEOUT", "2.5", "PORTAL_VISIBILITY_TIMEOUT must be a whole number, not '2.5'"),
    ("PORTAL_POLL_CALLS_PER_MINUTE", "many", "PORTAL_POLL_CALLS_PER_MINUTE must be a number, not 'many'"),
])
def test_a_bad_value_names_its_variable(monkeypatch, name, raw, message):
    monkeypatch.setenv(name, raw)
    read = {"PORTAL_LEASE_GRACE_SECONDS": settings.lease_grace, "PORTAL_SWEEP_SECONDS": settings.sweep_seconds,
            "PORTAL_VISIBILITY_TIMEOUT": settings.visibility_timeout,
            "PORTAL_POLL_CALLS_PER_MINUTE": settings.poll_overrides}[name]
    with pytest.raises(ValueError, match=message):
        read()
