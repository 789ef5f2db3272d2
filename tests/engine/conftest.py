"""Session fixtures for the engine tests: a real Prefect server (its database on PostgreSQL,
created for this session and dropped after), a runner process serving mentorflow's
deployments (``python -m deployments.serve``), a task worker serving the consequences
(``python -m deployments.task_worker``), an application database (SQLite file, migrated with
Alembic) and an SMTP sink, as ``mentorflow up`` runs them.

The test process talks to the same server: ``PREFECT_API_URL`` is set in its environment,
so ``tasks.engine.after_fact``'s background threads see it too.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from prefect.context import refresh_global_settings_context
from sqlalchemy import Engine

from migrations import upgrade
from models.db import make_engine
from tests.engine.harness import (
    Mailbox,
    PrefectServer,
    Process,
    child_env,
    create_pg_database,
    deployments_exist,
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
    """A process of the engine (the runner, a task worker), which tests may kill and start again."""

    env: dict[str, str]
    log_path: Path
    args: tuple[str, ...] = ("-m", "deployments.serve")
    ready: str = "deployments"
    process: Process | None = None

    def start(self) -> None:
        self.process = runner_process(self.env, self.log_path, *self.args)
        self.process.start()
        if self.ready == "deployments":
            wait_until(deployments_exist, timeout=60, interval=0.3, what="the served deployments")
        else:
            wait_until(
                lambda: self.ready in self.log_path.read_text(errors="replace"),
                timeout=60,
                interval=0.2,
                what=f"{self.log_path.name}: {self.ready!r}",
            )

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()


@pytest.fixture(scope="session")
def engine_env(
    prefect_server: PrefectServer,
    prefect_client_env: None,
    app_db: Engine,
    mailbox: Mailbox,
    engine_dir: Path,
) -> dict[str, str]:
    return child_env(
        **prefect_server.client_env(),
        MENTORFLOW_DATABASE_URL=app_db.url.render_as_string(hide_password=False),
        MENTORFLOW_DATA_DIR=str(engine_dir / "data"),
        MENTORFLOW_SMTP_URL=mailbox.url,
        MENTORFLOW_BASE_URL="https://mentoring.example.org",
        MENTORFLOW_RECONCILE_EVERY=RECONCILE_EVERY,
    )


@pytest.fixture(scope="session")
def task_worker(engine_env: dict[str, str], engine_dir: Path) -> Iterator[RunnerControl]:
    """``python -m deployments.task_worker``: every fact's consequences."""
    control = RunnerControl(
        env=engine_env,
        log_path=engine_dir / "task-worker.log",
        args=("-m", "deployments.task_worker"),
        ready="serving handle-events",
    )
    control.start()
    yield control
    control.stop()


@pytest.fixture(scope="session")
def runner(
    engine_env: dict[str, str], task_worker: RunnerControl, engine_dir: Path
) -> Iterator[RunnerControl]:
    """The runner serving the deployments, with a task worker beside it."""
    control = RunnerControl(env=engine_env, log_path=engine_dir / "runner.log")
    began = time.monotonic()
    control.start()
    print(f"runner serving after {time.monotonic() - began:.1f} s")  # noqa: T201
    yield control
    control.stop()
