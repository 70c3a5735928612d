"""JSON API for the pipeline dashboard: pipelines, one pipeline, its executions; release, retry, stop.

Reads answer the worker's stored snapshot (portal/pipelines/presenters.py), never AWS; reading one
pipeline records interest, as its page does. Requests are recorded, committed, then sent
(portal/pipelines/service.py): 202 with the request, whose ``message`` later holds AWS's answer.
"""
from __future__ import annotations

import logging

from flask import current_app, g, jsonify, request

from core import pipelines
from core.models import PipelineRequest, PipelineRequestStatus, Setup, utcnow
from portal.api import bp
from portal.api.routes import QUERY_PARAMETERS, ApiError, json_body, page_number
from portal.db import get_by_id, get_session
from portal.pipelines import presenters, service
from portal.access import setup_required, visible_setups
from portal.security import rule
from portal.setups.document_rules import NOT_A_STRING, UNKNOWN_FIELD

log = logging.getLogger(__name__)

# Registered beside the other endpoints' (portal.api.routes refuses any other query parameter).
QUERY_PARAMETERS.update({"api.list_pipelines": {"state", "sort"}, "api.list_pipeline_executions": {"page"}})


def load_deployed(setup_id: int) -> Setup:
    session = get_session()
    setup = get_by_id(session, Setup, setup_id)
    if setup is None or not service.is_deployed(session, setup):
        raise ApiError(404, {"setup": [f"There is no deployed pipeline of setup {setup_id}."]})
    return setup


def emulator() -> bool:
    return bool(current_app.config["EMULATOR_URL"])


def choice(name: str, allowed: tuple[str, ...], default: str) -> str:
    """``?name=``, ``default`` when absent; given, it must be one of ``allowed`` (empty is no state)."""
    raw = request.args.get(name, default)
    if name in request.args and raw not in allowed:
        raise ApiError(400, {name: [f"Must be one of {', '.join(allowed)}."]})
    return raw


def accepted(made: PipelineRequest):
    if made.status == PipelineRequestStatus.FAILED.value:
        raise ApiError(503, {"queue": [made.message]}, request=presenters.request_json(made))
    return jsonify(presenters.request_json(made)), 202


def refused(err: service.Refused) -> ApiError:
    extra = {"request": presenters.request_json(err.existing)} if err.existing is not None else {}
    return ApiError(409, {"pipeline": [str(err)]}, **extra)


@bp.get("/pipelines")
@rule("signed in")  # a list: it shows only what the user may see (portal.access.visible_setups)
def list_pipelines():
    """Every applied setup's pipeline with its state, newest execution and what waits for whom."""
    state = choice("state", presenters.STATES, "")
    sort = choice("sort", presenters.SORTS, "name")
    now = utcnow()
    rows = [presenters.summary_json(setup, snapshot, now)
            for setup, snapshot in service.deployed_setups(get_session(), visible_setups())]
    return {"pipelines": presenters.sort_rows([r for r in rows if not state or r["state"] == state], sort)}


@bp.get("/pipelines/<int:setup_id>")
@setup_required("setup.view")
def get_pipeline(setup_id: int):
    setup = load_deployed(setup_id)
    snapshot = service.snapshot_of(get_session(), setup.id)
    now = utcnow()
    service.record_interest(get_session(), setup, snapshot, now)
    return presenters.pipeline_json(setup, snapshot, now, emulator())


@bp.get("/pipelines/<int:setup_id>/executions")
@setup_required("setup.view")
def list_pipeline_executions(setup_id: int):
    setup = load_deployed(setup_id)
    page = page_number()
    return presenters.executions_page(service.snapshot_of(get_session(), setup.id), page, utcnow(), emulator())


@bp.post("/pipelines/<int:setup_id>/releases")
@setup_required("pipeline.operate")
def request_release(setup_id: int):
    setup = load_deployed(setup_id)
    try:
        return accepted(service.request_release(get_session(), setup, g.api_user.username))
    except service.Refused as err:
        raise refused(err) from err


@bp.post("/pipelines/<int:setup_id>/stages/<stage>/retry")
@setup_required("pipeline.operate")
def retry_stage(setup_id: int, stage: str):
    setup = load_deployed(setup_id)
    if stage not in pipelines.STAGES:
        raise ApiError(400, {"stage": [f"Must be one of {', '.join(pipelines.STAGES)}."]})
    snapshot = service.snapshot_of(get_session(), setup.id)
    try:
        return accepted(service.request_retry(get_session(), setup, snapshot, stage, g.api_user.username))
    except service.Refused as err:
        raise refused(err) from err


@bp.post("/pipelines/<int:setup_id>/stop")
@setup_required("pipeline.operate")
def stop_execution(setup_id: int):
    """Stop the execution in progress: ``{"reason": "..."}`` (1 to 200 characters) goes to AWS."""
    setup = load_deployed(setup_id)
    body = json_body()
    errors = {key: [UNKNOWN_FIELD] for key in sorted(body.keys() - {"reason"})}
    reason = body.get("reason")
    if not isinstance(reason, str):
        errors["reason"] = [NOT_A_STRING if "reason" in body else "Give a reason for stopping."]
    elif not reason.strip() or len(reason.strip()) > service.STOP_REASON_MAX:
        errors["reason"] = [f"Give a reason of 1 to {service.STOP_REASON_MAX} characters."]
    if errors:
        raise ApiError(422, errors)
    snapshot = service.snapshot_of(get_session(), setup.id)
    try:
        return accepted(service.request_stop(get_session(), setup, snapshot, reason.strip(), g.api_user.username))
    except service.Refused as err:
        raise refused(err) from err
