"""What the bucket-policy check needs to know of the S3 request in flight.

moto asks a bucket for its permission with only an action and a resource
(``FakeBucket.get_permission``), so who signed the request and which versions it names are
remembered here, per request (a context variable: the server runs one thread per request),
when moto's S3 handler sets itself up.
"""
from __future__ import annotations

import logging
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from xml.parsers.expat import ExpatError

import xmltodict
from moto.utilities.utils import get_partition

from emulator.sts import Caller, resolve_caller

logger = logging.getLogger(__name__)

# moto names the action after the HTTP method; AWS authorizes HEAD as GetObject and a browser
# form POST as PutObject.
_METHOD_ACTIONS = {"s3:HeadObject": "s3:GetObject", "s3:PostObject": "s3:PutObject"}
_VERSION_ACTIONS = {"s3:GetObject": "s3:GetObjectVersion", "s3:DeleteObject": "s3:DeleteObjectVersion"}


@dataclass(frozen=True)
class RequestFacts:
    access_key: str | None  # None: the request is unsigned
    account_id: str
    partition: str
    version_id: bool  # the request names one object version (?versionId=)
    versioned_keys: frozenset[str]  # DeleteObjects: the keys it names with a VersionId


_CURRENT: ContextVar[RequestFacts | None] = ContextVar("emulator_s3_request", default=None)


def remember(response: Any) -> None:
    """Record the facts of the request moto's ``S3Response`` has just parsed."""
    query = response.querystring
    _CURRENT.set(RequestFacts(
        access_key=_access_key(response),
        account_id=response.current_account,
        partition=get_partition(response.region),
        version_id=bool(query.get("versionId")),
        versioned_keys=_versioned_keys(response.body) if "delete" in query else frozenset(),
    ))


def current() -> RequestFacts | None:
    return _CURRENT.get()


def caller(facts: RequestFacts | None) -> Caller | None:
    """The identity that signed the request; None when it is unsigned."""
    if facts is None or facts.access_key is None:
        return None
    return resolve_caller(facts.access_key, facts.account_id, facts.partition)


def aws_action(moto_action: str, resource: str, facts: RequestFacts | None) -> str:
    """The action AWS authorizes for moto's object action (a version's own actions included)."""
    action = _METHOD_ACTIONS.get(moto_action, moto_action)
    if facts is None or action not in _VERSION_ACTIONS:
        return action
    key = resource.split(":::", 1)[-1].partition("/")[2]
    if facts.version_id or key in facts.versioned_keys:
        return _VERSION_ACTIONS[action]
    return action


def _access_key(response: Any) -> str | None:
    if "Authorization" in response.headers or response.querystring.get("AWSAccessKeyId"):
        return response.get_access_key()
    # A SigV4 presigned URL: X-Amz-Credential=AKID/date/region/s3/aws4_request.
    credential = (response.querystring.get("X-Amz-Credential") or [""])[0]
    return credential.split("/", 1)[0] or None


def _versioned_keys(body: Any) -> frozenset[str]:
    try:
        objects = (xmltodict.parse(body or b"<Delete/>").get("Delete") or {}).get("Object") or []
    except ExpatError:  # moto itself answers a malformed body with MalformedXML
        logger.debug("DeleteObjects body is not XML; no versioned keys")
        return frozenset()
    objects = objects if isinstance(objects, list) else [objects]
    return frozenset(str(o.get("Key")) for o in objects if isinstance(o, dict) and o.get("VersionId"))
