"""Real engine parts for tests and benchmarks: a Prefect server on PostgreSQL, runner
processes serving mentorflow's deployments, and an SMTP sink.

Everything runs as separate processes in their own process groups, so a test can kill a
runner the way a crashed machine would (``SIGKILL`` to the whole group, flow runs included)
and stop the server while the application keeps going.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import IO, Any, TypeVar

import httpx
import psycopg
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession
from prefect import get_client
from sqlalchemy.engine import make_url

from deployments.prefect_tls import light_tls_settings
from services.engine_state import LIFECYCLE_DEPLOYMENT, RECONCILER_DEPLOYMENT

PG_ADMIN_URL = os.environ.get("MENTORFLOW_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
#: This machine sets PYTHONDONTWRITEBYTECODE=1, so each flow-run process would compile
#: Prefect from source (~1 s more per wake). Child processes get a bytecode cache outside
#: the venv instead, as a normal installation has one.
PYCACHE = Path(tempfile.gettempdir()) / "mentorflow-pycache"

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until(probe: Callable[[], T | None], *, timeout: float, interval: float = 0.1, what: str = "") -> T:
    """Call ``probe`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout:.0f} s waiting for {what or probe}")
        time.sleep(interval)


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    env.update(extra)
    return env


# --- PostgreSQL database for Prefect ------------------------------------------------------------


def create_pg_database(name: str, driver: str = "asyncpg") -> str:
    """A fresh database next to ``test``; returns its SQLAlchemy URL with ``driver`` (asyncpg
    is what Prefect wants)."""
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    # make_url keeps a Unix socket (``?host=/dir``, deployments/local_postgres.py) as it is
    url = make_url(PG_ADMIN_URL).set(drivername=f"postgresql+{driver}", database=name)
    return url.render_as_string(hide_password=False)


def drop_pg_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- processes ------------------------------------------------------------------------------------


@dataclass
class Process:
    """A child process in its own process group, with its output in a log file."""

    args: list[str]
    env: dict[str, str]
    log_path: Path
    popen: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None

    def start(self) -> None:
        self._log = self.log_path.open("ab")
        self.popen = subprocess.Popen(
            self.args,
            env=self.env,
            cwd=REPO,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole group, the way a machine dies: no clean-up runs."""
        self._signal_group(signal.SIGKILL)
        self._reap(5)

    def stop(self, grace: float = 10) -> None:
        """SIGTERM the group, then SIGKILL whatever is left after ``grace`` seconds."""
        self._signal_group(signal.SIGTERM)
        if not self._reap(grace):
            self.kill()
        self._close_log()

    def group_members(self) -> list[int]:
        """Live pids in this process group (the process itself and, say, its flow runs)."""
        if self.popen is None:
            return []
        members = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            state, pgid = fields[0], int(fields[2])
            if pgid == self.popen.pid and state != "Z":
                members.append(int(stat.parent.name))
        return members

    def _signal_group(self, sig: signal.Signals) -> None:
        if self.popen is None:
            return
        try:
            os.killpg(self.popen.pid, sig)
        except ProcessLookupError:
            pass

    def _reap(self, timeout: float) -> bool:
        if self.popen is None:
            return True
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        return True

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


@dataclass
class PrefectServer:
    """``prefect server start`` on a free port, its database on PostgreSQL."""

    home: Path
    database_url: str
    port: int = field(default_factory=free_port)
    process: Process | None = None
    server_env: dict[str, str] = field(default_factory=dict)  # e.g. Redis messaging

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def client_env(self) -> dict[str, str]:
        """What every process talking to this server needs."""
        env = {
            "PREFECT_API_URL": self.api_url,
            "PREFECT_HOME": str(self.home),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_LOGGING_LEVEL": "INFO",
        }
        return {**env, **light_tls_settings(env, self.home)}

    def start(self, timeout: float = 120) -> float:
        """Start and wait until healthy; returns the seconds that took."""
        began = time.monotonic()
        env = child_env(
            **self.client_env(),
            PREFECT_API_DATABASE_CONNECTION_URL=self.database_url,
            PREFECT_UI_ENABLED="false",
            **self.server_env,
        )
        self.process = Process(
            [PYTHON, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(self.port)],
            env=env,
            log_path=self.home / "server.log",
        )
        self.process.start()
        wait_until(self.healthy, timeout=timeout, interval=0.2, what="the Prefect server")
        return time.monotonic() - began

    def healthy(self) -> bool:
        if self.process is None or not self.process.running:
            if self.process is not None:
                raise RuntimeError(f"Prefect server exited; see {self.process.log_path}")
            return False
        try:
            return httpx.get(f"{self.api_url}/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None


def runner_process(env: dict[str, str], log_path: Path, *args: str) -> Process:
    """``python -m deployments.serve`` (or ``args``) with ``env``; not started."""
    return Process([PYTHON, *(args or ("-m", "deployments.serve"))], env=env, log_path=log_path)


# --- SMTP ------------------------------------------------------------------------------------------


class Mailbox:
    """An aiosmtpd sink on a free port that keeps every message it accepts.

    While ``refusing`` is set it answers every message with a temporary failure (451), as a
    relay that is overloaded or greylisting does, and counts them in ``refused``."""

    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[EmailMessage] = []
        self.refusing = False
        self.refused = 0
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: Envelope) -> str:
        if self.refusing:
            self.refused += 1
            return "451 4.3.0 Mail refused for a while, try again later"
        content: Any = envelope.content
        raw = content if isinstance(content, bytes) else str(content or "").encode()
        message = message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 Message accepted for delivery"

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def message_ids(self) -> list[str]:
        return [str(m["Message-ID"]) for m in self.messages]


def deployments_exist() -> bool:
    """The runner has registered the deployments the API and the reconciler call."""
    try:
        with get_client(sync_client=True) as client:
            for name in (LIFECYCLE_DEPLOYMENT, RECONCILER_DEPLOYMENT):
                client.read_deployment_by_name(name)
    except Exception:
        return False
    return True
