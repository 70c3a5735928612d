"""The emulator's own control API under ``/_emulator/`` (see docs/contracts.md)."""
from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

from flask import Flask, jsonify, request
from werkzeug.exceptions import BadRequest, HTTPException

from emulator.state import STATE, ActionFailure, EventFault, ResourceFailure

logger = logging.getLogger(__name__)

PREFIX = "/_emulator"
OPERATIONS = ("CREATE", "UPDATE", "DELETE")
EVENT_FAULTS = ("duplicate", "drop", "reorder")
DEFAULT_ACCOUNT = "123456789012"  # moto's default credentials' account
DEFAULT_REGION = "us-east-1"


class ControlInputError(BadRequest):
    """A control request whose JSON body is missing or wrong."""


def reset_everything() -> None:
    """Empty moto's backends and every extension's state, and zero the knobs."""
    from moto.moto_api._internal.models import moto_api_backend

    with STATE.lock:
        moto_api_backend.reset()
        STATE.reset()
    logger.info("emulator reset")


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ControlInputError("expected a JSON object body")
    return data


def _number(data: dict[str, Any], key: str, low: float, high: float | None = None) -> float:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ControlInputError(f"'{key}' must be a number")
    if value < low or (high is not None and value > high):
        raise ControlInputError(f"'{key}' must be between {low} and {high if high is not None else 'inf'}")
    return float(value)


def _text(data: dict[str, Any], key: str, required: bool = False, default: str = "") -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or (required and not value):
        raise ControlInputError(f"'{key}' must be a {'non-empty ' if required else ''}string")
    return value


def _count(data: dict[str, Any]) -> int:
    if "count" not in data:
        return -1
    value = data["count"]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ControlInputError("'count' must be a positive integer")
    return value


def parse_failure(data: dict[str, Any]) -> ResourceFailure | ActionFailure | EventFault:
    """Turn a ``POST /_emulator/failures`` body into a failure rule."""
    kind = data.get("type")
    if kind == "resource":
        operation = _text(data, "operation").upper()
        if operation and operation not in OPERATIONS:
            raise ControlInputError(f"'operation' must be one of {', '.join(OPERATIONS)}")
        return ResourceFailure(
            logical_id=_text(data, "logical_id", required=True),
            reason=_text(data, "reason", default="Injected failure") or "Injected failure",
            stack_name=_text(data, "stack_name"),
            account_id=_text(data, "account_id"),
            operation=operation,
            remaining=_count(data),
        )
    if kind == "action":
        return ActionFailure(
            stage_name=_text(data, "stage_name", required=True),
            action_name=_text(data, "action_name", required=True),
            pipeline_name=_text(data, "pipeline_name"),
            reason=_text(data, "reason", default="Injected failure") or "Injected failure",
            remaining=_count(data),
        )
    if kind == "event":
        fault = _text(data, "fault", required=True)
        if fault not in EVENT_FAULTS:
            raise ControlInputError(f"'fault' must be one of {', '.join(EVENT_FAULTS)}")
        return EventFault(fault=fault, source=_text(data, "source"), detail_type=_text(data, "detail_type"),
                          remaining=_count(data))
    raise ControlInputError("'type' must be 'resource', 'action' or 'event'")


def _failures_json() -> dict[str, Any]:
    with STATE.lock:
        return {
            "resource": [asdict(f) for f in STATE.resource_failures],
            "action": [asdict(f) for f in STATE.action_failures],
            "event": [asdict(f) for f in STATE.event_faults],
        }


def create_control_app() -> Flask:
    """Build the Flask app serving the control endpoints."""
    app = Flask("emulator.control")

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException):  # type: ignore[no-untyped-def]
        return jsonify(error=error.description), error.code

    @app.post(f"{PREFIX}/reset")
    def reset():  # type: ignore[no-untyped-def]
        reset_everything()
        return jsonify(status="ok")

    @app.route(f"{PREFIX}/pace", methods=["GET", "POST"])
    def pace():  # type: ignore[no-untyped-def]
        if request.method == "POST":
            seconds = _number(_body(), "seconds", 0.0, 60.0)
            with STATE.lock:
                STATE.pace = seconds
            logger.info("pace set to %s s", seconds)
        return jsonify(seconds=STATE.pace)

    @app.route(f"{PREFIX}/actions", methods=["GET", "POST"])
    def actions():  # type: ignore[no-untyped-def]
        if request.method == "POST":
            simulate = _body().get("simulate")
            if not isinstance(simulate, bool):
                raise BadRequest("'simulate' must be true or false")
            with STATE.lock:
                STATE.simulate_actions = simulate
            logger.info("pipeline actions %s", "simulated" if simulate else "do their work")
        return jsonify(simulate=STATE.simulate_actions)

    @app.route(f"{PREFIX}/throttle", methods=["GET", "POST"])
    def throttle():  # type: ignore[no-untyped-def]
        if request.method == "POST":
            fraction = _number(_body(), "fraction", 0.0, 1.0)
            with STATE.lock:
                STATE.throttle_fraction = fraction
            logger.info("throttle fraction set to %s", fraction)
        return jsonify(fraction=STATE.throttle_fraction)

    @app.route(f"{PREFIX}/failures", methods=["GET", "POST", "DELETE"])
    def failures():  # type: ignore[no-untyped-def]
        if request.method == "POST":
            failure = parse_failure(_body())
            with STATE.lock:
                if isinstance(failure, ResourceFailure):
                    STATE.resource_failures.append(failure)
                elif isinstance(failure, EventFault):
                    STATE.event_faults.append(failure)
                else:
                    STATE.action_failures.append(failure)
            logger.info("failure injected: %s", failure)
            return jsonify(_failures_json()), 201
        if request.method == "DELETE":
            with STATE.lock:
                STATE.resource_failures.clear()
                STATE.action_failures.clear()
                STATE.event_faults.clear()
        return jsonify(_failures_json())

    @app.route(f"{PREFIX}/stats", methods=["GET", "DELETE"])
    def stats():  # type: ignore[no-untyped-def]
        from emulator import stats as stats_module

        if request.method == "DELETE":
            stats_module.reset()
        return jsonify(calls=stats_module.snapshot())

    @app.route(f"{PREFIX}/events", methods=["GET", "DELETE"])
    def events():  # type: ignore[no-untyped-def]
        from emulator import eventbridge

        if request.method == "DELETE":
            eventbridge.reset_stats()
        return jsonify(eventbridge.stats())

    @app.post(f"{PREFIX}/push")
    def push():  # type: ignore[no-untyped-def]
        from emulator.codecommit.repos import GitError
        from emulator.codepipeline import push as push_commit
        from emulator.codepipeline.sources import UnknownRepositoryError

        data = _body()
        try:
            result = push_commit(
                account_id=_text(data, "account_id", default=DEFAULT_ACCOUNT) or DEFAULT_ACCOUNT,
                region=_text(data, "region", default=DEFAULT_REGION) or DEFAULT_REGION,
                repository=_text(data, "repository", required=True),
                branch=_text(data, "branch", default="main") or "main",
                message=_text(data, "message", default="Update") or "Update",
            )
        except UnknownRepositoryError as err:
            return jsonify(error=str(err)), 404
        except GitError as err:  # no git on the host: nothing the request could change
            return jsonify(error=str(err)), 500
        return jsonify(result.to_dict()), 201

    @app.post(f"{PREFIX}/demo")
    def demo():  # type: ignore[no-untyped-def]
        from emulator import demo as demo_module

        demo_module.seed()
        return jsonify(status="ok")

    return app
