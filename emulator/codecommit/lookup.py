"""Which moto repository, in which account and region, a git URL or an API call means.

On AWS the clone URL names the region in its host (``git-codecommit.REGION.amazonaws.com``) and the
account comes from the caller's credentials. The emulator answers on one address for every region
and git sends no credentials unless challenged, so ``/v1/repos/NAME`` means the one repository of
that name among every account and region; when several share it, the qualified form
``/v1/accounts/ACCOUNT/regions/REGION/repos/NAME`` (or a 12-digit basic-auth user name) picks one.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moto.codecommit.models import codecommit_backends

from emulator.codecommit import repos


@dataclass(frozen=True)
class Located:
    account_id: str
    region: str
    name: str
    model: Any  # moto's CodeCommit object

    @property
    def metadata(self) -> dict[str, Any]:
        return self.model.repository_metadata

    @property
    def path(self) -> Path:
        return repos.path_of(self.account_id, self.region, self.metadata["repositoryId"])


def find(name: str, account_id: str | None = None, region: str | None = None) -> list[Located]:
    """Every repository called ``name``, narrowed to an account and a region when given."""
    found = []
    # Iterating a BackendDict lists only the accounts and regions already in use; it creates none.
    for account, regions in list(codecommit_backends.items()):
        if account_id and account != account_id:
            continue
        for region_name, backend in list(regions.items()):
            if region and region_name != region:
                continue
            model = backend.repositories.get(name)
            if model is not None:
                found.append(Located(account, region_name, name, model))
    return found


def get(account_id: str, region: str, name: str) -> Located | None:
    model = codecommit_backends[account_id][region].repositories.get(name)
    return Located(account_id, region, name, model) if model is not None else None
