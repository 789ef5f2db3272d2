"""``mentorflow up``: migrate, start every part, print where they are, stop them on Ctrl-C.

Parts: a local Prefect server (unless ``PREFECT_API_URL`` points at one), the runner serving
the deployments (``python -m deployments.serve``), a task worker serving the background
tasks (``python -m deployments.task_worker``), a local SMTP sink (unless
``MENTORFLOW_SMTP_URL`` is set) and the API. Prefect's own state lives in the data dir.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import uvicorn

from deployments import local_postgres
from deployments.mailsink import start_sink
from deployments.prefect_tls import light_tls_settings
from migrations import upgrade
from models.settings import Settings, get_settings

PREFECT_PORT = int(os.environ.get("MENTORFLOW_PREFECT_PORT", "4200"))
SINK_PORT = int(os.environ.get("MENTORFLOW_SINK_PORT", "1025"))


def say(message: str) -> None:
    print(f"[mentorflow] {message}", flush=True)


def wait_until_healthy(url: str, process: subprocess.Popen[bytes] | None, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{url} exited with code {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not become healthy within {timeout:.0f}s")


@contextmanager
def child(command: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A child process in its own process group, stopped (and its children) on exit."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        process = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield process
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes], grace: float = 15) -> None:
    """SIGTERM to the child alone, as a service manager stops it; then SIGTERM, and at last
    SIGKILL, to whatever is left of its group. Prefect's runner, stopped so, marks the runs it
    is executing Cancelled (the reconciler takes a lifecycle run up again) before it goes;
    SIGTERM to its whole group at once killed those runs first, and the Prefect UI showed them
    Crashed."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        _wait(process, grace)
    for leftovers, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 0.0)):
        try:
            os.killpg(process.pid, leftovers)
        except ProcessLookupError:
            return  # the group is gone with its leader
        time.sleep(wait)


def _wait(process: subprocess.Popen[bytes], seconds: float) -> None:
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        pass


def prefect_env(settings: Settings) -> dict[str, str]:
    home = (settings.data_dir / "prefect").resolve()
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_RUNNER_POLL_FREQUENCY": os.environ.get("PREFECT_RUNNER_POLL_FREQUENCY", "1"),
        "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "true",
        "PREFECT_LOCAL_STORAGE_PATH": str(home / "results"),
    }
    env.setdefault("PREFECT_API_URL", f"http://127.0.0.1:{PREFECT_PORT}/api")
    # Concurrency leases (the reconciler's one-pass-at-a-time limit) on disk, not in the
    # server's memory: a server restarted in the middle of a pass forgot the lease but kept
    # the slot taken, and every later pass stood aside for ever (tests/reliability)
    env.setdefault(
        "PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE", "prefect.server.concurrency.lease_storage.filesystem"
    )
    env.update(light_tls_settings(env, home))
    # every resume is a new interpreter: let it keep compiled bytecode (about a second a start)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _prefect_on_postgres() -> bool:
    """PostgreSQL unless the deployer set Prefect's database, or asked for SQLite."""
    if os.environ.get("PREFECT_API_DATABASE_CONNECTION_URL"):
        return False
    return os.environ.get("MENTORFLOW_PREFECT_DATABASE", "postgresql") != "sqlite"


def prefect_database(settings: Settings, parts: ExitStack) -> str:
    """Prefect's database on a PostgreSQL of our own (deployments/local_postgres.py), started
    now and stopped with everything else. On SQLite, Prefect's server answered a walk through
    one mentorship with "database is locked" errors in its log, and 200 background tasks took
    96 s to run against 18 s on PostgreSQL (the engine issue's measurement)."""
    data = (settings.data_dir / "postgres").resolve()
    admin = local_postgres.start(data)
    parts.callback(local_postgres.stop, data)
    return local_postgres.ensure_database(admin, "prefect", driver="asyncpg")


def run(*, with_engine: bool = True) -> int:
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.sqlalchemy_url)
    say("database migrated")
    logs = settings.data_dir / "logs"
    with ExitStack() as parts:
        if with_engine:
            env = prefect_env(settings)
            if not os.environ.get("MENTORFLOW_SMTP_URL"):
                parts.callback(start_sink(settings.data_dir / "mail", port=SINK_PORT).stop)
                env["MENTORFLOW_SMTP_URL"] = f"smtp://127.0.0.1:{SINK_PORT}"
                say(f"mail sink listening on 127.0.0.1:{SINK_PORT}; see caught mail: mentorflow mail")
            if "PREFECT_API_URL" not in os.environ:
                if _prefect_on_postgres():
                    env["PREFECT_API_DATABASE_CONNECTION_URL"] = prefect_database(settings, parts)
                    say("Prefect's database: PostgreSQL of our own in " + str(settings.data_dir / "postgres"))
                say("starting the local Prefect server (first start takes ~15 s)")
                command = [
                    sys.executable,
                    "-m",
                    "prefect",
                    "server",
                    "start",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(PREFECT_PORT),
                ]
                server = parts.enter_context(child(command, env, logs / "prefect-server.log"))
                wait_until_healthy(env["PREFECT_API_URL"] + "/health", server)
            os.environ.update(env)
            parts.enter_context(child([sys.executable, "-m", "deployments.serve"], env, logs / "runner.log"))
            say("runner serving the deployments (log: " + str(logs / "runner.log") + ")")
            parts.enter_context(
                child([sys.executable, "-m", "deployments.task_worker"], env, logs / "task-worker.log")
            )
            say("task worker serving the consequences (log: " + str(logs / "task-worker.log") + ")")
        else:
            os.environ["MENTORFLOW_ENGINE"] = "off"
        _print_urls(settings, with_engine)
        # uvicorn re-raises the SIGTERM it caught once it has shut down; turn it into an
        # exit that unwinds this ExitStack, so the server, runner and sink stop with us.
        signal.signal(signal.SIGTERM, _exit_on_signal)
        uvicorn.run("api.main:app", host=settings.host, port=settings.port, log_level="warning")
    say("stopped")
    return 0


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def _print_urls(settings: Settings, with_engine: bool) -> None:
    base = f"http://{settings.host}:{settings.port}"
    print("\nmentorflow is up:")
    print(f"  API docs        {base}/docs   (OpenAPI: {base}/openapi.json)")
    print(f"  portal          {base}/portal   (demo users: mentorflow demo)")
    print(f"  health          {base}/healthz  {base}/readyz")
    if with_engine:
        ui = os.environ["PREFECT_API_URL"].removesuffix("/api")
        print(f"  Prefect UI      {ui}")
        print(f"  caught mail     {settings.data_dir / 'mail'}   (mentorflow mail)")
    print("Press Ctrl-C to stop everything.\n", flush=True)
