"""S3 bucket policies evaluated with their conditions, every request treated as arriving over TLS.

moto checks a bucket's policy on object requests (``FakeBucket.get_permission``) with an
evaluator that passes any condition operator it does not know, ``Bool`` among them, and matches
no caller. The artifact bucket's TLS-only statement (Deny ``s3:*`` when ``aws:SecureTransport``
is "false") therefore denied every object request over the emulator's plain HTTP, the
pipeline's writes and the worker's emptying of the bucket included. ``install()`` replaces that
check with ``evaluate.decide`` and remembers each S3 request's caller for it (``request``).
"""
from __future__ import annotations

import logging
import threading
from typing import Any

from moto.iam.access_control import PermissionResult
from moto.s3.models import FakeBucket
from moto.s3.responses import S3Response

from emulator.patches import MOTO, Kind, Patch
from emulator.s3policy import request
from emulator.s3policy.evaluate import ObjectRequest, decide
from emulator.state import STATE

logger = logging.getLogger(__name__)

_warned: set[tuple[str, str]] = set()
_warned_lock = threading.Lock()


def get_permission(bucket: FakeBucket, action: str, resource: str) -> PermissionResult:
    """moto's question to a bucket: does its policy deny, permit, or not concern this request?"""
    if bucket.policy is None:
        return PermissionResult.NEUTRAL
    facts = request.current()
    policy = bucket.policy.decode() if isinstance(bucket.policy, bytes) else str(bucket.policy)
    object_request = ObjectRequest(request.aws_action(action, resource, facts), resource, request.caller(facts))
    decision = decide(policy, object_request)
    for reason in decision.unevaluated:
        _warn_once(bucket.name, reason)
    logger.debug("bucket policy of %s: %s on %s by %s -> %s", bucket.name, object_request.action,
                 resource, object_request.caller.arn if object_request.caller else "anonymous",
                 decision.result.name)
    return decision.result


def _warn_once(bucket_name: str, reason: str) -> None:
    # Once per bucket and statement until the next reset: a pipeline polls the same objects.
    with _warned_lock:
        if (bucket_name, reason) in _warned:
            return
        _warned.add((bucket_name, reason))
    logger.warning("bucket policy of %s is not fully emulated: %s", bucket_name, reason)


def _clear_warnings() -> None:
    with _warned_lock:
        _warned.clear()


def _setup_class(original: Any, self: S3Response, *args: Any, **kwargs: Any) -> None:
    original(self, *args, **kwargs)
    request.remember(self)


PATCHES = (
    Patch("moto.s3.responses:S3Response.setup_class", _setup_class, Kind.FUNCTION,
          "remember each S3 request's caller and versions for the bucket-policy check", wraps=True),
    Patch("moto.s3.models:FakeBucket.get_permission", get_permission, Kind.FUNCTION,
          "evaluate bucket policies with their conditions (moto passes unknown operators, Bool among them)"),
)


def install() -> None:
    """Evaluate bucket policies with their conditions from now on (idempotent)."""
    STATE.on_reset(_clear_warnings)
    if MOTO.install(PATCHES):
        logger.debug("bucket policy conditions installed")
