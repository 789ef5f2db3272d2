"""The PostgreSQL the test command starts where none runs (deployments/local_postgres.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[2]


def local_postgres(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "deployments.local_postgres", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return done.stdout.strip()


def test_a_server_of_our_own_starts_serves_and_stops(tmp_path: Path) -> None:
    data = tmp_path / "pg"
    url = local_postgres("start", str(data))
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute('CREATE DATABASE "probe"')
            assert conn.execute("SHOW server_version").fetchone() is not None
        assert local_postgres("start", str(data)) == url  # a second start finds it running
    finally:
        local_postgres("stop", str(data))
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=3)
