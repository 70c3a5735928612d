"""Engine, sessions and migrations for the shared database."""
from __future__ import annotations

import fcntl
import logging
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, pool, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# The key of the PostgreSQL advisory lock that migrating holds: any fixed number, the same in every process.
# Advisory locks belong to one database, so two portals on two databases never wait for each other.
MIGRATION_LOCK_KEY = 7_341_902_115


def make_engine(url: str, **kwargs) -> Engine:
    """Create an engine; SQLite gets foreign keys, WAL and a busy timeout, as several processes share it."""
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            if ":memory:" not in url:
                _enable_wal(cursor)
            cursor.close()

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _enable_wal(cursor: sqlite3.Cursor, patience: float = 30.0) -> None:
    """Switch a SQLite file to WAL, waiting out rivals doing the same.

    Processes starting together on a new file all convert it at once; SQLite answers the losers
    "database is locked" at once, without its busy timeout, because waiting there could deadlock.
    """
    deadline = time.monotonic() + patience
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() >= deadline:
                raise
            time.sleep(0.02)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Yield a session that commits on success and rolls back on error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation would choke on '%' in URL-encoded passwords.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "heads") -> None:
    """Apply migrations up to ``revision``, in one process at a time, and only if they are not applied yet.

    Every entry point migrates on start (each gunicorn worker, the Celery worker, the CLI), so several
    processes reach this at once on a fresh database: the first takes a lock shared across processes
    and migrates; the others wait for it, then find the database migrated and do nothing.
    """
    config = alembic_config(url)
    wanted = _target_revisions(config, revision)
    engine = make_engine(url, poolclass=pool.NullPool)
    try:
        # AUTOCOMMIT: reading the revision must not leave a transaction (and its locks) open while
        # another process, or Alembic's own connection below, changes the schema.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            if _current_revisions(conn) == wanted:
                return
            with _migration_lock(conn, url):
                # Whoever held the lock before us may have done the work.
                if _current_revisions(conn) == wanted:
                    log.info("Database migrated by another process meanwhile")
                    return
                log.info("Migrating database to %s", revision)
                command.upgrade(config, revision)
    finally:
        engine.dispose()


def _target_revisions(config: Config, revision: str) -> set[str]:
    script = ScriptDirectory.from_config(config)
    if revision == "heads":
        return set(script.get_heads())
    return {script.get_revision(revision).revision}


def _current_revisions(conn: Connection) -> set[str]:
    return set(MigrationContext.configure(conn).get_current_heads())


@contextmanager
def _migration_lock(conn: Connection, url: str) -> Iterator[None]:
    """Hold a lock that every process migrating this database takes: advisory on PostgreSQL, a file on SQLite."""
    if conn.dialect.name == "postgresql":
        log.info("Taking the database's migration lock")
        conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
        return
    database = make_url(url).database if conn.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        # An in-memory database belongs to this process alone; other dialects are not supported.
        yield
        return
    # SQLite cannot lock a schema change against a rival's: a file beside the database can. The
    # file stays: deleting it would let a late process lock a new file while another holds the old one.
    lock_path = Path(f"{database}.migrate-lock")
    with lock_path.open("a") as lock_file:
        log.info("Taking the migration lock %s", lock_path)
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)
