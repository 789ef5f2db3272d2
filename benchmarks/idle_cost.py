"""Idle cost of many live mentorships, each with its suspended lifecycle run (issue 12).

    python -m benchmarks.idle_cost [--sizes 100] [--passes 3]     # the issue: --sizes 1000,10000

The real stack, as ``mentorflow up`` runs it: a Prefect server on PostgreSQL (its own database),
the application database on PostgreSQL (its own database, migrated), one runner
(``python -m deployments.serve``), one task worker (``python -m deployments.task_worker``), the
API (``uvicorn api.main:app``) and an SMTP sink. The scheduled reconciler is set to a day
(``MENTORFLOW_RECONCILE_EVERY=24h``) so that only the measured passes run; the sweeps keep
their schedules.

Seeding: ``benchmarks/stack.py`` (two real template mentorships, ``intro`` and ``active``,
copied in bulk with their suspended runs; its docstring says how). The seed is then checked:
every reconciler pass must decide nothing (no start, wake or reschedule), the seeded runs stay
suspended, and after the measurements three seeded ``intro`` pairs agree (draft, submit,
approve, through services): their runs are resumed by the engine, activate the mentorship and
suspend again waiting for the final meeting.

Measured at 0 (the stack alone) and at each size: processes held by the runner and the task
worker beyond their own (and the runner's forkserver helpers), the memory of every process of
the stack (RSS; PostgreSQL backends of the two databases: their private memory, ``RssAnon``),
both databases' size, and the time of one pass of the reconciler and of each sweep, run through
the runner (``run_deployment``, as ``tests/engine/runs.run_reconciler`` does), ``--passes``
times each: the run's own time (Prefect's start to end) and the wall time from the request.

Everything this starts is stopped and both databases are dropped at the end, also on failure.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from statistics import median
from typing import Any

import httpx
import psycopg
from sqlalchemy import text

from benchmarks.machine import machine
from benchmarks.stack import Stack, drive_templates, prefect_sql, say, seed, settled, stack
from tests.engine.harness import PG_ADMIN_URL, Process, wait_until

DECISION = re.compile(r"^mentorship \d+: (start|wake|reschedule)")
FORKSERVER_HELPERS = (
    "from multiprocessing.forkserver import",
    "from multiprocessing.resource_tracker import",
)


# --- proof that the seed is real ---------------------------------------------------------------


def runs_by_state(stack: Stack) -> dict[str, int]:
    rows = prefect_sql(
        stack,
        "SELECT f.state_type::text, count(*) FROM flow_run f JOIN deployment d ON d.id = f.deployment_id"
        " WHERE d.name = 'lifecycle' GROUP BY 1",
    )
    return {str(state): int(n) for state, n in rows}


def progress_samples(stack: Stack, intro_ids: list[int]) -> list[float]:
    """Seeded intro pairs agree (draft, submit, approve through services); each run must be
    resumed, activate the mentorship and suspend again. Returns seconds per pair."""
    from tests.engine.walk import Walk
    from tests.support import Clock

    took = []
    for mentorship_id in intro_ids:
        walk = Walk(stack.app, clock=Clock(datetime.now(UTC)))
        with stack.app.connect() as conn:
            row = conn.execute(
                text("SELECT mentee_id, mentor_id FROM mentorship WHERE id = :i"), {"i": mentorship_id}
            ).one()
        walk.mentee_id, walk.mentor_id, walk.mentorship_id = row.mentee_id, row.mentor_id, mentorship_id
        before = settled(stack, mentorship_id, "intro")
        began = time.monotonic()
        walk.agree()
        settled(stack, mentorship_id, "active", after_key=before)
        took.append(time.monotonic() - began)
    return took


# --- measuring ------------------------------------------------------------------------------------


def status_kb(pid: int, field_name: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field_name}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def held(process: Process) -> list[str]:
    """Processes in the group beyond the process itself and the forkserver's helpers."""
    assert process.popen is not None
    return [
        cmdline(pid)[:120]
        for pid in process.group_members()
        if pid != process.popen.pid and not cmdline(pid).split(" -c ")[-1].startswith(FORKSERVER_HELPERS)
    ]


@dataclass
class Snapshot:
    held: dict[str, list[str]]
    rss_mb: dict[str, float]
    processes: dict[str, int]
    db_mb: dict[str, float]


def snapshot(stack: Stack) -> Snapshot:
    rss, counts = {}, {}
    for label, process in stack.parts.items():
        members = process.group_members()
        counts[label] = len(members)
        rss[label] = sum(status_kb(pid, "VmRSS") for pid in members) / 1024
    url = psycopg.conninfo.make_conninfo(PG_ADMIN_URL)
    with psycopg.connect(url, autocommit=True) as conn:
        backends = conn.execute(
            "SELECT datname, pid FROM pg_stat_activity WHERE datname = ANY(%s)",
            ([stack.prefect_db, stack.app_db],),
        ).fetchall()
        sizes = conn.execute(
            "SELECT datname, pg_database_size(datname) FROM pg_database WHERE datname = ANY(%s)",
            ([stack.prefect_db, stack.app_db],),
        ).fetchall()
    for name, label in (
        (stack.prefect_db, "PostgreSQL backends, Prefect db"),
        (stack.app_db, "PostgreSQL backends, app db"),
    ):
        pids = [pid for db, pid in backends if db == name]
        counts[label] = len(pids)
        rss[label] = sum(status_kb(pid, "RssAnon") for pid in pids) / 1024
    db_mb = {("Prefect" if n == stack.prefect_db else "app"): size / 2**20 for n, size in sizes}
    return Snapshot(
        held={"runner": held(stack.runner), "task worker": held(stack.task_worker)},
        rss_mb=rss,
        processes=counts,
        db_mb=db_mb,
    )


def quiet(stack: Stack) -> None:
    """No flow run of any deployment is pending or running (a pass's process has exited)."""
    wait_until(
        lambda: (
            not prefect_sql(
                stack,
                "SELECT 1 FROM flow_run WHERE state_type::text IN ('PENDING', 'RUNNING', 'SCHEDULED')"
                " AND (next_scheduled_start_time IS NULL OR next_scheduled_start_time < now())",
            )
        ),
        timeout=600,
        interval=1,
        what="no flow run under way",
    )
    wait_until(
        lambda: not held(stack.runner), timeout=60, interval=0.5, what="the runner's flow processes gone"
    )


@dataclass
class Pass:
    own_s: float  # Prefect's start_time to end_time of the run
    wall_s: float  # from the request to the completed run, as seen here
    decisions: int = 0


def one_pass(stack: Stack, deployment: str, parameters: dict[str, Any] | None = None) -> Pass:
    from prefect.deployments import run_deployment

    began = time.monotonic()
    run = run_deployment(  # type: ignore[call-arg]
        deployment, parameters=parameters or {}, timeout=900, poll_interval=0.5, as_subflow=False, _sync=True
    )
    wall = time.monotonic() - began
    state = run.state  # type: ignore[union-attr]
    if state is None or not state.is_completed():
        raise RuntimeError(f"{deployment}: {state}")
    fresh = httpx.get(f"{stack.server.api_url}/flow_runs/{run.id}", timeout=10).json()  # type: ignore[union-attr]
    own = (
        datetime.fromisoformat(fresh["end_time"]) - datetime.fromisoformat(fresh["start_time"])
    ).total_seconds()
    messages = [m for (m,) in prefect_sql(stack, "SELECT message FROM log WHERE flow_run_id = %s", run.id)]  # type: ignore[union-attr]
    if any("another pass is running" in m for m in messages):
        raise RuntimeError(f"{deployment}: the pass was skipped (another pass ran)")
    return Pass(own, wall, sum(1 for m in messages if DECISION.match(m)))


def passes(stack: Stack, count: int) -> dict[str, list[Pass]]:
    from deployments.serve import SWEEPS
    from services.engine_state import RECONCILER_DEPLOYMENT

    done: dict[str, list[Pass]] = {}
    for _ in range(count):
        done.setdefault("reconciler", []).append(one_pass(stack, RECONCILER_DEPLOYMENT))
        for flow, name, _every in SWEEPS:
            done.setdefault(flow.name, []).append(one_pass(stack, f"{flow.name}/{name}"))
    return done


@dataclass
class Result:
    size: int
    seeded_in_s: float = 0
    idle: Snapshot | None = None
    after: Snapshot | None = None
    passes: dict[str, list[Pass]] = field(default_factory=dict)
    runs: dict[str, int] = field(default_factory=dict)
    samples_s: list[float] = field(default_factory=list)
    reads_s: dict[str, float] = field(default_factory=dict)


def measure(stack: Stack, size: int, count: int, *, settle_s: float = 20) -> Result:
    result = Result(size)
    quiet(stack)
    time.sleep(settle_s)
    result.idle = snapshot(stack)
    result.runs = runs_by_state(stack)
    result.passes = passes(stack, count)
    result.reads_s = reconciler_reads(stack, count)
    quiet(stack)
    result.after = snapshot(stack)
    decided = sum(p.decisions for p in result.passes["reconciler"])
    if decided:
        raise RuntimeError(f"at {size}: the reconciler decided {decided} starts/wakes/reschedules")
    if runs_by_state(stack) != result.runs:
        raise RuntimeError(
            f"at {size}: lifecycle runs changed state: {result.runs} -> {runs_by_state(stack)}"
        )
    return result


def reconciler_reads(stack: Stack, count: int) -> dict[str, float]:
    """The reconciler pass's two reads, each timed alone from this process (median of
    ``count``): its targets from the app database, and their runs from Prefect's API."""
    from models.db import read_scope
    from services.engine_state import engine_targets
    from tasks.engine import known_run_ids, read_lifecycle_runs

    targets_s, runs_s = [], []
    for _ in range(count):
        began = time.perf_counter()
        with read_scope(stack.app) as session:
            targets = engine_targets(session)
        read = time.perf_counter()
        unfinished = [t for t in targets if not t.run_finished]
        read_lifecycle_runs(
            known_run_ids(unfinished),
            also_suspended=known_run_ids(t for t in unfinished if t.wait_met),
            look_closer_after_s=90,
        )
        targets_s.append(read - began)
        runs_s.append(time.perf_counter() - read)
    return {"targets from the app database": median(targets_s), "their runs from Prefect": median(runs_s)}


# --- report ----------------------------------------------------------------------------------------


def report(results: list[Result], intervals: dict[str, float]) -> None:
    sizes = [r.size for r in results]
    head = "| | " + " | ".join(f"{s:,}" for s in sizes) + " |"
    rule = "|---|" + "---:|" * len(sizes)
    print("\nlifecycle runs by state: " + "; ".join(f"{r.size:,}: {r.runs}" for r in results))
    print("\nProcesses held beyond the idle ones (runner / task worker), idle and after the passes")
    print(head + "\n" + rule)
    for when in ("idle", "after"):
        cells = []
        for r in results:
            snap = getattr(r, when)
            cells.append(f"{len(snap.held['runner'])} / {len(snap.held['task worker'])}")
        print(f"| {when} | " + " | ".join(cells) + " |")
    print("\nMemory, MB (RSS; PostgreSQL backends: RssAnon) [processes], idle after the passes")
    print(head + "\n" + rule)
    assert results[0].after is not None
    for label in results[0].after.rss_mb:
        cells = [f"{r.after.rss_mb[label]:.0f} [{r.after.processes[label]}]" for r in results if r.after]
        print(f"| {label} | " + " | ".join(cells) + " |")
    totals = [f"{sum(r.after.rss_mb.values()):.0f}" for r in results if r.after]
    print("| **whole stack** | " + " | ".join(totals) + " |")
    for db in ("Prefect", "app"):
        sizes_mb = [f"{r.after.db_mb[db]:.1f}" for r in results if r.after]
        print(f"| {db} database size, MB | " + " | ".join(sizes_mb) + " |")
    print("\nOne pass, median of the passes: the run's own time / wall time from the request, s")
    print("| pass (interval) | " + " | ".join(f"{s:,}" for s in sizes) + " |\n" + rule)
    for name, every in intervals.items():
        cells = []
        for r in results:
            done = r.passes.get(name, [])
            cells.append(
                f"{median(p.own_s for p in done):.2f} / {median(p.wall_s for p in done):.2f}" if done else "—"
            )
        print(f"| {name} ({every:.0f} s) | " + " | ".join(cells) + " |")
    print("\nThe reconciler's reads alone, from the benchmark's process, median s")
    print("| read | " + " | ".join(f"{s:,}" for s in sizes) + " |\n" + rule)
    for name in results[0].reads_s:
        print(f"| {name} | " + " | ".join(f"{r.reads_s.get(name, 0):.2f}" for r in results) + " |")
    for r in results:
        if r.samples_s:
            print(
                f"\nat {r.size:,}: seeded in {r.seeded_in_s:.0f} s; samples agreed, run resumed and "
                f"suspended again in: {', '.join(f'{s:.1f} s' for s in r.samples_s)}"
            )
    for r in results:
        for when in ("idle", "after"):
            snap = getattr(r, when)
            if snap and any(snap.held.values()):
                print(f"held at {r.size:,} ({when}): {json.dumps(snap.held)}")


def run(args: argparse.Namespace) -> None:
    from deployments.serve import SWEEPS

    sizes = sorted({int(s) for s in args.sizes.split(",")})
    say(f"machine: {machine()}")
    intervals = {"reconciler": 60.0, **{flow.name: every.total_seconds() for flow, _n, every in SWEEPS}}
    work = Path(tempfile.mkdtemp(prefix="mentorflow-idle-"))
    results: list[Result] = []
    try:
        with stack(work) as s:
            say("stack up")
            results.append(measure(s, 0, args.passes))
            say("measured at 0")
            templates = drive_templates(s)
            say(f"templates: mentorships {[t.mentorship_id for t in templates]}")
            seeded: list[int] = []
            for size in sizes:
                began = time.monotonic()
                seeded += seed(s, templates, size - len(seeded))
                took = time.monotonic() - began
                say(f"seeded up to {size:,} in {took:.0f} s")
                result = measure(s, size, args.passes)
                result.seeded_in_s = took
                intro_seeds = [m for i, m in enumerate(seeded) if i % 2 == 0][-3:]
                result.samples_s = progress_samples(s, intro_seeds)
                results.append(result)
                say(f"measured at {size:,}")
                report(results, intervals)
    finally:
        say(f"machine after: {machine()}; logs in {work}")
    report(results, intervals)


def main() -> None:
    parser = argparse.ArgumentParser(description="idle cost of live mentorships with suspended runs")
    parser.add_argument("--sizes", default="100", help="comma-separated, e.g. 1000,10000")
    parser.add_argument("--passes", type=int, default=3, help="passes of the reconciler and of each sweep")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up on SIGTERM too
    run(args)


if __name__ == "__main__":
    main()
