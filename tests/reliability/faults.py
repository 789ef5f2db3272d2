"""What the fault scenario does to the cluster while lifecycles are in flight, with a log of
when it did it."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import psycopg

from tests.engine.harness import PG_ADMIN_URL, Mailbox, Process

RESTART_AFTER = 5.0  # seconds a supervisor takes to start a killed worker again


@dataclass
class Faults:
    """What was done to the cluster, and when (seconds since the test began)."""

    began: float = field(default_factory=time.monotonic)
    log: list[str] = field(default_factory=list)
    kills: int = 0
    dropped_connections: int = 0
    readyz_while_down: Counter[str] = field(default_factory=Counter)
    _threads: list[threading.Thread] = field(default_factory=list)

    def note(self, what: str) -> None:
        line = f"{time.monotonic() - self.began:5.0f} s  {what}"
        self.log.append(line)
        print(line)  # noqa: T201

    def later(self, delay: float, action: Callable[[], None]) -> None:
        """Run ``action`` after ``delay`` seconds, beside the driver."""

        def run() -> None:
            time.sleep(delay)
            action()

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        self._threads.append(thread)

    def join(self) -> None:
        for thread in self._threads:
            thread.join()
        self._threads.clear()

    def kill_and_restart(self, process: Process) -> None:
        """SIGKILL the process group (the machine dies), start it again after a pause."""
        process.kill()
        self.kills += 1
        self.note(f"SIGKILLed {process.log_path.stem}")
        time.sleep(RESTART_AFTER)
        process.start()
        self.note(f"restarted {process.log_path.stem}")

    def refuse_mail(self, mailbox: Mailbox, seconds: float) -> None:
        """Refuse every mail from now until ``seconds`` after the first one was refused, so
        that the window is as long as asked for while mail is really being sent."""
        mailbox.refusing = True
        self.note("SMTP refuses mail")
        first = time.monotonic()
        while not mailbox.refused and time.monotonic() - first < 120:
            time.sleep(0.2)
        self.note(f"SMTP refused its first mail; refuses for {seconds:.0f} s more")
        time.sleep(seconds)
        mailbox.refusing = False
        self.note(f"SMTP accepts mail again ({mailbox.refused} refused)")

    def drop_app_connections(self, database: str) -> None:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                (database,),
            ).fetchall()
        self.dropped_connections = len(rows)
        self.note(f"dropped {len(rows)} connections to the application database")

    def watch_readiness(self, api_url: str, until: threading.Event) -> None:
        while not until.is_set():
            self.readyz_while_down[engine_readiness(api_url)] += 1
            until.wait(1)


def engine_readiness(api_url: str) -> str:
    """What the API's ``/readyz`` says of the engine, or why it did not answer."""
    try:
        return str(httpx.get(f"{api_url}/readyz", timeout=5).json()["engine"])
    except httpx.HTTPError as error:
        return f"no answer: {error!r}"
