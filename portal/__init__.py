"""Lambda Pipeline Portal: the Flask application factory."""
from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from core import config as core_config
from portal import settings

log = logging.getLogger(__name__)


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Create the portal; settings come from the environment, then ``test_config`` overrides them.

    :raise settings.ConfigurationError: the environment cannot run a portal (e.g. no secret key)
    """
    app = Flask(__name__, instance_path=str(core_config.INSTANCE_DIR))
    config = settings.settings_from_env(os.environ)
    config.update(test_config or {})
    app.config.update(settings.resolve(config, os.environ))
    if app.config["PROXY_COUNT"] > 0:
        count = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    log.info("Portal created (%s)", app.config["PORTAL_ENV"])
    return app


def register_extensions(app: Flask) -> None:
    from portal import access, db, params, queue, security
    from portal.extensions import csrf, login_manager

    params.init_app(app)  # before the blueprints: their <int:...> rules bind the converter when added
    db.init_app(app)
    queue.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)
    security.init_app(app)
    access.init_app(app)


def register_blueprints(app: Flask) -> None:
    from portal.admin import bp as admin_bp
    from portal.api import bp as api_bp
    from portal.approvals import bp as approvals_bp
    from portal.auth import bp as auth_bp
    from portal.deployments import bp as deployments_bp
    from portal.extensions import csrf
    from portal.health import bp as health_bp
    from portal.pipelines import bp as pipelines_bp
    from portal.setups import bp as setups_bp

    # The API authenticates each request with a bearer token, never a cookie, so a forged
    # cross-site request has nothing to ride on: no CSRF token is needed there.
    csrf.exempt(api_bp)
    for blueprint in (auth_bp, setups_bp, deployments_bp, pipelines_bp, approvals_bp, api_bp, admin_bp,
                      health_bp):
        app.register_blueprint(blueprint)


def register_errorhandlers(app: Flask) -> None:
    from portal import errors

    errors.register(app)


def register_commands(app: Flask) -> None:
    from portal import cli

    cli.register(app)
