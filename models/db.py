"""Engine and session setup for SQLite (default) and PostgreSQL.

SQLite: WAL, foreign keys on, and ``BEGIN IMMEDIATE`` for every transaction so two writers
queue up instead of failing half-way with "database is locked"; ``read_scope`` opens a plain
(deferred) transaction for readers that poll often and must not queue behind writers.
PostgreSQL: writers take row locks (``SELECT ... FOR UPDATE``) on the mentorship they change;
see ``services.access``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from models.settings import get_settings


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)
        _tune_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _lower(text: str | None) -> str | None:
    return None if text is None else text.lower()


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()
        # SQLite's own lower() knows only ASCII: "Übermann" stayed "Übermann", and a search for
        # "über" missed it. Python's knows every letter, as PostgreSQL's does.
        dbapi_connection.create_function("lower", 1, _lower, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        read_only = connection.get_execution_options().get(_READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


_READ_ONLY = "mentorflow_read_only"


@lru_cache
def default_engine() -> Engine:
    settings = get_settings()
    if settings.sqlalchemy_url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return make_engine(settings.sqlalchemy_url)


def session_factory(engine: Engine | None = None) -> sessionmaker[Session]:
    return sessionmaker(bind=engine or default_engine(), expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on error."""
    with session_factory(engine)() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def read_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A unit of work that only reads; rolled back at the end whatever it did.

    On SQLite it takes no write lock, so a reader that polls every few milliseconds neither
    waits for writers nor makes them wait. On PostgreSQL it is an ordinary transaction.
    """
    with (engine or default_engine()).connect() as connection:
        connection.execution_options(**{_READ_ONLY: True})
        with Session(bind=connection) as session:
            try:
                yield session
            finally:
                session.rollback()
