"""Fact → consequence latency through the real engine: runner poll 1 s vs Prefect's default.

    python -m benchmarks.wake_latency [--rounds 12]

Starts a Prefect server (its database on PostgreSQL at 127.0.0.1:5432), two runners serving
the lifecycle flow — ``python -m deployments.serve`` (poll 1 s, mentorflow's setting) and one
with Prefect's default poll (10 s) — an SMTP sink and a SQLite application database. Each
variant follows one mentorship in the ``intro`` stage. Every round the mentee saves a draft
and then submits it, the way the API does (commit the fact, then ``notify_engine``). The
submit is measured from its commit to ``processed_seq`` catching up (consequences recorded,
stage moves made) and to the mentor's e-mail arriving in the SMTP sink. Rounds alternate
between the variants, so both see the same machine load. Prefect's state history splits
each resume into poll wait (Scheduled → Pending), process start (Pending → Running) and
flow code (Running → Suspended).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median, quantiles
from uuid import UUID

from prefect import get_client, serve
from prefect.client.schemas.objects import StateType
from prefect.context import refresh_global_settings_context
from prefect.types.entrypoint import EntrypointType
from sqlalchemy import Engine

from api.engine import start_lifecycle
from flows.lifecycle import mentorship_lifecycle
from migrations import upgrade
from models.db import make_engine
from services.engine_state import LIFECYCLE_DEPLOYMENT, LIFECYCLE_FLOW
from tests.engine.harness import (
    Mailbox,
    PrefectServer,
    Process,
    child_env,
    create_pg_database,
    drop_pg_database,
    runner_process,
    wait_until,
)
from tests.engine.walk import Walk

DEFAULT_POLL_DEPLOYMENT = "lifecycle-default-poll"


@dataclass
class Variant:
    name: str
    deployment: str
    fact_to_handled: list[float] = field(default_factory=list)
    fact_to_mail: list[float] = field(default_factory=list)
    committed_at: list[float] = field(default_factory=list)  # epoch seconds of measured facts
    gap: float | None = None  # warm mode: the run lingers; the next fact comes this much later
    fact_to_resumed: list[float] = field(default_factory=list)
    poll_wait: list[float] = field(default_factory=list)
    process_start: list[float] = field(default_factory=list)
    flow_code: list[float] = field(default_factory=list)


def serve_with_default_poll() -> None:
    """The second runner: the same flow, Prefect's default poll frequency (no override)."""
    deployment = mentorship_lifecycle.to_deployment(
        name=DEFAULT_POLL_DEPLOYMENT, entrypoint_type=EntrypointType.MODULE_PATH
    )
    serve(deployment, limit=8, heartbeat_seconds=30, pause_on_shutdown=False)  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description="fact → consequence latency, poll 1 s vs 10 s")
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument(
        "--gap",
        type=float,
        default=None,
        help="warm mode: seconds between facts with mentorflow's runs lingering "
        "(MENTORFLOW_ENGINE_LINGER=20s); default: cold, every fact after the run suspended",
    )
    parser.add_argument("--serve-default-poll", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_default_poll:
        serve_with_default_poll()
        return

    print(f"machine: {machine()}")  # noqa: T201
    work = Path(tempfile.mkdtemp(prefix="mentorflow-bench-"))
    db_name = f"mentorflow_bench_{os.getpid()}"
    server = PrefectServer(home=work / "prefect", database_url=create_pg_database(db_name))
    server.home.mkdir()
    mailbox = Mailbox()
    runners: list[Process] = []
    try:
        print(f"Prefect server healthy after {server.start():.1f} s (new database)")  # noqa: T201
        mailbox.start()
        os.environ.update({**server.client_env(), "MENTORFLOW_ENGINE": "prefect"})
        refresh_global_settings_context()
        app_url = f"sqlite:///{work / 'app.db'}"
        upgrade(app_url)
        env = child_env(
            **server.client_env(),
            MENTORFLOW_DATABASE_URL=app_url,
            MENTORFLOW_DATA_DIR=str(work / "data"),
            MENTORFLOW_SMTP_URL=mailbox.url,
            MENTORFLOW_RECONCILE_EVERY="1h",  # measure wakes, not the reconciler
        )
        env.pop("PREFECT_RUNNER_POLL_FREQUENCY", None)
        linger = "20s" if args.gap is not None else "0s"
        runners = [
            runner_process(
                {**env, "PREFECT_RUNNER_POLL_FREQUENCY": "1", "MENTORFLOW_ENGINE_LINGER": linger},
                work / "runner-1s.log",
            ),
            runner_process(
                {**env, "MENTORFLOW_ENGINE_LINGER": "0s"},
                work / "runner-default.log",
                "-m",
                "benchmarks.wake_latency",
                "--serve-default-poll",
            ),
        ]
        for runner in runners:
            runner.start()
        ours = "runner poll 1 s (mentorflow)" + (
            f", linger 20 s, facts {args.gap:g} s apart" if args.gap is not None else ""
        )
        variants = [
            Variant(ours, LIFECYCLE_DEPLOYMENT, gap=args.gap),
            Variant("runner poll 10 s (Prefect default)", f"{LIFECYCLE_FLOW}/{DEFAULT_POLL_DEPLOYMENT}"),
        ]
        measure(variants, args.rounds, make_engine(app_url), mailbox)
        report(variants)
        print(f"logs: {work}")  # noqa: T201
    finally:
        for runner in runners:
            runner.stop()
        mailbox.stop()
        server.stop()
        drop_pg_database(db_name)


def measure(variants: list[Variant], rounds: int, db: Engine, mailbox: Mailbox) -> None:
    walks = {v.name: start_walk(v, db) for v in variants}
    for round_no in range(rounds):
        for variant in variants:
            walk = walks[variant.name]
            walk.save_draft()
            ready(walk, variant)
            mails_before = len(mailbox.messages)
            began = time.monotonic()
            variant.committed_at.append(time.time())
            walk.submit()  # its consequence: a mail to the mentor
            wait_until(lambda w=walk: caught_up(w), timeout=120, interval=0.02)  # type: ignore[misc]
            variant.fact_to_handled.append(time.monotonic() - began)
            wait_until(lambda n=mails_before: len(mailbox.messages) > n, timeout=60, interval=0.02)  # type: ignore[misc]
            variant.fact_to_mail.append(time.monotonic() - began)
            ready(walk, variant)
        print(f"round {round_no + 1}/{rounds}")  # noqa: T201
    for variant in variants:
        run_id = walks[variant.name].mentorship().flow_run_id
        assert run_id is not None
        if variant.gap is None:  # a lingering run has no resumes to split
            split_resumes(variant, run_id)


def ready(walk: Walk, variant: Variant) -> None:
    """Cold: wait until the run suspended. Warm: wait until handled, then ``gap`` seconds."""
    if variant.gap is None:
        settle(walk)
        return
    wait_until(lambda: caught_up(walk), timeout=120, interval=0.02)
    time.sleep(variant.gap)


def start_walk(variant: Variant, db: Engine) -> Walk:
    wait_until(lambda: deployment_exists(variant.deployment), timeout=90, what=variant.deployment)
    walk = Walk(db, notify=False)
    walk.request()
    assert start_lifecycle(walk.mentorship_id, db=db, deployment=variant.deployment)
    walk.notify = True
    walk.accept()
    settle(walk)
    return walk


def deployment_exists(name: str) -> bool:
    try:
        with get_client(sync_client=True) as client:
            client.read_deployment_by_name(name)
    except Exception:
        return False
    return True


def caught_up(walk: Walk) -> bool:
    m = walk.mentorship()
    return m.processed_seq == m.last_seq


def settle(walk: Walk) -> None:
    """Wait until every event is handled and the run is suspended again."""

    def suspended() -> bool:
        m = walk.mentorship()
        if m.processed_seq != m.last_seq or m.flow_run_id is None:
            return False
        with get_client(sync_client=True) as client:
            state = client.read_flow_run(UUID(m.flow_run_id)).state
        return state is not None and state.type == StateType.PAUSED

    wait_until(suspended, timeout=120, interval=0.05)


def split_resumes(variant: Variant, run_id: str) -> None:
    """Scheduled → Pending → Running → Suspended, for every resume of the run."""
    with get_client(sync_client=True) as client:
        states = sorted(client.read_flow_run_states(UUID(run_id)), key=lambda s: s.timestamp)
    scheduled = [s.timestamp.timestamp() for s in states if s.type == StateType.SCHEDULED]
    for committed in variant.committed_at:
        resumed = min((at for at in scheduled if at >= committed), default=None)
        if resumed is not None:
            variant.fact_to_resumed.append(resumed - committed)
    marks: dict[StateType, float] = {}
    for state in states:
        at = state.timestamp.timestamp()
        if state.type == StateType.SCHEDULED:
            marks = {StateType.SCHEDULED: at}
        elif state.type in (StateType.PENDING, StateType.RUNNING):
            marks[state.type] = at
        elif state.type == StateType.PAUSED and len(marks) == 3:
            variant.poll_wait.append(marks[StateType.PENDING] - marks[StateType.SCHEDULED])
            variant.process_start.append(marks[StateType.RUNNING] - marks[StateType.PENDING])
            variant.flow_code.append(at - marks[StateType.RUNNING])
            marks = {}


def p95(values: list[float]) -> float:
    return quantiles(values, n=20, method="inclusive")[-1] if len(values) > 1 else values[0]


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "unknown CPU",
    )
    return f"nproc {os.cpu_count()}, {cpu}, load average (1 min) {os.getloadavg()[0]:.1f}"


def report(variants: list[Variant]) -> None:
    print(f"\nmachine after the run: {machine()}")  # noqa: T201
    for variant in variants:
        print(f"\n{variant.name}\n{'':34} {'n':>3} {'median':>8} {'p95':>8}")  # noqa: T201
        for label, values in (
            ("fact → handled (processed_seq)", variant.fact_to_handled),
            ("fact → mail in the SMTP sink", variant.fact_to_mail),
            ("fact → run resumed (API side)", variant.fact_to_resumed),
            ("per resume: poll wait", variant.poll_wait),
            ("per resume: process start", variant.process_start),
            ("per resume: flow code → suspended", variant.flow_code),
        ):
            if values:
                print(f"{label:34} {len(values):>3} {median(values):>7.2f}s {p95(values):>7.2f}s")  # noqa: T201
    fast, slow = variants
    ratio_median = median(slow.fact_to_mail) / median(fast.fact_to_mail)
    ratio_p95 = p95(slow.fact_to_mail) / p95(fast.fact_to_mail)
    print(  # noqa: T201
        f"\nratio default poll / 1 s poll, fact → mail: median {ratio_median:.2f}, p95 {ratio_p95:.2f}"
    )


if __name__ == "__main__":
    main()
