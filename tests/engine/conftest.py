"""Session fixtures for the engine tests: a real Prefect server (its database on PostgreSQL,
created for this session and dropped after), a runner process serving mentorflow's
deployments (``python -m deployments.serve``), an application database (SQLite file,
migrated with Alembic) and an SMTP sink.

The test process talks to the same server: ``PREFECT_API_URL`` is set in its environment,
so ``api.engine.notify_engine``'s background threads see it too.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from prefect import get_client
from prefect.context import refresh_global_settings_context
from sqlalchemy import Engine

from migrations import upgrade
from models.db import make_engine
from services.engine_state import LIFECYCLE_DEPLOYMENT, RECONCILER_DEPLOYMENT
from tests.engine.harness import (
    PYTHON,
    Mailbox,
    PrefectServer,
    Process,
    child_env,
    create_pg_database,
    drop_pg_database,
    runner_process,
    wait_until,
)

#: A long interval keeps the scheduled reconciler out of the way; tests run it on demand.
RECONCILE_EVERY = "10m"


@pytest.fixture(scope="session")
def engine_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("engine")


@pytest.fixture(scope="session")
def prefect_server(engine_dir: Path) -> Iterator[PrefectServer]:
    name = f"mentorflow_prefect_{os.getpid()}"
    database_url = create_pg_database(name)
    home = engine_dir / "prefect-home"
    home.mkdir()
    server = PrefectServer(home=home, database_url=database_url)
    seconds = server.start()
    print(f"\nPrefect server healthy after {seconds:.1f} s (new database)")  # noqa: T201
    try:
        yield server
    finally:
        server.stop()
        drop_pg_database(name)


@pytest.fixture(scope="session")
def prefect_client_env(prefect_server: PrefectServer) -> Iterator[None]:
    """Point this process's Prefect client (every thread of it) at the test server, and
    switch the engine on (``tests/conftest.py`` switches it off for the other suites)."""
    wanted = {**prefect_server.client_env(), "MENTORFLOW_ENGINE": "prefect"}
    before = {k: os.environ.get(k) for k in wanted}
    os.environ.update(wanted)
    refresh_global_settings_context()
    yield
    for key, value in before.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    refresh_global_settings_context()


@pytest.fixture(scope="session")
def app_db(engine_dir: Path) -> Iterator[Engine]:
    url = f"sqlite:///{engine_dir / 'app.db'}"
    upgrade(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    box.start()
    yield box
    box.stop()


@dataclass
class RunnerControl:
    """The runner process, which tests may kill and start again."""

    env: dict[str, str]
    log_path: Path
    process: Process | None = None

    def start(self) -> None:
        self.process = runner_process(self.env, self.log_path)
        self.process.start()
        wait_until(_deployments_exist, timeout=60, interval=0.3, what="the served deployments")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()


def _deployments_exist() -> bool:
    try:
        with get_client(sync_client=True) as client:
            for name in (LIFECYCLE_DEPLOYMENT, RECONCILER_DEPLOYMENT):
                client.read_deployment_by_name(name)
    except Exception:
        return False
    return True


@pytest.fixture(scope="session")
def runner(
    prefect_server: PrefectServer,
    prefect_client_env: None,
    app_db: Engine,
    mailbox: Mailbox,
    engine_dir: Path,
) -> Iterator[RunnerControl]:
    env = child_env(
        **prefect_server.client_env(),
        MENTORFLOW_DATABASE_URL=app_db.url.render_as_string(hide_password=False),
        MENTORFLOW_DATA_DIR=str(engine_dir / "data"),
        MENTORFLOW_SMTP_URL=mailbox.url,
        MENTORFLOW_BASE_URL="https://mentoring.example.org",
        MENTORFLOW_RECONCILE_EVERY=RECONCILE_EVERY,
    )
    control = RunnerControl(env=env, log_path=engine_dir / "runner.log")
    began = time.monotonic()
    control.start()
    print(f"runner serving after {time.monotonic() - began:.1f} s")  # noqa: T201
    yield control
    control.stop()


@pytest.fixture(scope="module")
def fast_lane(runner: RunnerControl, engine_dir: Path) -> Iterator[Process]:
    """``python -m deployments.fast_lane`` beside the runner, for the modules that ask for it
    (as ``mentorflow up`` runs it); the other modules watch the lifecycle run work alone."""
    log_path = engine_dir / "fast-lane.log"
    lane = Process([PYTHON, "-m", "deployments.fast_lane"], env=runner.env, log_path=log_path)
    lane.start()
    wait_until(
        lambda: "watching the event log" in log_path.read_text(errors="replace"),
        timeout=60,
        interval=0.2,
        what="the fast lane",
    )
    yield lane
    lane.stop()
