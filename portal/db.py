"""One SQLAlchemy session per request, from core.db; no Flask-SQLAlchemy."""
from __future__ import annotations

import logging

from typing import TypeVar

from flask import Flask, current_app, g
from sqlalchemy.orm import Session

from core.db import make_engine, make_session_factory, upgrade
from core.validation import MAX_ID

Row = TypeVar("Row")

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    """Create the engine and session factory; migrate first unless the configuration says not to."""
    url = app.config["DATABASE_URL"]
    if app.config.get("MIGRATE_ON_START", True):
        upgrade(url)
    engine = make_engine(url)
    app.extensions["db_engine"] = engine
    app.extensions["db_sessions"] = make_session_factory(engine)
    app.teardown_appcontext(close_session)


def get_session() -> Session:
    """Return this request's session, opening it on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["db_sessions"]()
    return g.db_session


def get_by_id(session: Session, model: type[Row], row_id: int) -> Row | None:
    """The row with this id, or None; an id past what PostgreSQL's integers hold is no row, not an error."""
    return session.get(model, row_id) if 0 < row_id <= MAX_ID else None


def close_session(_error: BaseException | None = None) -> None:
    # Whatever the view did not commit is rolled back here: a failed request leaves no half-write.
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def dispose(app: Flask) -> None:
    """Close the pooled connections (tests create many apps against one PostgreSQL server)."""
    app.extensions["db_engine"].dispose()
