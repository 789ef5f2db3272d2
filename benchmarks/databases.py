"""A migrated application database for one benchmark run: a throwaway SQLite file, or a
PostgreSQL database of its own at the tests' server (dropped afterwards)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine

from migrations import upgrade
from models.db import make_engine
from tests.engine.harness import create_pg_database, drop_pg_database


@contextmanager
def migrated_database(backend: str, name: str) -> Iterator[Engine]:
    """``backend`` is ``sqlite`` or ``postgresql``; ``name`` names the PostgreSQL database."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
            upgrade(url)
            engine = make_engine(url)
            yield engine
            engine.dispose()
        return
    url = create_pg_database(name, driver="psycopg")
    upgrade(url)
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()
        drop_pg_database(name)
