"""The worker's database sessions: one engine per process and URL, made after Celery forks."""
from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from core import config
from core.db import make_engine, make_session_factory

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_engines: dict[str, tuple[Engine, sessionmaker[Session]]] = {}


def session_factory() -> sessionmaker[Session]:
    """Sessions on ``core.config.database_url()``; read each time, so tests can point elsewhere."""
    url = config.database_url()
    with _lock:
        if url not in _engines:
            engine = make_engine(url)
            _engines[url] = (engine, make_session_factory(engine))
        return _engines[url][1]


def dispose_all() -> None:
    """Forget every engine; a forked child must not share its parent's connections."""
    with _lock:
        for engine, _ in _engines.values():
            engine.dispose(close=False)
        _engines.clear()
