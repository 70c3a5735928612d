"""Access entries recorded with the stacks: how each stack was reached when it was planned.

The portal forgets an account's access entry (``Setup.access``) once the setup stops using the
account, but the stacks an apply deployed there stay until a teardown deletes them. So the plan
records, on each stack record, the entry it used (the apply copies it), and a teardown reaches
an account the setup no longer lists with the entry recorded by that account's most recent apply.
An account the setup still lists is always reached as the setup says now.

Only the entry's three keys are recorded (method, role_name, external_id): never credentials.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from worker.sessions import ASSUME_ROLE

ACCESS = "access"  # the StackRecord.detail key holding the recorded entry
RECORDED_KEYS = ("role_name", "external_id")
# The deploy-dependencies parameter naming the identity the observer role trusts (docs/contracts.md).
PORTAL_PRINCIPAL_PARAMETER = "PortalPrincipalArn"


def entry_used(access: Mapping[str, Any], account_id: str) -> dict[str, str]:
    """The access entry ``account_id`` is reached with, reduced to what is safe to record.

    No entry is recorded as ``{"method": "assume_role"}``: the worker's own credentials in its
    own account, a refusal anywhere else (worker/sessions.py decides, as for a live entry).
    """
    entry = access.get(account_id) or {}
    used = {"method": str(entry.get("method") or ASSUME_ROLE)}
    for key in RECORDED_KEYS:
        if entry.get(key):
            used[key] = str(entry[key])
    return used


def recorded_entry(detail: Mapping[str, Any] | None) -> dict[str, str] | None:
    """The entry a stack record holds, or None (records made before entries were recorded)."""
    entry = (detail or {}).get(ACCESS)
    if not isinstance(entry, dict) or not entry.get("method"):
        return None
    return {key: str(entry[key]) for key in ("method", *RECORDED_KEYS) if entry.get(key)}


def with_recorded(access: Mapping[str, Any], recorded: Iterable[tuple[str, Mapping[str, Any] | None]]
                  ) -> dict[str, Any]:
    """``access`` plus, for each account it lacks, the last entry recorded for that account.

    ``recorded`` is (account id, StackRecord.detail) pairs, oldest first: a later record's entry
    replaces an earlier one's, so the most recent apply wins.
    """
    merged = dict(access or {})
    fallback: dict[str, dict[str, str]] = {}
    for account_id, detail in recorded:
        entry = recorded_entry(detail)
        if entry is not None and account_id not in merged:
            fallback[account_id] = entry
    return {**merged, **fallback}

