"""GET /healthz: the portal answers and its database does too."""
from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from portal.db import get_session
from portal.health import bp
from portal.security import rule

log = logging.getLogger(__name__)


@bp.get("/healthz")
@rule("public")
def healthz():
    try:
        get_session().execute(text("SELECT 1"))
    except SQLAlchemyError as err:
        log.warning("Health check: database unreachable: %s", err)
        return {"status": "unavailable", "database": "unreachable"}, 503
    return {"status": "ok", "database": "ok"}
