"""JSON API: setups and plan requests, authenticated with per-user bearer tokens."""
from __future__ import annotations

import logging
import math
from typing import Any

from flask import current_app, g, jsonify, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from core.models import Operation, OperationStatus, Setup, SourceProvider, Team
from core.times import iso
from core.validation import MAX_ID
from portal import memberships, params, tokens
from portal.api import bp
from portal.api.body import read_object
from portal.api.openapi import build_spec
from portal.db import get_by_id, get_session
from portal.deployments import presenters
from portal.access import setup_required, visible_setups
from portal.security import SignedInUser, permission_required, rule
from portal.setups import document_rules, service
from portal.setups.defaults import stage_defaults, with_defaults

log = logging.getLogger(__name__)

GITHUB_ONLY = "Only a GitHub source uses this field; leave it empty or set source_provider to GitHub."


class ApiError(Exception):
    """An error answered as ``{"errors": {field: [message]}}``."""

    def __init__(self, status: int, errors: dict[str, list[str]], **extra: Any):
        super().__init__(errors)
        self.status, self.errors, self.extra = status, errors, extra


@bp.errorhandler(ApiError)
def handle_api_error(err: ApiError):
    response = jsonify(errors=err.errors, **err.extra)
    if err.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="portal"'
    return response, err.status


# Query parameters each endpoint understands; anything else is refused rather than silently ignored.
QUERY_PARAMETERS = {"api.list_setups": {"page"}, "api.list_operations": {"page"}, "api.operation_events": {"after"}}


@bp.before_request
def refuse_unknown_query_parameters():
    unknown = set(request.args) - QUERY_PARAMETERS.get(request.endpoint or "", set())
    if unknown:
        raise ApiError(400, {name: ["Unknown query parameter."] for name in sorted(unknown)})


@bp.before_request
def authenticate():
    """Accept a bearer token; a signed-in browser may also read the API description."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        user = tokens.authenticate(get_session(), token.strip())
        if user is None:
            raise ApiError(401, {"token": ["The API token is unknown or revoked."]})
        g.api_user = SignedInUser.from_model(get_session(), user)
        return None
    if request.endpoint == "api.openapi" and current_user.is_authenticated:
        return None
    raise ApiError(401, {"token": ["Send an API token: Authorization: Bearer <token>. "
                                   "Create one on your API tokens page."]})


def operation_json(operation: Operation) -> dict[str, Any]:
    return presenters.summary_json(operation)


def setup_json(setup: Setup) -> dict[str, Any]:
    return {"id": setup.id, "version": setup.version, "team_id": setup.team_id, "status": setup.status,
            "wizard_step": setup.wizard_step,
            "created_at": iso(setup.created_at), "updated_at": iso(setup.updated_at), **service.document(setup),
            "operations": [operation_json(op) for op in service.operations(get_session(), setup)]}


def load_setup(setup_id: int) -> Setup:
    setup = service.get_setup(get_session(), setup_id)
    if setup is None:
        raise ApiError(404, {"setup": [f"There is no setup {setup_id}."]})
    return setup


def json_body() -> dict[str, Any]:
    """:raise BadParameter: 400 when the body is no JSON object fit to read (portal.api.body)"""
    return read_object()


def merge(current: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """Lay the body's fields over the current document; stages and accounts merge one level deeper.

    Values of the wrong type pass through untouched, so validation names them.
    """
    doc = {**current, **{key: value for key, value in body.items() if key != "version"}}
    given_stages = body.get("stage_parameters")
    if isinstance(given_stages, dict):
        stages = dict(current["stage_parameters"])
        for stage, values in given_stages.items():
            base = stages.get(stage)
            stages[stage] = {**base, **values} if isinstance(base, dict) and isinstance(values, dict) else values
        doc["stage_parameters"] = stages
    accounts = document_rules.distinct_accounts(doc)
    # Accounts nobody said anything about get the default: assume OrganizationAccountAccessRole.
    known = {**document_rules.default_access(accounts), **{a: e for a, e in current["access"].items() if a in accounts}}
    given_access = body.get("access", {})
    doc["access"] = {**known, **given_access} if isinstance(given_access, dict) else given_access
    return doc


def validated(doc: dict[str, Any], body: dict[str, Any], setup: Setup, action: str) -> dict[str, Any]:
    """:raise ApiError: 422 with every broken rule (the refusal is audited)"""
    clean, errors = document_rules.validate_document(doc)
    if doc.get("source_provider") != SourceProvider.GITHUB:
        for field in ("connection_arn", "full_repository_id"):
            if body.get(field):
                errors.setdefault(field, []).append(GITHUB_ONLY)
    if errors:
        service.record_refusal(get_session(), action, setup, "invalid input", list(errors))
        raise ApiError(422, errors)
    return clean


def save(setup: Setup, clean: dict[str, Any], action: str, sent_version: int | None = None) -> None:
    try:
        service.save(get_session(), setup, clean, action=action, sent_version=sent_version)
    except service.NameTaken as err:
        service.record_refusal(get_session(), action, setup, str(err), ["name"])
        raise ApiError(409, {"name": [str(err)]}) from err
    except service.SetupConflict as err:
        service.record_refusal(get_session(), action, setup, "version conflict", ["version"])
        raise ApiError(409, {"version": [str(err)]}) from err


def page_number() -> int:
    """:raise BadParameter: 400 when ?page= is not a whole number from 1 to 1000000"""
    return params.query_number("page", 1, 1, 1_000_000, "Must be a whole number from 1 to 1000000.")


@bp.get("/openapi.json")
@rule("signed in")
def openapi():
    return jsonify(build_spec())


@bp.get("/setups")
@rule("signed in")  # a list: it shows only what the user may see (portal.access.visible_setups)
def list_setups():
    page, size = page_number(), current_app.config["API_PAGE_SIZE"]
    db = get_session()
    visible = visible_setups()
    total = db.scalar(select(func.count()).select_from(Setup).where(visible)) or 0
    rows = db.scalars(select(Setup).where(visible).order_by(Setup.updated_at.desc(), Setup.id.desc())
                      .limit(size).offset((page - 1) * size)).all()
    return {"setups": [setup_json(setup) for setup in rows], "page": page,
            "pages": max(1, math.ceil(total / size)), "total": total}


@bp.post("/setups")
@permission_required("setup.edit")
def create_setup():
    body = json_body()
    setup = service.new_setup(created_by_id=g.api_user.id, team_id=team_to_create_in(body.pop("team_id", None)))
    current = service.document(setup)
    current["stage_parameters"] = stage_defaults(current_app.config["SAMPLE_APP_CONFIG_DIR"])
    clean = validated(merge(current, body), body, setup, "setup.create")
    save(setup, clean, "setup.create")
    response = jsonify(setup_json(setup))
    response.headers["Location"] = url_for("api.get_setup", setup_id=setup.id)
    return response, 201


def team_to_create_in(given: Any) -> int:
    """The team a new setup goes to: ``team_id`` if given, else the one team the user may create setups in.

    :raise ApiError: 422 when it is no team the user is an operator of, or none is given and there is a choice
    """
    allowed = g.api_user.teams_with("setup.edit")
    if given is None:
        if allowed is None or len(allowed) != 1:
            raise ApiError(422, {"team_id": ["Name the team that owns the setup (GET /api/v1/teams lists yours)."]})
        return next(iter(allowed))
    if isinstance(given, bool) or not isinstance(given, int) or not 0 < given <= MAX_ID or (
            allowed is not None and given not in allowed) or get_by_id(get_session(), Team, given) is None:
        raise ApiError(422, {"team_id": ["Must be the id of a team where you are an operator."]})
    return given


@bp.post("/setups/<int:setup_id>/transfer")
@setup_required("setup.transfer")
def transfer_setup(setup_id: int):
    """Move the setup to another team: ``{"team_id": n}`` (admins only; audited under both teams)."""
    setup = load_setup(setup_id)
    body = json_body()
    errors = {key: [document_rules.UNKNOWN_FIELD] for key in sorted(body.keys() - {"team_id"})}
    given = body.get("team_id")
    team = get_by_id(get_session(), Team, given) if isinstance(given, int) and not isinstance(given, bool) else None
    if team is None:
        errors["team_id"] = ["Must be the id of a team."]
    if errors:
        raise ApiError(422, errors)
    memberships.transfer(get_session(), setup, team)
    return setup_json(setup)


@bp.get("/setups/<int:setup_id>")
@setup_required("setup.view")
def get_setup(setup_id: int):
    return setup_json(load_setup(setup_id))


@bp.patch("/setups/<int:setup_id>")
@setup_required("setup.edit")
def update_setup(setup_id: int):
    setup = load_setup(setup_id)
    body = json_body()
    version = body.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ApiError(422, {"version": ["Send the setup's version you read (a whole number): it guards against "
                                         "overwriting someone else's change."]})
    if version != setup.version:
        raise ApiError(409, {"version": [str(service.SetupConflict(setup.version, version))]})
    current = service.document(setup)
    # A parameter the setup was saved without gets its default, as the wizard shows it.
    config_dir = current_app.config["SAMPLE_APP_CONFIG_DIR"]
    current["stage_parameters"] = with_defaults(current["stage_parameters"], config_dir)
    clean = validated(merge(current, body), body, setup, "setup.update")
    save(setup, clean, "setup.update", sent_version=version)
    return setup_json(setup)


@bp.post("/setups/<int:setup_id>/plan")
@setup_required("setup.plan")
def request_plan(setup_id: int):
    setup = load_setup(setup_id)
    db = get_session()
    try:
        operation = service.request_plan(db, setup, g.api_user.username)
    except service.NotReady as err:
        service.record_refusal(db, "setup.plan", setup, str(err))
        raise ApiError(409, {"status": [str(err)]}) from err
    except service.PlanInProgress as err:
        raise ApiError(409, {"plan": [str(err)]}) from err
    if operation.status == OperationStatus.FAILED.value:
        raise ApiError(503, {"queue": [operation.error]}, operation=operation_json(operation))
    response = jsonify(operation_json(operation))
    response.headers["Location"] = url_for("api.get_operation", operation_id=operation.id)
    return response, 202


@bp.get("/operations/<int:operation_id>")
@setup_required("setup.view", via="operation_id")
def get_operation(operation_id: int):
    """Return the operation with its stacks (every planned change), root cause and results."""
    return presenters.detail_json(load_operation(operation_id))


def load_operation(operation_id: int) -> Operation:
    operation = get_by_id(get_session(), Operation, operation_id)
    if operation is None:
        raise ApiError(404, {"operation": [f"There is no operation {operation_id}."]})
    return operation
