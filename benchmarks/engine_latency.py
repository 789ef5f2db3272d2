"""Engine latency and cost: this tree against a baseline revision and against Prefect's defaults.

    python -m benchmarks.engine_latency [--rounds 10] [--burst-mentorships 100] [--baseline 4a2369a]
                                        [--phases at-rest,lifecycle,burst] [--setups tree,baseline,defaults]

Three set-ups run side by side in one run, each with its own SQLite application database, its
own SMTP sink and its own processes:

- **this tree**: ``python -m deployments.serve`` (runner poll 1 s, warm start) and
  ``python -m deployments.task_worker``, as ``mentorflow up`` runs them;
- **baseline** (default ``4a2369a``, the engine before the rewrite): its own
  ``deployments.serve`` (poll 1 s) and ``deployments.fast_lane``, run from a ``git worktree``
  of that revision (its code via cwd and ``PYTHONPATH``, its database migrated by its own
  migrations);
- **Prefect defaults**: this tree's lifecycle flow served by ``prefect.serve`` with Prefect's
  default runner poll (10 s) and process start (a new interpreter per run, no warm start),
  under a second deployment name, with its own task worker.

Prefect servers (both on PostgreSQL at 127.0.0.1:5432, each with a database this script creates
and drops): **A** for this tree, **B** for the baseline and the Prefect-defaults set-up. Two
set-ups cannot share a server when both serve the same deployment name (the baseline's
``mentorship-lifecycle/lifecycle`` is this tree's too), nor when both run task workers for the
same task: Prefect queues a background task by its task key (the function's name and code), so
a task worker would pick up the other set-up's ``handle-events`` and run it on its own
database. The baseline has no background tasks and the defaults set-up serves another
deployment name, so those two share B; their runs get idempotency keys of their own.

Facts are stated in every set-up the same way, by a small driver process run from that
set-up's source tree (this file, run as a script with the tree's ``PYTHONPATH``): each fact is
one committed transaction through ``services`` (``tests/engine/walk.py`` of that tree), then the
engine is told the way that revision's API tells it (``tasks.engine.after_fact`` here,
``api.engine.notify_engine`` at the baseline). The fact's time is taken right after its commit.
This process watches: the application database (SQLite, read without locks), the SMTP sinks
(arrival time of each message) and Prefect's PostgreSQL database (the run's tags, as the UI
shows them, and its state history).

Measured:

1. **at rest**, ``--rounds`` per set-up, set-ups taking turns: a pair in ``intro`` with agreement
   v1 submitted, everything handled, its run suspended; the mentor approves v1. Until: the
   mentee's ``agreement_approved`` mail is in the sink; the stage is ``active`` in the database;
   the run's tags contain ``stage:active`` (the baseline also records ``shown_seq`` reaching
   ``last_seq``). Prefect's state history and the task runs split each into its parts.
2. **lifecycle** (this tree and the baseline): one mentorship from request to completion, with
   ten meetings held (the get-to-know-you meeting, eight more and the final one) and one
   amendment, each fact stated once the previous one is at rest. Counted: resumes of the run and
   the Prefect rows written for it (flow runs, task runs, their states, run inputs, artifacts,
   logs and events), read from Prefect's PostgreSQL database.
3. **burst**: ``--burst-mentorships`` pairs in ``intro`` with v1 submitted; then all approvals
   and a meeting proposal each, committed back to back. Until the last mail (approved to the
   mentee, proposed to the mentor), the last stage ``active`` and the last run showing its
   final state (its tags as they are at rest).

Every wait has a timeout, and every process, database and the worktree this starts is removed at
the end, also on failure (the logs stay; their place is printed).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import queue
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import parseaddr
from functools import partial
from pathlib import Path
from statistics import median, quantiles
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

    from tests.engine.harness import Mailbox, PrefectServer

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_POLL_DEPLOYMENT = "lifecycle-default-poll"
LIFECYCLE_FLOW = "mentorship-lifecycle"
TERMINAL = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")
#: At-rest results that are counts, not seconds.
COUNTS = ("resumes per approval", "Prefect task runs per approval")
#: Prefect's tables counted per lifecycle (``events``/``event_resources``: Prefect's event log).
PREFECT_TABLES = (
    "flow_run",
    "flow_run_state",
    "task_run",
    "task_run_state",
    "flow_run_input",
    "artifact",
    "log",
    "events",
    "event_resources",
)


# ================================================================================================
# The driver: states facts with one source tree's code (runs as a script from that tree)
# ================================================================================================


def drive(kind: str, database_url: str) -> None:
    """Answer JSON commands on stdin, one line each, with one JSON line on the original stdout.

    ``kind``: ``tree`` (this tree, deployment ``lifecycle``), ``defaults`` (this tree, the
    default-poll deployment) or ``baseline`` (a revision with ``api.engine``).
    """
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # whatever prints goes to the log, not into the answers
    from sqlalchemy.orm import Session

    from models import User
    from models.db import make_engine
    from services import meetings
    from services.meetings import MeetingPlan
    from tests.engine.walk import Walk
    from tests.support import Clock

    db = make_engine(database_url)

    def clock() -> Clock:
        """The facts' clock starts now, as in production: the engine judges who must act next
        (the run's ``waiting:`` tag) by the real time, so a meeting must lie ahead of it."""
        return Clock(datetime.now(UTC).replace(microsecond=0))

    class TimedWalk(Walk):
        """A walk that notes the moment each fact is committed (just before it tells the engine)."""

        def __post_init__(self) -> None:
            self.stamps: list[float] = []
            super().__post_init__()

        def tell_engine(self) -> None:
            self.stamps.append(time.time())
            super().tell_engine()

        def propose(self, *, is_final: bool = False) -> int:
            """The mentee proposes a meeting a week ahead, and the engine is told (as the API does)."""
            plan = MeetingPlan(
                starts_at=self.clock.now + timedelta(days=7),
                duration_minutes=60,
                mode="video",
                location="https://video.example.org/room",
                agenda="Goals",
                topics=("career",),
                is_final=is_final,
            )

            def act(s: Session) -> int:
                return meetings.propose(
                    s, s.get_one(User, self.mentee_id), self.mentorship_id, plan, now=self.clock.now
                ).id

            meeting_id = self._commit(act)
            self.tell_engine()
            return meeting_id

        def confirm(self, meeting_id: int) -> None:
            self._as(self.mentor_id, lambda s, u: meetings.confirm(s, u, meeting_id, now=self.clock.now))

        def attend(self, meeting_id: int, user_id: int) -> None:
            self._as(
                user_id,
                lambda s, u: meetings.record_attendance(s, u, meeting_id, attended=True, now=self.clock.now),
            )

    walks: dict[int, TimedWalk] = {}
    life: list[tuple[TimedWalk, Iterator[str]]] = []

    def start_run(mentorship_id: int) -> str:
        if kind == "tree":
            from tasks.engine import start_lifecycle_run

            return start_lifecycle_run(mentorship_id, db=db)
        if kind == "baseline":
            started: str | None = importlib.import_module("api.engine").start_lifecycle(mentorship_id, db=db)
            if started is None:
                raise RuntimeError(f"baseline: no run for mentorship {mentorship_id}")
            return started
        return start_default_poll_run(db, mentorship_id)

    def pairs(n: int) -> list[dict[str, Any]]:
        """n pairs in ``intro`` with v1 submitted; then each run is started and the engine told."""
        made = []
        for _ in range(n):
            walk = TimedWalk(db, clock=clock(), notify=False)
            walk.request()
            walk.accept()
            walk.save_draft()
            walk.submit()
            walks[walk.mentorship_id] = walk
            made.append(walk)
        runs = [start_run(w.mentorship_id) for w in made]
        for walk in made:
            walk.notify = True
            walk.tell_engine()
        return [
            {"id": w.mentorship_id, "number": w.number, "run": r} for w, r in zip(made, runs, strict=True)
        ]

    def approve(ids: list[int]) -> list[float]:
        stamps = []
        for mentorship_id in ids:
            walk = walks[mentorship_id]
            walk.approve(1)
            stamps.append(walk.stamps[-1])
        return stamps

    def lifecycle(walk: TimedWalk) -> Iterator[str]:
        def meeting(name: str, *, is_final: bool = False) -> Iterator[str]:
            meeting_id = walk.propose(is_final=is_final)
            yield f"{name}: proposed"
            walk.confirm(meeting_id)
            yield f"{name}: confirmed"
            walk.clock.advance(days=7, hours=2)
            walk.attend(meeting_id, walk.mentee_id)
            yield f"{name}: the mentee took part"
            walk.attend(meeting_id, walk.mentor_id)
            yield f"{name}: the mentor took part"

        walk.request()
        yield "requested"
        walk.accept()
        yield "accepted"
        yield from meeting("get-to-know-you meeting")
        walk.save_draft()
        yield "agreement v1 drafted"
        walk.submit()
        yield "agreement v1 submitted"
        walk.approve(1)
        yield "agreement v1 approved"
        for n in range(2, 6):
            yield from meeting(f"meeting {n}")
        walk.save_draft(planned_meetings=10)
        yield "amendment v2 drafted"
        walk.submit()
        yield "amendment v2 submitted"
        walk.approve(2)
        yield "amendment v2 approved"
        for n in range(6, 10):
            yield from meeting(f"meeting {n}")
        yield from meeting("final meeting 10", is_final=True)

    def idle() -> bool:
        everyone = [*walks.values(), *(w for w, _ in life)]
        return all(f.done() for w in everyone for f in w.notified)

    def handle(command: dict[str, Any]) -> dict[str, Any]:
        op = command["op"]
        if op == "pairs":
            return {"pairs": pairs(int(command["n"]))}
        if op == "approve":
            return {"t": approve(command["ids"])}
        if op == "burst":
            began = time.time()
            approved = approve(command["ids"])
            proposed = []
            for mentorship_id in command["ids"]:
                walks[mentorship_id].propose()
                proposed.append(walks[mentorship_id].stamps[-1])
            return {"began": began, "approved": approved, "proposed": proposed}
        if op == "life_begin":
            walk = TimedWalk(db, clock=clock(), notify=True)
            life.append((walk, lifecycle(walk)))
            return {"number": walk.number}
        if op == "life_next":
            walk, steps = life[-1]
            try:
                what = next(steps)
            except StopIteration:
                return {"done": True}
            return {"done": False, "fact": what, "t": walk.stamps[-1], "id": walk.mentorship_id}
        if op == "idle":
            return {"idle": idle()}
        if op == "quit":
            deadline = time.monotonic() + 30
            while not idle() and time.monotonic() < deadline:
                time.sleep(0.1)
            return {"idle": idle()}
        raise ValueError(f"unknown command {op!r}")

    engine = "api.engine" if kind == "baseline" else "tasks.engine"
    code = {
        name: str(importlib.import_module(name).__file__) for name in ("models", "tests.engine.walk", engine)
    }
    answers.write(json.dumps({"ready": True, "code": code}) + "\n")
    for line in sys.stdin:
        command = json.loads(line)
        try:
            answer = handle(command)
        except Exception as error:
            answer = {"error": repr(error), "trace": traceback.format_exc()}
        answers.write(json.dumps(answer) + "\n")
        if command.get("op") == "quit":
            break


def start_default_poll_run(db: Any, mentorship_id: int) -> str:
    """What ``tasks.engine.start_lifecycle_run`` does, for the default-poll deployment and with an
    idempotency key of its own (the baseline's runs on the same server use ``mentorship-{id}``)."""
    from prefect.deployments import run_deployment

    from models.db import read_scope, session_scope
    from services import engine_state
    from services.engine_state import run_name, run_tags

    name = run_name(mentorship_id)
    with read_scope(db) as session:
        status = engine_state.run_status(session, mentorship_id, now=datetime.now(UTC))
    run: Any = run_deployment(  # type: ignore[call-arg]
        f"{LIFECYCLE_FLOW}/{DEFAULT_POLL_DEPLOYMENT}",
        parameters={"mentorship_id": mentorship_id},
        flow_run_name=name,
        idempotency_key=f"{DEFAULT_POLL_DEPLOYMENT}/{name}",
        tags=run_tags(status),
        as_subflow=False,
        timeout=0,
        _sync=True,
    )
    with session_scope(db) as session:
        engine_state.set_flow_run_id(session, mentorship_id, str(run.id))
    return str(run.id)


def serve_with_default_poll() -> None:
    """The defaults set-up's runner: this tree's lifecycle flow, Prefect's default poll (10 s)
    and process start, the same limit of runs at once as ``deployments.serve`` (16)."""
    from prefect import serve
    from prefect.types.entrypoint import EntrypointType

    from flows.lifecycle import mentorship_lifecycle

    deployment = mentorship_lifecycle.to_deployment(
        name=DEFAULT_POLL_DEPLOYMENT, entrypoint_type=EntrypointType.MODULE_PATH
    )
    serve(deployment, limit=16, heartbeat_seconds=30, pause_on_shutdown=False)  # type: ignore[arg-type]


# ================================================================================================
# The measuring side
# ================================================================================================


@dataclass
class Child:
    """A child process in its own process group, run from ``cwd``, its output in a log file."""

    name: str
    args: list[str]
    env: dict[str, str]
    cwd: Path
    log_path: Path
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.popen = subprocess.Popen(
                self.args,
                env=self.env,
                cwd=self.cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def check(self) -> None:
        if self.popen is not None and self.popen.poll() is not None:
            raise RuntimeError(f"{self.name} exited ({self.popen.returncode}); see {self.log_path}")

    def stop(self) -> None:
        stop_group(self.popen)


def stop_group(popen: subprocess.Popen[Any] | None, grace: float = 10) -> None:
    """SIGTERM the process group, SIGKILL what is left after ``grace`` seconds."""
    if popen is None:
        return
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(popen.pid, sig)
        except ProcessLookupError:
            return
        try:
            popen.wait(wait)
        except subprocess.TimeoutExpired:
            continue
        try:  # the leader is gone; its flow runs may not be
            os.killpg(popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return


def group_members(pgid: int) -> list[int]:
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return sorted(members)


class Driver:
    """A driver process (``drive``) and its answers."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], cwd: Path, log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        with log_path.open("ab") as log:
            self.popen = subprocess.Popen(
                args,
                env=env,
                cwd=cwd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                start_new_session=True,
                text=True,
            )
        self._answers: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self._answers.put(json.loads(line))
        self._answers.put({"error": f"{self.name} driver exited; see {self.log_path}"})

    def send(self, op: str, **arguments: Any) -> None:
        assert self.popen.stdin is not None
        self.popen.stdin.write(json.dumps({"op": op, **arguments}) + "\n")
        self.popen.stdin.flush()

    def receive(self, timeout: float) -> dict[str, Any]:
        try:
            answer = self._answers.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"{self.name} driver: no answer after {timeout:.0f} s") from None
        if "error" in answer:
            raise RuntimeError(f"{self.name} driver: {answer['error']}\n{answer.get('trace', '')}")
        return answer

    def poll_answer(self) -> dict[str, Any] | None:
        try:
            answer = self._answers.get_nowait()
        except queue.Empty:
            return None
        if "error" in answer:
            raise RuntimeError(f"{self.name} driver: {answer['error']}\n{answer.get('trace', '')}")
        return answer

    def call(self, op: str, timeout: float = 120, **arguments: Any) -> dict[str, Any]:
        self.send(op, **arguments)
        return self.receive(timeout)

    def stop(self) -> None:
        if self.popen.poll() is None:
            try:
                self.call("quit", timeout=40)
                self.popen.wait(10)
            except Exception:
                pass
        stop_group(self.popen, grace=5)


class PrefectDb:
    """Read-only look at a Prefect server's PostgreSQL database."""

    def __init__(self, name: str) -> None:
        import psycopg

        from tests.engine.harness import PG_ADMIN_URL

        self.name = name
        self.url = f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
        self.conn: psycopg.Connection[tuple[Any, ...]] = psycopg.connect(self.url, autocommit=True)

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        return self.conn.execute(sql, params).fetchall()

    def one(self, sql: str, *params: Any) -> Any:
        return self.rows(sql, *params)[0][0]

    def has_table(self, table: str) -> bool:
        return bool(self.one("SELECT to_regclass(%s) IS NOT NULL", table))

    def runs(self, run_ids: list[str]) -> dict[str, tuple[list[str], str | None]]:
        """Run id → (tags, state type)."""
        found = self.rows(
            "SELECT id::text, tags, state_type::text FROM flow_run WHERE id = ANY(%s::uuid[])", run_ids
        )
        return {r[0]: (list(r[1] or []), r[2]) for r in found}

    def close(self) -> None:
        self.conn.close()


class Sink:
    """An SMTP sink that notes when each message arrived, indexed by (recipient, kind)."""

    def __init__(self) -> None:
        from tests.engine.harness import Mailbox

        arrivals: list[tuple[float, EmailMessage]] = []

        class TimedMailbox(Mailbox):
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                answer = await super().handle_DATA(server, session, envelope)
                arrivals.append((time.time(), self.messages[-1]))
                return answer

        self.box: Mailbox = TimedMailbox()
        self.arrivals = arrivals
        self._seen = 0
        self.index: dict[tuple[str, str], list[float]] = {}

    @property
    def url(self) -> str:
        return self.box.url

    def refresh(self) -> None:
        while self._seen < len(self.arrivals):
            at, message = self.arrivals[self._seen]
            self._seen += 1
            address = parseaddr(str(message["To"]))[1]
            self.index.setdefault((address, str(message["X-Mentorflow-Kind"])), []).append(at)

    def first(self, address: str, kind: str) -> float | None:
        self.refresh()
        times = self.index.get((address, kind))
        return times[0] if times else None

    def duplicate_message_ids(self) -> int:
        ids = [str(m["Message-ID"]) for _, m in self.arrivals]
        return len(ids) - len(set(ids))


def mentee(number: int) -> str:
    return f"mentee{number}@example.org"


def mentor(number: int) -> str:
    return f"mentor{number}@example.org"


@dataclass
class Pair:
    id: int
    number: int
    run: str


@dataclass
class Setup:
    key: str  # "tree", "baseline", "defaults"
    label: str
    source: Path
    revision: str  # which engine the code has: "tree" or "baseline"
    server: PrefectServer
    prefect: PrefectDb | None
    db_path: Path
    sink: Sink
    deployment: str  # the lifecycle deployment's name
    children: list[Child] = field(default_factory=list)
    driver: Driver | None = None
    app: sqlite3.Connection | None = None
    pairs: list[Pair] = field(default_factory=list)
    results: dict[str, list[float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    broken: bool = False

    def add(self, name: str, value: float) -> None:
        self.results.setdefault(name, []).append(value)

    @property
    def pg(self) -> PrefectDb:
        assert self.prefect is not None
        return self.prefect

    @property
    def drv(self) -> Driver:
        assert self.driver is not None
        return self.driver

    def env(self, **extra: str) -> dict[str, str]:
        from tests.engine.harness import child_env

        base = child_env()
        for key in list(base):
            if key.startswith(("MENTORFLOW_", "PREFECT_")) or key == "PYTHONPATH":
                del base[key]
        return {
            **base,
            **self.server.client_env(),
            "PYTHONPATH": str(self.source),
            "MENTORFLOW_DATABASE_URL": f"sqlite:///{self.db_path}",
            "MENTORFLOW_DATA_DIR": str(self.db_path.parent / f"data-{self.key}"),
            "MENTORFLOW_SMTP_URL": self.sink.url,
            "MENTORFLOW_ENGINE": "prefect",
            "MENTORFLOW_RECONCILE_EVERY": "1h",  # measure the engine, not the reconciler's rescue
            **extra,
        }

    def mentorships(self, ids: list[int]) -> dict[int, sqlite3.Row]:
        assert self.app is not None
        marks = ",".join("?" * len(ids))
        found = self.app.execute(f"SELECT * FROM mentorship WHERE id IN ({marks})", ids).fetchall()
        return {row["id"]: row for row in found}

    def unsent_mail(self) -> int:
        assert self.app is not None
        return int(
            self.app.execute("SELECT count(*) FROM outgoing_email WHERE sent_at IS NULL").fetchone()[0]
        )

    @property
    def background(self) -> str:
        """SQL: the set-up's task runs that work beside the lifecycle runs: this tree's
        ``handle-events`` (whoever submitted it), or the baseline's fast lane (the lifecycle's
        tasks run standalone, outside any flow run)."""
        if self.revision == "baseline":
            return "(flow_run_id IS NULL AND name NOT LIKE 'handle-events%%')"
        return "(name LIKE 'handle-events%%')"

    def background_busy(self) -> int:
        """Of those, how many have not finished."""
        return int(
            self.pg.one(
                f"SELECT count(*) FROM task_run WHERE {self.background}"
                " AND state_type::text IN ('SCHEDULED', 'PENDING', 'RUNNING')"
            )
        )

    def why_not_at_rest(self, ids: list[int]) -> str | None:
        """None when every fact about these mentorships has had all its consequences and their
        runs wait (or have finished); else what is still going on."""
        if not self.drv.call("idle", timeout=30)["idle"]:
            return "the driver is still telling the engine"
        rows = self.mentorships(ids)
        for mentorship_id in ids:
            m = rows[mentorship_id]
            if m["flow_run_id"] is None:
                return f"mentorship {mentorship_id} has no run"
            if m["processed_seq"] != m["last_seq"]:
                return f"mentorship {mentorship_id}: events {m['processed_seq']}/{m['last_seq']} handled"
            if self.revision == "tree" and (m["run_stage"] != m["stage"] or m["handler_token"] is not None):
                return f"mentorship {mentorship_id}: run in {m['run_stage']}, stage {m['stage']}"
            if self.revision == "baseline" and m["shown_seq"] != m["last_seq"]:
                return f"mentorship {mentorship_id}: shown {m['shown_seq']}/{m['last_seq']}"
        if self.unsent_mail():
            return f"{self.unsent_mail()} mails unsent"
        runs = self.pg.runs([str(rows[i]["flow_run_id"]) for i in ids])
        for run_id, (_tags, state) in runs.items():
            if state not in ("PAUSED", "COMPLETED"):
                return f"run {run_id} is {state}"
        busy = self.background_busy()
        if busy:
            return f"{busy} background task runs not finished"
        return None

    def settle(self, ids: list[int], timeout: float, what: str) -> float:
        """Wait until at rest; returns when (epoch seconds)."""
        deadline = time.monotonic() + timeout
        while True:
            self.check_children()
            why = self.why_not_at_rest(ids)
            if why is None:
                return time.time()
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.label}: {what} not at rest after {timeout:.0f} s: {why}")
            time.sleep(0.05)

    def dump_stacks(self) -> Path | None:
        """What every process of this set-up is doing (py-spy, when it is installed), for a report."""
        spy = Path(sys.executable).parent / "py-spy"
        if not spy.exists() or not self.children:
            return None
        out = self.children[0].log_path.parent / f"{self.key}-stacks.txt"
        with out.open("a") as file:
            for child in [*self.children, self.driver]:
                popen = child.popen if child is not None else None
                if popen is None:
                    continue
                for pid in group_members(popen.pid):
                    file.write(f"\n===== {getattr(child, 'name', self.key)}: pid {pid} =====\n")
                    file.flush()
                    try:
                        subprocess.run(
                            [str(spy), "dump", "--pid", str(pid)], stdout=file, stderr=file, timeout=30
                        )
                    except subprocess.TimeoutExpired:
                        file.write("py-spy took longer than 30 s\n")
        return out

    def check_children(self) -> None:
        for child in self.children:
            child.check()


# --- set-up and tear-down ----------------------------------------------------------------------


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()


def migrate(setup: Setup) -> None:
    command = [sys.executable, "-c", f"from migrations import upgrade; upgrade('sqlite:///{setup.db_path}')"]
    subprocess.run(command, cwd=setup.source, env=setup.env(), check=True, capture_output=True)


def wait_for_log(child: Child, text: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while text not in child.log_path.read_text(errors="replace"):
        child.check()
        if time.monotonic() > deadline:
            raise TimeoutError(f"{child.name}: no {text!r} in {child.log_path} after {timeout:.0f} s")
        time.sleep(0.2)


def wait_for_deployment(setup: Setup, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    sql = (
        "SELECT count(*) FROM deployment d JOIN flow f ON f.id = d.flow_id WHERE f.name = %s AND d.name = %s"
    )
    while not setup.pg.one(sql, LIFECYCLE_FLOW, setup.deployment):
        setup.check_children()
        if time.monotonic() > deadline:
            raise TimeoutError(f"{setup.label}: deployment {setup.deployment} missing after {timeout:.0f} s")
        time.sleep(0.3)


def start_engine(setup: Setup, logs: Path) -> None:
    py = sys.executable
    if setup.key == "tree":
        env = setup.env(PREFECT_RUNNER_POLL_FREQUENCY="1")
        setup.children = [
            Child(
                "this tree: runner",
                [py, "-m", "deployments.serve"],
                env,
                setup.source,
                logs / "tree-runner.log",
            ),
            Child(
                "this tree: task worker",
                [py, "-m", "deployments.task_worker"],
                env,
                setup.source,
                logs / "tree-task-worker.log",
            ),
        ]
    elif setup.key == "baseline":
        env = setup.env(PREFECT_RUNNER_POLL_FREQUENCY="1")
        setup.children = [
            Child(
                "baseline: runner",
                [py, "-m", "deployments.serve"],
                env,
                setup.source,
                logs / "base-runner.log",
            ),
            Child(
                "baseline: fast lane",
                [py, "-m", "deployments.fast_lane"],
                env,
                setup.source,
                logs / "base-fast-lane.log",
            ),
        ]
    else:
        env = setup.env()  # no PREFECT_RUNNER_POLL_FREQUENCY: Prefect's default, 10 s
        setup.children = [
            Child(
                "defaults: runner",
                [py, "-m", "benchmarks.engine_latency", "--serve-default-poll"],
                env,
                setup.source,
                logs / "defaults-runner.log",
            ),
            Child(
                "defaults: task worker",
                [py, "-m", "deployments.task_worker"],
                env,
                setup.source,
                logs / "defaults-task-worker.log",
            ),
        ]
    for child in setup.children:
        child.start()


def start_driver(setup: Setup, logs: Path) -> None:
    args = [sys.executable, str(Path(__file__).resolve()), "--drive", setup.key, f"sqlite:///{setup.db_path}"]
    env = setup.env(MENTORFLOW_PASSWORD_HASHING="cheap")
    setup.driver = Driver(setup.label, args, env, setup.source, logs / f"{setup.key}-driver.log")


# --- measurements ------------------------------------------------------------------------------


def prepare(setup: Setup, n: int) -> list[Pair]:
    answer = setup.drv.call("pairs", timeout=120 + 2 * n, n=n)
    made = [Pair(p["id"], p["number"], p["run"]) for p in answer["pairs"]]
    setup.settle([p.id for p in made], timeout=120 + 2 * n, what=f"{n} new pairs")
    return made


def prepare_rounds(setup: Setup, rounds: int) -> None:
    setup.pairs = prepare(setup, rounds)


def measure_at_rest(setup: Setup, pair: Pair) -> None:
    """The mentor approves v1 of a pair at rest; until mail, stage and tags."""
    (t0,) = setup.drv.call("approve", ids=[pair.id])["t"]
    marks: dict[str, float] = {}
    wanted = {"mail", "stage", "shown"} | ({"shown_seq"} if setup.revision == "baseline" else set())
    deadline = time.monotonic() + 120
    while not wanted <= marks.keys():
        now = time.time()
        if "mail" not in marks:
            arrived = setup.sink.first(mentee(pair.number), "agreement_approved")
            if arrived is not None:
                marks["mail"] = arrived
        m = setup.mentorships([pair.id])[pair.id]
        if "stage" not in marks and m["stage"] == "active":
            marks["stage"] = now
        if "shown_seq" in wanted and "shown_seq" not in marks and m["stage"] == "active":
            if m["shown_seq"] == m["last_seq"]:
                marks["shown_seq"] = now
        if "shown" not in marks and "stage:active" in setup.pg.runs([pair.run]).get(pair.run, ([], None))[0]:
            marks["shown"] = now
        if time.monotonic() > deadline:
            raise TimeoutError(f"{setup.label}: {wanted - marks.keys()} not seen 120 s after the approval")
        time.sleep(0.01)
    at_rest = setup.settle([pair.id], timeout=120, what="the approved pair")
    for name, at in marks.items():
        setup.add(name, at - t0)
    split_resume(setup, pair, t0, at_rest, marks)


def split_resume(setup: Setup, pair: Pair, t0: float, t1: float, marks: dict[str, float]) -> None:
    """Prefect's records of what happened after the approval: the run's resume, the task runs."""
    states = setup.pg.rows(
        "SELECT type::text, name, extract(epoch FROM timestamp)::float8 FROM flow_run_state"
        " WHERE flow_run_id = %s::uuid AND timestamp >= to_timestamp(%s) ORDER BY timestamp",
        pair.run,
        t0,
    )
    seen: dict[str, float] = {}
    for kind, _name, at in states:
        if kind not in seen and (kind == "SCHEDULED" or "SCHEDULED" in seen):
            seen[kind] = at
    if {"SCHEDULED", "PENDING", "RUNNING", "PAUSED"} <= seen.keys():
        setup.add("resume: told → resumed (Scheduled)", seen["SCHEDULED"] - t0)
        setup.add("resume: poll wait (Scheduled → Pending)", seen["PENDING"] - seen["SCHEDULED"])
        setup.add("resume: process start (Pending → Running)", seen["RUNNING"] - seen["PENDING"])
        setup.add("resume: flow code (Running → Suspended)", seen["PAUSED"] - seen["RUNNING"])
        setup.add("resumes per approval", float(sum(1 for s in states if s[0] == "RUNNING")))
    tasks = setup.pg.rows(
        f"SELECT name, {setup.background}, extract(epoch FROM created)::float8,"
        " extract(epoch FROM start_time)::float8, extract(epoch FROM end_time)::float8 FROM task_run"
        " WHERE created >= to_timestamp(%s) AND created <= to_timestamp(%s)"
        " AND (flow_run_id IS NULL OR flow_run_id = %s::uuid) ORDER BY created",
        t0,
        t1,
        pair.run,
    )
    background = [t for t in tasks if t[1]]
    if background and background[0][3] is not None:
        _name, _, created, started, _ended = background[0]
        if setup.revision == "tree":
            setup.add("mail: told → handle-events created", created - t0)
            setup.add("mail: created → running on the task worker", started - created)
            setup.add("mail: running → mail in the sink", marks["mail"] - started)
        else:
            setup.add("mail: fact → fast lane's first task", started - t0)
            setup.add("mail: fast lane's first task → mail in the sink", marks["mail"] - started)
    moves = [t for t in tasks if not t[1] and t[0].startswith("activate") and t[4] is not None]
    if setup.revision == "tree" and moves and "RUNNING" in seen:
        setup.add("stage: Running → activate done", moves[0][4] - seen["RUNNING"])
        later = [t for t in background if t[2] >= moves[0][3]]  # submitted by activate
        if later and "shown" in marks:
            setup.add(
                "shown: activate done → tags (handle-events of stage.changed)", marks["shown"] - moves[0][4]
            )
    setup.add("Prefect task runs per approval", float(len(tasks)))


def measure_lifecycle(setup: Setup) -> None:
    t0 = time.time()
    before = table_counts(setup.pg)
    number = setup.drv.call("life_begin")["number"]
    facts = 0
    mentorship_id = 0
    while True:
        step = setup.drv.call("life_next", timeout=120)
        if step["done"]:
            break
        facts += 1
        mentorship_id = int(step["id"])
        setup.settle([mentorship_id], timeout=120, what=f"lifecycle: {step['fact']}")
    m = setup.mentorships([mentorship_id])[mentorship_id]
    run = str(m["flow_run_id"])
    deadline = time.monotonic() + 120
    while setup.pg.runs([run])[run][1] != "COMPLETED" or m["stage"] != "completed":
        if time.monotonic() > deadline:
            raise TimeoutError(f"{setup.label}: lifecycle run {run} not Completed (stage {m['stage']})")
        time.sleep(0.2)
        m = setup.mentorships([mentorship_id])[mentorship_id]
    t1 = setup.settle([mentorship_id], timeout=120, what="lifecycle: the end")
    time.sleep(2)  # let the server's event persister write what the end sent
    after = table_counts(setup.pg)
    runnings = setup.pg.one(
        "SELECT count(*) FROM flow_run_state WHERE flow_run_id = %s::uuid AND type::text = 'RUNNING'", run
    )
    setup.facts["lifecycle"] = {
        "facts": facts,
        "seconds": round(t1 - t0, 1),
        "resumes": int(runnings) - 1,
        "run_state": setup.pg.runs([run])[run][1],
        "stage": m["stage"],
        "mails": sum(
            1
            for _, msg in setup.sink.arrivals
            if parseaddr(str(msg["To"]))[1] in (mentee(number), mentor(number))
        ),
        "rows": lifecycle_rows(setup.pg, run, t0, time.time()),
        "all_rows_on_server": {t: after[t] - before[t] for t in after},
    }


def table_counts(pg: PrefectDb) -> dict[str, int]:
    return {t: int(pg.one(f"SELECT count(*) FROM {t}")) for t in PREFECT_TABLES if pg.has_table(t)}


def lifecycle_rows(pg: PrefectDb, run: str, t0: float, t1: float) -> dict[str, int]:
    """Rows of the lifecycle run, and of task runs outside any flow run in the window (only this
    set-up works meanwhile: its ``handle-events``, or the baseline's fast lane)."""
    tasks = [
        str(r[0])
        for r in pg.rows(
            "SELECT id FROM task_run WHERE flow_run_id = %s::uuid OR (flow_run_id IS NULL"
            " AND created >= to_timestamp(%s) AND created <= to_timestamp(%s))",
            run,
            t0,
            t1,
        )
    ]
    counts = {
        "flow_run": 1,
        "flow_run_state": int(
            pg.one("SELECT count(*) FROM flow_run_state WHERE flow_run_id = %s::uuid", run)
        ),
        "task_run": len(tasks),
        "task_run_state": int(
            pg.one("SELECT count(*) FROM task_run_state WHERE task_run_id = ANY(%s::uuid[])", tasks)
        ),
        "flow_run_input": int(
            pg.one("SELECT count(*) FROM flow_run_input WHERE flow_run_id = %s::uuid", run)
        ),
        "artifact": int(
            pg.one(
                "SELECT count(*) FROM artifact WHERE flow_run_id = %s::uuid OR task_run_id = ANY(%s::uuid[])",
                run,
                tasks,
            )
        ),
        "log": int(
            pg.one(
                "SELECT count(*) FROM log WHERE flow_run_id = %s::uuid OR task_run_id = ANY(%s::uuid[])",
                run,
                tasks,
            )
        ),
    }
    if pg.has_table("events"):
        resources = [f"prefect.flow-run.{run}", *(f"prefect.task-run.{t}" for t in tasks)]
        counts["events"] = int(
            pg.one(
                "SELECT count(*) FROM events WHERE resource_id = ANY(%s) AND occurred >= to_timestamp(%s)",
                resources,
                t0,
            )
        )
    return counts


def measure_burst(setup: Setup, n: int) -> None:
    made = prepare(setup, n)
    ids = [p.id for p in made]
    runs = [p.run for p in made]
    resumes_before = setup.pg.one(
        "SELECT count(*) FROM flow_run_state WHERE flow_run_id = ANY(%s::uuid[]) AND type::text = 'RUNNING'",
        runs,
    )
    setup.drv.send("burst", ids=ids)
    answer: dict[str, Any] | None = None
    history: dict[str, list[tuple[float, list[str]]]] = {r: [] for r in runs}
    stage_at: float | None = None
    expected = [(mentee(p.number), "agreement_approved") for p in made]
    expected += [(mentor(p.number), "meeting_proposed") for p in made]
    deadline = time.monotonic() + 300 + 2 * n
    while True:
        now = time.time()
        for run_id, (tags, _state) in setup.pg.runs(runs).items():
            if not history[run_id] or sorted(history[run_id][-1][1]) != sorted(tags):
                history[run_id].append((now, tags))
        if stage_at is None and all(m["stage"] == "active" for m in setup.mentorships(ids).values()):
            stage_at = now
        if answer is None:
            answer = setup.drv.poll_answer()
        mails = [setup.sink.first(*e) for e in expected]
        if answer is not None and stage_at is not None and all(mails):
            if setup.why_not_at_rest(ids) is None:
                break
        setup.check_children()
        if time.monotonic() > deadline:
            missing = sum(1 for m in mails if m is None)
            raise TimeoutError(
                f"{setup.label}: burst not done after {300 + 2 * n} s ({missing} mails missing,"
                f" stage {'all active' if stage_at else 'not all active'}, answer {answer is not None})"
            )
        time.sleep(0.1)
    began = float(answer["began"])
    mail_times = [m for m in mails if m is not None]
    shown = max(h[-1][0] for h in history.values())
    finals = [h[-1][1] for h in history.values()]
    resumes_after = setup.pg.one(
        "SELECT count(*) FROM flow_run_state WHERE flow_run_id = ANY(%s::uuid[]) AND type::text = 'RUNNING'",
        runs,
    )
    setup.facts["burst"] = {
        "mentorships": n,
        "facts": len(answer["approved"]) + len(answer["proposed"]),
        "commit all facts": max(answer["proposed"]) - began,
        "last mail": max(mail_times) - began,
        "median mail": median(m - began for m in mail_times),
        "last stage active": stage_at - began,
        "last run shows its state": shown - began,
        "final tags all stage:active": all("stage:active" in f for f in finals),
        "final tags (first run)": sorted(finals[0]),
        "resumes": int(resumes_after) - int(resumes_before),
        **burst_split(setup, runs, began, time.time()),
    }


def burst_split(setup: Setup, runs: list[str], t0: float, t1: float) -> dict[str, str]:
    """Where a burst's time went: waiting for a task worker, handling, waiting for the runner."""

    def spread(values: list[float]) -> str:
        return f"p50 {median(values):.2f} s, max {max(values):.2f} s, n {len(values)}" if values else "-"

    tasks = setup.pg.rows(
        "SELECT extract(epoch FROM created)::float8, extract(epoch FROM start_time)::float8,"
        f" extract(epoch FROM end_time)::float8 FROM task_run WHERE {setup.background}"
        " AND created >= to_timestamp(%s) AND created <= to_timestamp(%s) AND start_time IS NOT NULL",
        t0,
        t1,
    )
    states = setup.pg.rows(
        "SELECT flow_run_id::text, type::text, extract(epoch FROM timestamp)::float8 FROM flow_run_state"
        " WHERE flow_run_id = ANY(%s::uuid[]) AND timestamp >= to_timestamp(%s) ORDER BY timestamp",
        runs,
        t0,
    )
    firsts: dict[str, dict[str, float]] = {}
    for run_id, kind, at in states:
        firsts.setdefault(run_id, {}).setdefault(kind, at)
    waits = [f["PENDING"] - f["SCHEDULED"] for f in firsts.values() if {"SCHEDULED", "PENDING"} <= f.keys()]
    starts = [f["RUNNING"] - f["PENDING"] for f in firsts.values() if {"PENDING", "RUNNING"} <= f.keys()]
    split = {"background task runs: running → done": spread([e - s for _, s, e in tasks if e is not None])}
    if setup.revision == "tree":  # the fast lane's task runs are recorded after they ran
        split["background task runs: created → running"] = spread([s - c for c, s, _ in tasks])
    return {
        **split,
        "resumes: Scheduled → Pending (runner poll, limit 16)": spread(waits),
        "resumes: Pending → Running (process start)": spread(starts),
    }


# --- checks and reports ----------------------------------------------------------------------------


def health(setup: Setup) -> dict[str, Any]:
    """Signs of trouble: unhandled events, unsent or twice-sent mail, runs in odd states."""
    assert setup.app is not None
    app = setup.app
    found: dict[str, Any] = {
        "mentorships": app.execute("SELECT count(*) FROM mentorship").fetchone()[0],
        "events unhandled": app.execute(
            "SELECT coalesce(sum(last_seq - processed_seq), 0) FROM mentorship"
        ).fetchone()[0],
        "mails unsent": setup.unsent_mail(),
        "mails sent (outbox)": app.execute(
            "SELECT count(*) FROM outgoing_email WHERE sent_at IS NOT NULL"
        ).fetchone()[0],
        "mails in the sink": len(setup.sink.arrivals),
        "same Message-ID twice": setup.sink.duplicate_message_ids(),
    }
    alike = app.execute(
        "SELECT kind, count(*) FROM outgoing_email GROUP BY recipient, kind, subject, body_text"
        " HAVING count(*) > 1"
    ).fetchall()
    found["outbox rows alike (same recipient, kind, subject and text)"] = [f"{k} ×{n}" for k, n in alike]
    if setup.revision == "tree":
        found["runs behind their stage"] = app.execute(
            "SELECT count(*) FROM mentorship WHERE run_stage IS NOT stage"
        ).fetchone()[0]
    else:
        found["runs not shown to last_seq"] = app.execute(
            "SELECT count(*) FROM mentorship WHERE shown_seq != last_seq"
        ).fetchone()[0]
    ids = [r[0] for r in app.execute("SELECT flow_run_id FROM mentorship WHERE flow_run_id IS NOT NULL")]
    states: dict[str, int] = {}
    for _tags, state in setup.pg.runs(ids).values():
        states[str(state)] = states.get(str(state), 0) + 1
    found["run states"] = states
    return found


def server_health(pg: PrefectDb) -> dict[str, Any]:
    rows = pg.rows(
        "SELECT coalesce(d.name, '-'), f.state_type::text, count(*) FROM flow_run f"
        " LEFT JOIN deployment d ON d.id = f.deployment_id GROUP BY 1, 2 ORDER BY 1, 2"
    )
    bad_tasks = pg.rows(
        "SELECT name, state_type::text, count(*) FROM task_run"
        " WHERE state_type::text IN ('FAILED', 'CRASHED') GROUP BY 1, 2"
    )
    return {
        "flow runs by deployment and state": [f"{d} {s}: {c}" for d, s, c in rows],
        "failed or crashed task runs": [f"{n} {s}: {c}" for n, s, c in bad_tasks],
    }


def p95(values: list[float]) -> float:
    return quantiles(values, n=20, method="inclusive")[-1] if len(values) > 1 else values[0]


def fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}s"


def report(setups: list[Setup], args: argparse.Namespace, machine_before: str) -> dict[str, Any]:
    tree = setups[0]
    print(f"\nmachine before: {machine_before}")
    print(f"machine after:  {machine()}")
    print(f"\n== at rest: the mentor approves v1 ({args.rounds} rounds per set-up) ==")
    print(f"{'':58} {'set-up':<18} {'n':>3} {'p50':>7} {'p95':>7} {'max':>7}  ratio p50/p95 vs this tree")
    names: list[str] = []
    for setup in setups:
        names += [k for k in setup.results if k not in names]
    for name in names:
        for setup in setups:
            values = setup.results.get(name)
            if not values:
                continue
            ratio = ""
            ours = tree.results.get(name)
            if setup is not tree and ours and median(ours) > 0 and p95(ours) > 0:
                ratio = f"  {median(values) / median(ours):.1f} / {p95(values) / p95(ours):.1f}"
            unit = "" if name in COUNTS else "s"
            print(
                f"{name:58} {setup.key:<18} {len(values):>3} {median(values):>6.2f}{unit}"
                f" {p95(values):>6.2f}{unit} {max(values):>6.2f}{unit}{ratio}"
            )
    for key in ("lifecycle", "burst"):
        print(f"\n== {key} ==")
        for setup in setups:
            if key in setup.facts:
                print(f"{setup.label}: {json.dumps(setup.facts[key], default=str)}")
        ours = tree.facts.get("burst", {}).get("last mail")
        if key == "burst" and ours:
            for setup in setups[1:]:
                if "burst" in setup.facts:
                    theirs = setup.facts["burst"]
                    shown = (
                        theirs["last run shows its state"] / tree.facts["burst"]["last run shows its state"]
                    )
                    print(
                        f"ratio {setup.key} / this tree: last mail {theirs['last mail'] / ours:.1f},"
                        f" last run shown {shown:.1f}"
                    )
    for setup in setups:
        for note in setup.notes:
            print(f"\nFAILED in {setup.label}: {note}")
    print("\n== health ==")
    summary: dict[str, Any] = {"machine_before": machine_before, "machine_after": machine(), "setups": {}}
    for setup in setups:
        checks = health(setup)
        print(f"{setup.label}: {json.dumps(checks)}")
        summary["setups"][setup.key] = {
            "label": setup.label,
            "results": setup.results,
            "facts": setup.facts,
            "health": checks,
            "notes": setup.notes,
        }
    for setup in setups:
        if setup.key != "defaults":  # the defaults set-up shares server B with the baseline
            print(f"Prefect server of {setup.key}: {json.dumps(server_health(setup.pg))}")
    return summary


def machine() -> str:
    from benchmarks.machine import (
        machine as cores_and_load,  # not at the top: the baseline's driver runs this file
    )

    return f"{cores_and_load()}, {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}"


# --- main ------------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> None:
    from tests.engine.harness import PrefectServer, create_pg_database, drop_pg_database

    machine_before = machine()
    began = time.monotonic()

    def say(text: str) -> None:
        print(f"[{time.monotonic() - began:6.0f} s] {text}", flush=True)

    say(f"machine: {machine_before}")
    work = Path(tempfile.mkdtemp(prefix="mentorflow-engine-latency-"))
    logs = work / "logs"
    logs.mkdir()
    worktree = work / "baseline"
    revision = git("rev-parse", "--short", args.baseline)
    changed = git("diff", "--name-only", "HEAD").split()
    tree_revision = git("rev-parse", "--short", "HEAD") + (" + uncommitted changes" if changed else "")
    if changed:
        say(f"this tree has uncommitted changes in: {', '.join(changed)}")
    stamp = os.getpid()
    databases = [f"mentorflow_engine_latency_a_{stamp}", f"mentorflow_engine_latency_b_{stamp}"]
    servers: list[PrefectServer] = []
    setups: list[Setup] = []
    sinks: list[Sink] = []
    worktree_added = False
    try:
        git("worktree", "add", "--detach", str(worktree), args.baseline)
        worktree_added = True
        for name, db_name in zip(("a", "b"), databases, strict=True):
            home = work / f"prefect-{name}"
            home.mkdir()
            servers.append(PrefectServer(home=home, database_url=create_pg_database(db_name)))
        started: dict[int, float | BaseException] = {}

        def start_server(i: int) -> None:
            try:
                started[i] = servers[i].start(timeout=240)
            except BaseException as error:
                started[i] = error

        threads = [threading.Thread(target=start_server, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        sinks = [Sink() for _ in range(3)]
        for sink in sinks:
            sink.box.start()

        def new_setup(
            key: str, label: str, source: Path, revision: str, server: int, deployment: str
        ) -> Setup:
            return Setup(
                key=key,
                label=label,
                source=source,
                revision=revision,
                server=servers[server],
                prefect=None,
                db_path=work / f"{key}.db",
                sink=sinks[len(setups)],
                deployment=deployment,
            )

        setups.append(new_setup("tree", f"this tree ({tree_revision})", ROOT, "tree", 0, "lifecycle"))
        setups.append(
            new_setup(
                "baseline", f"baseline {args.baseline} ({revision})", worktree, "baseline", 1, "lifecycle"
            )
        )
        label = "Prefect defaults (poll 10 s, new process per run)"
        setups.append(new_setup("defaults", label, ROOT, "tree", 1, DEFAULT_POLL_DEPLOYMENT))
        for setup in setups:
            migrate(setup)
        for thread in threads:
            thread.join(timeout=300)
        for i, value in started.items():
            if isinstance(value, BaseException):
                raise RuntimeError(f"Prefect server {'ab'[i]} did not start") from value
            say(f"Prefect server {'ab'[i]} healthy after {value:.1f} s (new database)")
        if len(started) != 2:
            raise TimeoutError("a Prefect server did not start in 300 s")
        for setup, db_name in zip(setups, (databases[0], databases[1], databases[1]), strict=True):
            setup.prefect = PrefectDb(db_name)
            app = sqlite3.connect(setup.db_path, timeout=30, isolation_level=None, check_same_thread=False)
            app.row_factory = sqlite3.Row
            setup.app = app
        for setup in setups:
            start_engine(setup, logs)
            start_driver(setup, logs)
        for setup in setups:
            code = setup.drv.receive(timeout=120)["code"]
            say(f"{setup.key} driver runs {', '.join(code.values())}")
            wait_for_deployment(setup, timeout=180)
            for child in setup.children:
                if "task worker" in child.name:
                    wait_for_log(child, "Subscribing to runs of task", timeout=120)
                if "fast lane" in child.name:
                    wait_for_log(child, "watching the event log", timeout=120)
        say("engines up")

        def attempt(setup: Setup, what: str, step: Callable[[], object]) -> bool:
            """Run one measurement; a set-up that fails one (a timeout: a sign of a bug) is
            reported with its processes' stacks and left out of the rest, the others go on."""
            if setup.broken or setup.key not in args.setups.split(","):
                return False
            try:
                step()
            except (TimeoutError, RuntimeError) as error:
                setup.broken = True
                setup.notes.append(f"{what}: {error}")
                say(f"{setup.key}: FAILED {what}: {error}; stacks in {setup.dump_stacks()}")
                for child in setup.children:  # out of the others' way
                    child.stop()
                return False
            return True

        phases = set(args.phases.split(","))
        # 1. at rest
        for setup in setups if "at-rest" in phases else []:
            if attempt(setup, "preparing the pairs", partial(prepare_rounds, setup, args.rounds)):
                say(f"{setup.key}: {args.rounds} pairs ready")
        for round_no in range(args.rounds if "at-rest" in phases else 0):
            for setup in setups:
                if len(setup.pairs) > round_no:
                    attempt(
                        setup,
                        f"at rest, round {round_no + 1}",
                        partial(measure_at_rest, setup, setup.pairs[round_no]),
                    )
            say(f"at rest: round {round_no + 1}/{args.rounds}")
        # 2. lifecycle
        for setup in setups[:2] if "lifecycle" in phases else []:
            if attempt(setup, "lifecycle", partial(measure_lifecycle, setup)):
                say(f"{setup.key}: lifecycle {json.dumps(setup.facts['lifecycle'])}")
        # 3. burst
        if args.burst_mentorships and "burst" in phases:
            for setup in setups:
                if attempt(setup, "burst", partial(measure_burst, setup, args.burst_mentorships)):
                    say(f"{setup.key}: burst {json.dumps(setup.facts['burst'], default=str)}")
        summary = report(setups, args, machine_before)
        summary["command"] = " ".join(sys.argv)
        summary["uncommitted"] = changed
        summary["seconds"] = round(time.monotonic() - began)
        say("done")
        (logs / "results.json").write_text(json.dumps(summary, indent=2, default=str))
    except Exception:
        for setup in setups:  # what each process was doing, for the report
            print(f"stacks of {setup.key}: {setup.dump_stacks()}", file=sys.stderr)
        raise
    finally:
        steps: list[Callable[[], object]] = []
        steps += [s.driver.stop for s in setups if s.driver is not None]
        steps += [c.stop for s in setups for c in s.children]
        steps += [s.app.close for s in setups if s.app is not None]
        steps += [s.prefect.close for s in setups if s.prefect is not None]
        steps += [sink.box.stop for sink in sinks]
        steps += [server.stop for server in servers]
        steps += [lambda name=name: drop_pg_database(name) for name in databases]  # type: ignore[misc]
        if worktree_added:
            steps.append(lambda: git("worktree", "remove", "--force", str(worktree)))
        steps += [lambda path=path: remove(path) for path in work.iterdir() if path.name != "logs"]  # type: ignore[misc]
        for step in steps:
            try:
                step()
            except Exception as error:  # clean up the rest all the same
                print(f"clean-up: {error!r}", file=sys.stderr)
        print(f"logs: {logs}")


def remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description="engine latency: this tree, a baseline, Prefect defaults")
    parser.add_argument("--rounds", type=int, default=10, help="approvals at rest per set-up")
    parser.add_argument("--burst-mentorships", type=int, default=100, help="pairs in the burst (0: none)")
    parser.add_argument("--baseline", default="4a2369a", help="git revision to compare with")
    parser.add_argument(
        "--setups", default="tree,baseline,defaults", help="which set-ups to measure (default: all three)"
    )
    parser.add_argument(
        "--phases",
        default="at-rest,lifecycle,burst",
        help="which measurements, comma-separated (default: all)",
    )
    parser.add_argument("--serve-default-poll", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--drive", nargs=2, metavar=("KIND", "DATABASE_URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_default_poll:
        serve_with_default_poll()
        return
    if args.drive:
        drive(*args.drive)
        return
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up on SIGTERM too
    run(args)


if __name__ == "__main__":
    main()
