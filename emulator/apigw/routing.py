"""Which REST API, stage, resource and method a request to an API endpoint means.

AWS serves a REST API at ``https://API_ID.execute-api.REGION.amazonaws.com/STAGE/PATH``. The
emulator answers that host when a client sends it (``curl -H 'Host: ...'``, ``--connect-to``), the
same with ``.execute-api.localhost`` (curl resolves ``*.localhost`` to the loopback address
itself), and on its one address at ``/_emulator/execute-api/API_ID/STAGE/PATH``, the address a
stack's outputs give (``emulator.cfn.resources.apigateway.invoke_url``). Resources match as API Gateway matches them: literal path parts before
``{param}`` ones, ``{proxy+}`` last; a method falls back to ``ANY``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from moto.apigateway.models import apigateway_backends

PATH_PREFIX = "/_emulator/execute-api/"
_PATH_FORM = re.compile(r"^/_emulator/execute-api/(?P<api>[A-Za-z0-9]+)(?:/(?P<stage>[^/]+))?(?P<path>/.*)?$")
_HOST_FORM = re.compile(r"^(?P<api>[a-z0-9]+)\.execute-api\.(?:(?P<region>[a-z0-9-]+)\.amazonaws\.com|localhost)"
                        r"(?::\d+)?$")
_OPENAPI_ANY = "X-AMAZON-APIGATEWAY-ANY-METHOD"


@dataclass(frozen=True)
class Target:
    """A request's API and the part of its path after the API's address."""

    api: Any  # moto's RestAPI
    stage_name: str
    path: str  # starts with "/"; "/" for the stage's root


@dataclass(frozen=True)
class Route:
    resource: Any  # moto's Resource
    resource_path: str  # its template, e.g. "/pets/{id}"
    method: Any  # moto's Method
    path_parameters: dict[str, str]


def target_of(environ: dict[str, Any]) -> Target | None:
    """The API a request addresses, or None when it addresses no REST API the emulator has."""
    raw_path = environ.get("PATH_INFO", "") or "/"
    match = _PATH_FORM.match(raw_path)
    if match is not None:
        api = find_api(match["api"])
        return Target(api, match["stage"] or "", match["path"] or "/") if api is not None else None
    host = _HOST_FORM.match(environ.get("HTTP_HOST", "").lower())
    if host is None:
        return None
    api = find_api(host["api"], host["region"])
    if api is None:
        return None
    stage, _, rest = raw_path.lstrip("/").partition("/")
    return Target(api, stage, "/" + rest)


def find_api(api_id: str, region: str | None = None) -> Any | None:
    """The REST API with this id in any account (ids are random, so one at most)."""
    # Iterating a BackendDict lists only the accounts and regions in use; it creates none.
    for _, regions in list(apigateway_backends.items()):
        for region_name, backend in list(regions.items()):
            if region and region_name != region:
                continue
            api = backend.apis.get(api_id)
            if api is not None:
                return api
    return None


def route(api: Any, path: str, http_method: str) -> Route | None:
    """The resource and method that serve ``http_method path``, or None (API Gateway's 403)."""
    segments = [unquote(s) for s in path.strip("/").split("/")] if path.strip("/") else []
    best: tuple[tuple[int, ...], Any, str, dict[str, str]] | None = None
    for resource in list(api.resources.values()):
        template = resource.get_path()
        matched = _match(template, segments)
        if matched is None:
            continue
        rank, parameters = matched
        if best is None or rank < best[0]:
            best = (rank, resource, template, parameters)
    if best is None:
        return None
    _, resource, template, parameters = best
    methods = resource.resource_methods
    # moto's OpenAPI import keeps x-amazon-apigateway-any-method as a method of that name; it is ANY.
    method = methods.get(http_method.upper()) or methods.get("ANY") or methods.get(_OPENAPI_ANY)
    if method is None:
        return None
    return Route(resource, template, method, parameters)


def _match(template: str, segments: list[str]) -> tuple[tuple[int, ...], dict[str, str]] | None:
    """How well a resource template matches (lower ranks win) and the path parameters it binds."""
    parts = [p for p in template.strip("/").split("/") if p]
    rank: list[int] = []
    parameters: dict[str, str] = {}
    for index, part in enumerate(parts):
        greedy = re.fullmatch(r"\{(\w+)\+\}", part)
        if greedy is not None:
            if index != len(parts) - 1 or index >= len(segments):
                return None  # {proxy+} is last and matches at least one segment
            parameters[greedy[1]] = "/".join(segments[index:])
            return tuple(rank + [2]), parameters
        if index >= len(segments):
            return None
        variable = re.fullmatch(r"\{(\w+)\}", part)
        if variable is not None:
            parameters[variable[1]] = segments[index]
            rank.append(1)
        elif part == segments[index]:
            rank.append(0)
        else:
            return None
    if len(parts) != len(segments):
        return None
    return tuple(rank), parameters
