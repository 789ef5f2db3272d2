"""A PostgreSQL of our own, for a machine that has none: the server binaries that the pinned
``pgserver`` package brings (no system package, no Docker), its data in a directory of ours,
reached through a Unix socket in that directory, trust authentication for the local user.

``mentorflow up`` keeps Prefect's database in one (``.mentorflow/postgres``), and the test
command starts one when nothing answers at 127.0.0.1:5432 (and ``MENTORFLOW_TEST_PG`` is not
set), so a laptop with only Python and git runs the whole suite::

    python -m deployments.local_postgres start .mentorflow/test-postgres   # prints its URL
    python -m deployments.local_postgres stop .mentorflow/test-postgres

Run as root (as in containers), ``pgserver`` runs the server as a system user of its own,
because PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import subprocess
import sys
import time
import warnings
from pathlib import Path

STARTS = 3


def start(data_dir: Path) -> str:
    """Start (or find running) the server for ``data_dir``; its admin URL (database ``postgres``)."""
    with warnings.catch_warnings():  # "XDG_RUNTIME_DIR is not set": /tmp does, too
        warnings.simplefilter("ignore")
        from pgserver.postgres_server import get_server

    data_dir.parent.mkdir(parents=True, exist_ok=True)

    def once() -> str:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server = get_server(data_dir.resolve(), cleanup_mode=None)  # outlives this process
        uri: str = server.get_uri()
        return uri

    for _ in range(STARTS - 1):
        try:
            return once()
        except (subprocess.SubprocessError, OSError, AssertionError):
            # pgserver gives ``pg_ctl start`` 10 s; on a loaded machine the server may come up
            # later: the next try finds it running (or starts it again)
            time.sleep(2)
    return once()


def ensure_database(admin_url: str, name: str, *, driver: str) -> str:
    """Create database ``name`` unless it exists; its SQLAlchemy URL with ``driver``."""
    import psycopg
    from sqlalchemy.engine import make_url

    with psycopg.connect(admin_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(admin_url).set(drivername=f"postgresql+{driver}", database=name)
    return url.render_as_string(hide_password=False)


def stop(data_dir: Path) -> None:
    from pgserver.postgres_server import get_server

    if (data_dir / "postmaster.pid").exists():
        server = get_server(data_dir.resolve(), cleanup_mode="stop")
        server.cleanup_mode = "stop"  # the handle ``start`` made in this process keeps it running
        server.cleanup()


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] not in ("start", "stop"):
        print("usage: python -m deployments.local_postgres start|stop DATA_DIR", file=sys.stderr)
        return 2
    data_dir = Path(argv[2])
    if argv[1] == "start":
        print(start(data_dir))
    else:
        stop(data_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
