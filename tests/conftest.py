"""Shared fixtures: a migrated database per backend (SQLite and PostgreSQL), a movable clock,
the app with an HTTP client, and people to act in tests.

Every test that uses ``db`` runs once on SQLite and once on PostgreSQL. The schema comes from
``alembic upgrade head``; each test starts from empty tables (the topic catalogue stays).
"""

from __future__ import annotations

import os

os.environ.setdefault("MENTORFLOW_ENV", "test")
os.environ.setdefault("MENTORFLOW_SECRET_KEY", "test-secret-key-for-the-suite-0123456789")
os.environ.setdefault("MENTORFLOW_PASSWORD_HASHING", "cheap")
os.environ.setdefault("MENTORFLOW_ENGINE", "off")  # the engine suites switch it on themselves

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from api.app import build_app, configure_app
from migrations import upgrade
from models import Base
from models.db import make_engine
from models.settings import Settings, get_settings
from tests.consequences.support import SmtpServer, free_port
from tests.engine.harness import create_pg_database, drop_pg_database
from tests.support import Clock, People, serve_app

pytest_plugins = ["tests.browser"]

KEEP = {"topic", "topic_question", "alembic_version"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The engine tests first. They share one worker (``xdist_group``) and take about five
    minutes there; handed out in their place in the tree, a third of the way in, they decided
    when the whole suite ended while the other worker had finished."""
    items.sort(key=lambda item: item.get_closest_marker("engine") is None)


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A database migrated with Alembic, for the whole session of this worker."""
    yield from migrated_database(request.param, tmp_path_factory)


def migrated_database(
    kind: str, tmp_path_factory: pytest.TempPathFactory, label: str = ""
) -> Iterator[Engine]:
    """A new database of ``kind`` (sqlite, postgresql) at Alembic's head; dropped after."""
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        upgrade(url)
        engine = make_engine(url)
        yield engine
        engine.dispose()
        return
    name = f"mentorflow_test_{label}{_worker()}_{os.getpid()}"
    url = create_pg_database(name, driver="psycopg")
    upgrade(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()
    drop_pg_database(name)


#: The sequences of the emptied tables, set back to 1 (PostgreSQL). ``DELETE`` and this take a
#: few milliseconds where ``TRUNCATE … RESTART IDENTITY`` of every table took ~110 ms per test.
_RESTART_SEQUENCES = text(
    """
    SELECT setval(sequence.oid::regclass, 1, false)
    FROM pg_class AS sequence
    JOIN pg_depend AS owner ON owner.objid = sequence.oid AND owner.deptype IN ('a', 'i')
    JOIN pg_class AS owning_table ON owning_table.oid = owner.refobjid
    WHERE sequence.relkind = 'S' AND owning_table.relname = ANY(:tables)
    """
)


def _empty_tables(engine: Engine) -> None:
    """Delete every row but the catalogue's, children first, and restart the ids at 1."""
    tables = [t for t in reversed(Base.metadata.sorted_tables) if t.name not in KEEP]
    with engine.begin() as conn:
        for table in tables:
            conn.execute(table.delete())
        if engine.dialect.name == "postgresql":
            conn.execute(_RESTART_SEQUENCES, {"tables": [t.name for t in tables]})


@pytest.fixture
def db(database: Engine) -> Iterator[Engine]:
    """The worker's database, emptied after the test."""
    yield database
    _empty_tables(database)


@pytest.fixture
def session(db: Engine) -> Iterator[Session]:
    with Session(db, expire_on_commit=False) as s:
        yield s


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings() -> Settings:
    return get_settings()


@pytest.fixture
def woken() -> list[int]:
    """Mentorship ids the API told the engine about, in order."""
    return []


@pytest.fixture(scope="session")
def built_app() -> FastAPI:
    """One app per worker: FastAPI prepares its routes at an app's first request (~150 ms),
    which a new app per test paid a thousand times. ``app`` configures it for each test."""
    return build_app()


@pytest.fixture
def app(built_app: FastAPI, db: Engine, clock: Clock, settings: Settings, woken: list[int]) -> FastAPI:
    """The app on this test's database and clock, with an empty sign-in throttle; the engine is
    not told (``woken`` collects the ids instead)."""
    configure_app(built_app, settings, engine=db, clock=clock, on_fact=woken.append)
    return built_app


@pytest.fixture
def live_url(app: FastAPI) -> Iterator[str]:
    """The app served by uvicorn on a free port, for real concurrent requests and the browser."""
    with serve_app(app) as url:
        yield url


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def people(db: Engine, settings: Settings, clock: Clock) -> People:
    return People(db, settings, clock)


@pytest.fixture
def mail_server() -> Iterator[SmtpServer]:
    """A real SMTP server on a free port, for mails a test sends through the outbox itself."""
    server = SmtpServer(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
