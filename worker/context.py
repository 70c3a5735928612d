"""The AWS side of one operation: sessions for its user and region, a deployer per account."""
from __future__ import annotations

import threading
import time
from typing import Any

from core import stacks
from core.models import Operation, OperationKind, Setup
from worker import access
from worker.deployer import Deployer
from worker.sessions import AccessPlan, AccountSessions
from worker.staging import TemplateStaging

# Account sessions are reused across the many short monitor tasks of one process (each
# AssumeRole is a call, and creating clients is slow); entries expire so none lives forever.
_CACHE_SECONDS = 15 * 60
_cache: dict[tuple[Any, ...], tuple[float, AccountSessions]] = {}
_cache_lock = threading.Lock()


class AwsContext:
    def __init__(self, sessions: AccountSessions) -> None:
        self.sessions = sessions

    @property
    def region(self) -> str:
        return self.sessions.region

    @property
    def partition(self) -> str:
        return self.sessions.partition

    def access(self, account_id: str) -> AccessPlan:
        return self.sessions.plan_for(account_id)

    def cfn(self, account_id: str) -> Any:
        return self.sessions.client(account_id, "cloudformation")

    def codepipeline(self, account_id: str) -> Any:
        return self.sessions.client(account_id, "codepipeline")

    def s3(self, account_id: str) -> Any:
        return self.sessions.client(account_id, "s3")

    def deployer(self, account_id: str) -> Deployer:
        staging = TemplateStaging(lambda: self.s3(account_id), account_id, self.region)
        return Deployer(self.cfn(account_id), staging)


def operation_access(operation: Operation, setup: Setup) -> dict[str, Any]:
    """Return how ``operation`` reaches each account.

    As the setup says; a teardown also reaches the accounts the setup dropped, with the entry
    its records keep (worker/teardown.py writes them from the applies' records).
    """
    if operation.kind != OperationKind.TEARDOWN.value:
        return dict(setup.access or {})
    return access.with_recorded(setup.access or {}, [(r.account_id, r.detail) for r in operation.stacks])


def for_operation(operation: Operation, setup: Setup) -> AwsContext:
    """The context acting for the user who requested ``operation`` on ``setup``."""
    return for_user(operation.requested_by, setup, operation_access(operation, setup))


def for_user(username: str, setup: Setup, reach: dict[str, Any] | None = None) -> AwsContext:
    """The context acting for ``username`` on ``setup``, reaching its accounts as it says (or as ``reach`` says)."""
    reach = dict(setup.access or {}) if reach is None else reach
    observer = stacks.observer_role_name(setup.name) if setup.name else ""
    key = (username, setup.region, observer, repr(sorted(reach.items())))
    now = time.monotonic()
    with _cache_lock:
        for stale in [k for k, (at, _) in _cache.items() if now - at > _CACHE_SECONDS]:
            del _cache[stale]
        cached = _cache.get(key)
        if cached is None:
            cached = (now, AccountSessions(username, setup.region or "", reach, observer_role=observer))
            _cache[key] = cached
    return AwsContext(cached[1])


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()
