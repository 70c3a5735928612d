"""Dashboard views: the pipelines list, one pipeline with its live part, and release/retry/stop."""
from __future__ import annotations

import logging
from datetime import datetime

from flask import abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from core import pipelines
from core.models import PipelineRequestStatus, PipelineSnapshot, Setup, utcnow
from portal import params
from portal.db import get_by_id, get_session
from portal.errors import error_response
from portal.pipelines import bp, presenters, service
from portal.pipelines import live as live_keys
from portal.access import setup_required, visible_setups
from portal.security import rule

log = logging.getLogger(__name__)


def no_pipeline(setup_id: int):
    abort(make_response(error_response(404, f"There is no deployed pipeline of setup {setup_id}.")))


def load_pipeline(setup_id: int) -> tuple[Setup, PipelineSnapshot | None]:
    """:raise 404: no such setup, or it has no deployed pipeline"""
    session = get_session()
    setup = get_by_id(session, Setup, setup_id)
    if setup is None or not service.is_deployed(session, setup):
        no_pipeline(setup_id)
    return setup, service.snapshot_of(session, setup.id)


def bad_request(message: str):
    abort(make_response(error_response(400, message)))


def emulator() -> bool:
    # Against the emulator the AWS console has nothing to show: no console links then.
    return bool(current_app.config["EMULATOR_URL"])


def choice(name: str, allowed: tuple[str, ...], default: str) -> str:
    """:raise 400: ``?name=`` is none of ``allowed``"""
    value = request.args.get(name, default)
    if value not in allowed:
        bad_request(f"?{name}= must be one of {', '.join(a for a in allowed if a)}.")
    return value


@bp.get("/pipelines")
@rule("signed in")  # a list: it shows only what the user may see (portal.access.visible_setups)
def index():
    """Every applied setup's pipeline; ``?state=`` filters, ``?sort=name|state|updated`` orders."""
    state = choice("state", ("", *presenters.STATES), "")
    sort = choice("sort", presenters.SORTS, "name")
    now = utcnow()
    rows = [presenters.summary_json(setup, snapshot, now)
            for setup, snapshot in service.deployed_setups(get_session(), visible_setups())]
    counts = {s: sum(1 for r in rows if r["state"] == s) for s in presenters.STATES}
    shown = presenters.sort_rows([r for r in rows if not state or r["state"] == state], sort)
    return render_template("pipelines/index.html", rows=shown, state=state, sort=sort, counts=counts,
                           states=presenters.STATES, total=len(rows))


@bp.get("/pipelines/<int:setup_id>")
@setup_required("setup.view")
def pipeline(setup_id: int):
    """One pipeline: stages, actions, the newest executions, history (``?page=``), buttons."""
    setup, snapshot = load_pipeline(setup_id)
    page = params.query_number("page", 1, 1, 1_000_000)
    now = utcnow()
    service.record_interest(get_session(), setup, snapshot, now)
    body = presenters.pipeline_json(setup, snapshot, now, emulator())
    history = presenters.executions_page(snapshot, page, now, emulator())
    return render_template("pipelines/pipeline.html", setup=setup, pipeline=body, history=history,
                           stage_names=pipelines.STAGES, approval_action=pipelines.APPROVAL_ACTION,
                           requests=service.latest_requests(get_session(), setup.id), now=now)


@bp.get("/pipelines/<int:setup_id>/live")
@setup_required("setup.view")
def live(setup_id: int):
    """The pipeline as JSON for the open page; 304 while the snapshot is unchanged (If-None-Match)."""
    session, keys = get_session(), live_keys.of(current_app)
    key = keys.get(session, setup_id)
    if not key.deployed:
        no_pipeline(setup_id)
    now = utcnow()
    if key.snapshot_id is not None:
        renewed = service.renew_interest(session, key.snapshot_id, key.watched_until, now)
        if renewed is not None:
            keys.watched(setup_id, renewed)
        if request.if_none_match.contains(key.etag):
            response = make_response("", 304)
            response.set_etag(key.etag)
            return response
    if key.snapshot_id is None:
        setup, snapshot = load_pipeline(setup_id)
        service.record_interest(session, setup, snapshot, now)
        keys.forget(setup_id)  # the row exists now, or soon: the next poll looks again
        etag, body = render_live(setup, snapshot, now)
    else:
        etag, body = keys.body(setup_id, key.etag, lambda: render_live(*load_pipeline(setup_id), now))
    response = current_app.response_class(body, mimetype="application/json")
    response.set_etag(etag)
    return response


def render_live(setup: Setup, snapshot: PipelineSnapshot | None, now: datetime) -> tuple[str, bytes]:
    """The live answer's ETag and JSON body (the same for every viewer: portal/pipelines/live.py)."""
    body = presenters.pipeline_json(setup, snapshot, now, emulator())
    # A request's answer comes with the read its worker asks for, so the snapshot's ETag covers it.
    body["requests"] = [presenters.request_json(r) for r in service.latest_requests(get_session(), setup.id)]
    etag = live_keys.etag_of(snapshot.version, snapshot.read_at) if snapshot else "none"
    return etag, current_app.json.dumps(body).encode("utf-8") + b"\n"


def _send(action: str, setup: Setup, make):
    try:
        made = make()
    except service.Refused as err:
        flash(f"Not {action}: {err}", "error")
        return redirect(url_for("pipelines.pipeline", setup_id=setup.id))
    if made.status == PipelineRequestStatus.FAILED:
        flash(f"The {made.kind} could not be requested. {made.message}", "error")
    else:
        flash(f"{made.kind.capitalize()} requested (#{made.id}): the worker sends it to AWS, and the page "
              "shows AWS's answer.", "success")
    return redirect(url_for("pipelines.pipeline", setup_id=setup.id))


@bp.post("/pipelines/<int:setup_id>/release")
@setup_required("pipeline.operate")
def release(setup_id: int):
    """Start a pipeline execution with the branch's latest commit."""
    setup, _snapshot = load_pipeline(setup_id)
    return _send("released", setup, lambda: service.request_release(get_session(), setup, current_user.username))


@bp.post("/pipelines/<int:setup_id>/stages/<stage>/retry")
@setup_required("pipeline.operate")
def retry(setup_id: int, stage: str):
    """Retry the failed actions of ``stage``.

    :raise 400: ``stage`` is not one of the pipeline's stages
    """
    setup, snapshot = load_pipeline(setup_id)
    if stage not in pipelines.STAGES:
        bad_request(f"{stage[:100]!r} is not a stage of this pipeline: {', '.join(pipelines.STAGES)}.")
    return _send("retried", setup, lambda: service.request_retry(get_session(), setup, snapshot, stage,
                                                                current_user.username))


@bp.post("/pipelines/<int:setup_id>/stop")
@setup_required("pipeline.operate")
def stop(setup_id: int):
    """Stop the execution in progress; the form's ``reason`` (required) goes to AWS.

    :raise 400: no reason, or a longer one than AWS takes
    """
    setup, snapshot = load_pipeline(setup_id)
    reason = (request.form.get("reason") or "").strip()
    if not reason or len(reason) > service.STOP_REASON_MAX:
        bad_request(f"Give a reason for stopping, at most {service.STOP_REASON_MAX} characters.")
    return _send("stopped", setup, lambda: service.request_stop(get_session(), setup, snapshot, reason,
                                                               current_user.username))
