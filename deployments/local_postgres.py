"""A PostgreSQL of our own, for a machine that has none: the server binaries that the pinned
``pgserver`` package brings (no system package, no Docker), its data in a directory of ours,
reached through a Unix socket in that directory, trust authentication for the local user.

The test command starts one when nothing answers at 127.0.0.1:5432 (and ``MENTORFLOW_TEST_PG``
is not set), so a laptop with only Python and git runs the whole suite::

    python -m deployments.local_postgres start .mentorflow/test-postgres   # prints its URL
    python -m deployments.local_postgres stop .mentorflow/test-postgres

Run as root (as in containers), ``pgserver`` runs the server as a system user of its own,
because PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import sys
from pathlib import Path


def start(data_dir: Path) -> str:
    """Start (or find running) the server for ``data_dir``; its admin URL (database ``postgres``)."""
    from pgserver.postgres_server import get_server

    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir.resolve(), cleanup_mode=None)  # keeps running after we exit
    uri: str = server.get_uri()
    return uri


def stop(data_dir: Path) -> None:
    from pgserver.postgres_server import get_server

    if (data_dir / "postmaster.pid").exists():
        get_server(data_dir.resolve(), cleanup_mode="stop").cleanup()


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
