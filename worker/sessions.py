"""Sessions into the setup's accounts: STS AssumeRole with credentials that renew themselves.

How the worker reaches an account (``Setup.access[account_id]``):

* ``{"method": "assume_role", "role_name": R, "external_id"?: X}``: AssumeRole into
  ``arn:aws:iam::ACCOUNT:role/R``; ``RoleSessionName`` names the portal user, so CloudTrail in
  the target account shows who asked for the change.
* ``{"method": "self_launch", "role_name"?: R}``: the account's admin launches the stack; the
  worker never changes anything there. It only *watches* the stack, through ``R`` when given,
  else with its own credentials when it runs in that account, else through the application's
  observer role (``observer_role``, docs/contracts.md), which the admin's stack itself creates
  trusting :meth:`AccountSessions.principal_arn`: until that stack exists, AssumeRole fails and
  the worker keeps waiting (worker/self_launch.py).
* The worker's own account (the caller's, from GetCallerIdentity) needs no role: with no access
  entry, or an entry without ``role_name``, the worker's own credentials are used. A role that
  *is* named is still assumed there, so an operator can narrow what the worker may do. Any
  other account without an entry is refused: the worker never guesses a role.

Everything else is boto3's standard configuration: credentials chain, region, and
``AWS_ENDPOINT_URL`` (the emulator), which boto3 applies itself.
"""
from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from datetime import datetime

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import DeferredRefreshableCredentials
from botocore.exceptions import ClientError
from botocore.utils import parse_timestamp

from worker import settings

logger = logging.getLogger(__name__)

ASSUME_ROLE = "assume_role"
SELF_LAUNCH = "self_launch"
SESSION_DURATION_SECONDS = 3600
# Cached sessions are dropped after this long even though their credentials renew themselves,
# so that nothing (an edited access entry, a rotated base key) is cached forever.
SESSION_CACHE_SECONDS = 45 * 60
_UNSAFE_SESSION_CHARS = re.compile(r"[^\w+=,.@-]", re.ASCII)
_ASSUMED_ROLE = re.compile(r"arn:(?P<partition>aws[a-z-]*):sts::(?P<account>\d{12}):assumed-role/(?P<role>[\w+=,.@-]+)/.+")
_IAM_IDENTITY = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:(role|user)/[\w+=,.@/-]+")


class AccessError(Exception):
    """The worker cannot act in an account."""


class AccessNotConfigured(AccessError):
    def __init__(self, account_id: str, why: str) -> None:
        super().__init__(f"no way into account {account_id}: {why}")
        self.account_id = account_id


class NoTrustablePrincipal(AccessError):
    def __init__(self, arn: str) -> None:
        super().__init__(f"the worker runs as {arn}, which no trust policy can name: give it the credentials "
                         "of an IAM role or user to watch self-launched accounts")


class AssumeRoleFailed(AccessError):
    def __init__(self, role_arn: str, reason: str) -> None:
        super().__init__(f"cannot assume {role_arn}: {reason}")
        self.role_arn = role_arn


class _QuietFailedAssume(logging.Filter):
    """Drop botocore's traceback for a refresh that failed with :class:`AssumeRoleFailed`.

    Waiting for a self-launched stack means AssumeRole fails every few seconds until the admin's
    stack creates the observer role; the caller logs that in one line, naming account and region.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], AssumeRoleFailed))


logging.getLogger("botocore.credentials").addFilter(_QuietFailedAssume())


def session_name(username: str) -> str:
    """Return a RoleSessionName naming the portal user: ``[\\w+=,.@-]``, 2 to 64 characters."""
    cleaned = _UNSAFE_SESSION_CHARS.sub("-", username or "").strip("-") or "worker"
    return f"portal-{cleaned}"[:64]


def trust_principal(caller_arn: str) -> str:
    """The ARN a trust policy names for ``caller_arn`` (GetCallerIdentity's answer).

    Trust policies name roles and users, never sessions: an assumed-role session
    (``arn:aws:sts::A:assumed-role/R/S``) is named by its role, ``arn:aws:iam::A:role/R``. That
    ARN carries no role path (STS drops it), so a role with a path must be named by hand.
    """
    assumed = _ASSUMED_ROLE.fullmatch(caller_arn)
    if assumed:
        return f"arn:{assumed['partition']}:iam::{assumed['account']}:role/{assumed['role']}"
    if _IAM_IDENTITY.fullmatch(caller_arn):
        return caller_arn
    raise NoTrustablePrincipal(caller_arn)


def fast_timestamp(value: Any) -> datetime:
    """Parse a response timestamp as botocore does, ISO 8601 with a zone through the standard library.

    botocore parses every timestamp with dateutil (about 60 µs each); a DescribeStackEvents page
    holds up to 100 of them and the monitor reads one on every poll. Anything else (RFC 822,
    epoch seconds, no zone) goes to botocore's own parser, so the result is the same.
    """
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return parsed
    return parse_timestamp(value)


def botocore_session() -> botocore.session.Session:
    """A botocore session whose clients parse timestamps with :func:`fast_timestamp`."""
    core = botocore.session.Session()
    core.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=fast_timestamp)
    return core


def client_config(**overrides: Any) -> Config:
    """botocore's own retries (standard or adaptive mode); no hand-written retry loops."""
    return Config(
        retries={"mode": settings.retry_mode(), "max_attempts": settings.max_attempts()},
        **overrides,
    )


@dataclass(frozen=True)
class AccessPlan:
    """How one account is reached: ``role_arn`` None means the worker's own credentials."""

    account_id: str
    method: str
    role_arn: str | None
    external_id: str | None

    @property
    def can_deploy(self) -> bool:
        return self.method != SELF_LAUNCH


class AccountSessions:
    """Hand out boto3 sessions and clients per account for one portal user and region."""

    def __init__(
        self,
        username: str,
        region: str,
        access: dict[str, Any],
        base_session: boto3.Session | None = None,
        clock: Callable[[], Any] | None = None,
        observer_role: str = "",
    ) -> None:
        self.username = username
        self.observer_role = observer_role
        self.region = region
        self.access = access or {}
        self.base = base_session or boto3.Session(botocore_session=botocore_session(), region_name=region)
        self._clock = clock
        self._identity: dict[str, str] | None = None
        self._lock = threading.Lock()
        self._sessions: dict[tuple[str, str | None, str | None], tuple[float, boto3.Session]] = {}
        self._clients: dict[tuple[Any, ...], Any] = {}

    @property
    def partition(self) -> str:
        return self.base.get_partition_for_region(self.region)

    def _caller_identity(self) -> dict[str, str]:
        if self._identity is None:
            sts = self.base.client("sts", region_name=self.region, config=client_config())
            self._identity = sts.get_caller_identity()
        return self._identity

    def caller_account(self) -> str:
        return self._caller_identity()["Account"]

    def principal_arn(self) -> str:
        """The worker's own identity as a trust policy names it (the observer role trusts it)."""
        return trust_principal(self._caller_identity()["Arn"])

    def plan_for(self, account_id: str) -> AccessPlan:
        """Decide how to reach ``account_id`` (see the module docstring)."""
        entry = self.access.get(account_id) or {}
        method = entry.get("method") or ASSUME_ROLE
        if method not in (ASSUME_ROLE, SELF_LAUNCH):
            raise AccessNotConfigured(account_id, f"unknown access method {method!r}")
        role_name = entry.get("role_name") or ""
        if role_name:
            arn = f"arn:{self.partition}:iam::{account_id}:role/{role_name}"
            return AccessPlan(account_id, method, arn, entry.get("external_id") or None)
        if account_id == self.caller_account():
            return AccessPlan(account_id, method, None, None)
        if method == SELF_LAUNCH and self.observer_role:
            return AccessPlan(account_id, method, f"arn:{self.partition}:iam::{account_id}:role/{self.observer_role}",
                              None)
        if method == SELF_LAUNCH:
            raise AccessNotConfigured(
                account_id, "it is self-launched and has no observer role (role_name) to watch its stack"
            )
        raise AccessNotConfigured(account_id, "no role_name is configured for it")

    def session(self, account_id: str) -> boto3.Session:
        plan = self.plan_for(account_id)
        if plan.role_arn is None:
            return self.base
        key = (plan.role_arn, plan.external_id, session_name(self.username))
        with self._lock:
            cached = self._sessions.get(key)
            if cached and time.monotonic() - cached[0] < SESSION_CACHE_SECONDS:
                return cached[1]
            session = self._assumed_session(plan)
            self._sessions[key] = (time.monotonic(), session)
            self._clients = {k: v for k, v in self._clients.items() if k[0] != account_id}
            return session

    def client(self, account_id: str, service: str) -> Any:
        """A client for ``service`` in ``account_id``; cached, as creating clients is slow."""
        session = self.session(account_id)
        key = (account_id, service, id(session))
        with self._lock:
            if key not in self._clients:
                self._clients[key] = session.client(service, region_name=self.region, config=client_config())
            return self._clients[key]

    def _assumed_session(self, plan: AccessPlan) -> boto3.Session:
        sts = self.base.client("sts", region_name=self.region, config=client_config())
        role_arn = plan.role_arn
        assert role_arn is not None
        name = session_name(self.username)

        def fetch() -> dict[str, str]:
            kwargs: dict[str, Any] = {
                "RoleArn": role_arn, "RoleSessionName": name, "DurationSeconds": SESSION_DURATION_SECONDS,
            }
            if plan.external_id:
                kwargs["ExternalId"] = plan.external_id
            try:
                creds = sts.assume_role(**kwargs)["Credentials"]
            except ClientError as err:
                raise AssumeRoleFailed(role_arn, str(err)) from err
            logger.info("assumed %s as %s (account %s, region %s)", role_arn, name, plan.account_id, self.region)
            return {
                "access_key": creds["AccessKeyId"],
                "secret_key": creds["SecretAccessKey"],
                "token": creds["SessionToken"],
                "expiry_time": creds["Expiration"].isoformat(),
            }

        # Deferred: no STS call until the first request; botocore renews the credentials
        # 15 minutes (advisory) / 10 minutes (mandatory) before they expire.
        kwargs: dict[str, Any] = {"refresh_using": fetch, "method": "sts-assume-role"}
        if self._clock is not None:
            kwargs["time_fetcher"] = self._clock
        credentials = DeferredRefreshableCredentials(**kwargs)
        core = botocore_session()
        # botocore has no public setter for ready-made credentials; this is the attribute its
        # own credential resolver fills in.
        core._credentials = credentials  # noqa: SLF001
        return boto3.Session(botocore_session=core, region_name=self.region)
