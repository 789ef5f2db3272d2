"""Fact → consequence latency through the real engine: mentorflow's set-up vs Prefect's defaults.

    python -m benchmarks.wake_latency [--rounds 12] [--burst 20]

The fact is the issue's example: the mentor approves the first agreement version; its
consequences are the mentee's e-mail and the stage move ``intro → active``. Two set-ups run
side by side against one Prefect server (its database on PostgreSQL at 127.0.0.1:5432), each
with its own SQLite application database and one SMTP sink for both:

- **mentorflow**: ``python -m deployments.serve`` (runner poll 1 s) and the fast lane
  (``python -m deployments.fast_lane``), as ``mentorflow up`` runs them;
- **Prefect defaults**: the same lifecycle flow served with Prefect's default poll (10 s), no
  fast lane: the lifecycle run does the work when it resumes.

Every round, for each set-up in turn (so both see the same machine load): a new pair reaches
``intro`` with agreement v1 submitted, its lifecycle run handles that and suspends; then the
mentor approves, the way the API does it (commit the fact, then ``notify_engine``). Measured
from the commit: the stage is ``active``, the mentee's mail is in the sink, and the run has
shown the new state to operators (``shown_seq``). Prefect's state history splits each resume
into poll wait (Scheduled → Pending), process start (Pending → Running) and flow code.

``--burst N``: instead, every round N pairs approve at the same moment (one commit after the
other, then the engine is told about each), and the time until the last of them has its
stage moved, its mail in the sink and its new state shown is measured: how the two set-ups
cope when many facts come at once on two cores.
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
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.context import refresh_global_settings_context
from prefect.deployments import run_deployment
from prefect.types.entrypoint import EntrypointType
from sqlalchemy import Engine

from flows.lifecycle import mentorship_lifecycle
from migrations import upgrade
from models import Stage
from models.db import make_engine, session_scope
from services import engine_state
from services.engine_state import LIFECYCLE_DEPLOYMENT, LIFECYCLE_FLOW
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
from tests.engine.walk import Walk

DEFAULT_POLL_DEPLOYMENT = "lifecycle-default-poll"


@dataclass
class Variant:
    name: str
    deployment: str
    db: Engine
    to_stage: list[float] = field(default_factory=list)
    to_mail: list[float] = field(default_factory=list)
    to_shown: list[float] = field(default_factory=list)
    burst_stage: list[float] = field(default_factory=list)  # --burst: until the last one
    burst_mail: list[float] = field(default_factory=list)
    burst_shown: list[float] = field(default_factory=list)
    poll_wait: list[float] = field(default_factory=list)
    process_start: list[float] = field(default_factory=list)
    flow_code: list[float] = field(default_factory=list)
    run_ids: list[str] = field(default_factory=list)
    approved_at: list[float] = field(default_factory=list)  # epoch seconds of measured facts


def serve_with_default_poll() -> None:
    """The baseline's runner: the same flow, Prefect's default poll frequency (no override),
    and the same limit of runs at once as ``deployments.serve`` (16)."""
    deployment = mentorship_lifecycle.to_deployment(
        name=DEFAULT_POLL_DEPLOYMENT, entrypoint_type=EntrypointType.MODULE_PATH
    )
    serve(deployment, limit=16, heartbeat_seconds=30, pause_on_shutdown=False)  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description="fact → consequence latency, mentorflow vs Prefect defaults")
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--burst", type=int, default=0, help="N pairs approve at once per round")
    parser.add_argument("--serve-default-poll", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_default_poll:
        serve_with_default_poll()
        return

    print(f"machine: {machine()}")
    work = Path(tempfile.mkdtemp(prefix="mentorflow-bench-"))
    db_name = f"mentorflow_bench_{os.getpid()}"
    server = PrefectServer(home=work / "prefect", database_url=create_pg_database(db_name))
    server.home.mkdir()
    mailbox = Mailbox()
    processes: list[Process] = []
    try:
        print(f"Prefect server healthy after {server.start():.1f} s (new database)")
        mailbox.start()
        os.environ.update({**server.client_env(), "MENTORFLOW_ENGINE": "prefect"})
        refresh_global_settings_context()
        ours_url, baseline_url = (f"sqlite:///{work / name}" for name in ("ours.db", "baseline.db"))
        for url in (ours_url, baseline_url):
            upgrade(url)
        env = child_env(
            **server.client_env(),
            MENTORFLOW_DATA_DIR=str(work / "data"),
            MENTORFLOW_SMTP_URL=mailbox.url,
            MENTORFLOW_RECONCILE_EVERY="1h",  # measure wakes, not the reconciler
        )
        env.pop("PREFECT_RUNNER_POLL_FREQUENCY", None)
        ours_env = {**env, "MENTORFLOW_DATABASE_URL": ours_url, "PREFECT_RUNNER_POLL_FREQUENCY": "1"}
        baseline_env = {**env, "MENTORFLOW_DATABASE_URL": baseline_url}
        processes = [
            runner_process(ours_env, work / "runner-ours.log"),
            Process(
                [PYTHON, "-m", "deployments.task_worker"], env=ours_env, log_path=work / "worker-ours.log"
            ),
            Process(
                [PYTHON, "-m", "deployments.task_worker"],
                env=baseline_env,
                log_path=work / "worker-default.log",
            ),
            runner_process(
                baseline_env,
                work / "runner-default.log",
                "-m",
                "benchmarks.wake_latency",
                "--serve-default-poll",
            ),
        ]
        for process in processes:
            process.start()
        variants = [
            Variant("mentorflow: runner poll 1 s", LIFECYCLE_DEPLOYMENT, make_engine(ours_url)),
            Variant(
                "Prefect defaults: runner poll 10 s",
                f"{LIFECYCLE_FLOW}/{DEFAULT_POLL_DEPLOYMENT}",
                make_engine(baseline_url),
            ),
        ]
        for variant in variants:
            wait_until(lambda v=variant: deployment_exists(v.deployment), timeout=90, what=variant.deployment)  # type: ignore[misc]
        if args.burst:
            measure_bursts(variants, args.rounds, args.burst, mailbox)
            report_bursts(variants, args.burst)
        else:
            measure(variants, args.rounds, mailbox)
            report(variants)
        print(f"logs: {work}")
    finally:
        for process in processes:
            process.stop()
        mailbox.stop()
        server.stop()
        drop_pg_database(db_name)


def task_worker(env: dict[str, str], log_path: Path) -> Process:
    return Process([PYTHON, "-m", "deployments.task_worker"], env=env, log_path=log_path)


def measure(variants: list[Variant], rounds: int, mailbox: Mailbox) -> None:
    for round_no in range(rounds):
        for variant in variants:
            walk = submitted_pair(variant)
            began = time.monotonic()
            variant.approved_at.append(time.time())
            walk.approve()  # commit, then notify_engine, as the API does
            pending = {"stage", "mail", "shown"}
            while pending:
                m = walk.mentorship()
                elapsed = time.monotonic() - began
                if "stage" in pending and m.stage == Stage.ACTIVE:
                    variant.to_stage.append(elapsed)
                    pending.discard("stage")
                if "mail" in pending and approval_mail_arrived(mailbox, walk):
                    variant.to_mail.append(elapsed)
                    pending.discard("mail")
                if "shown" in pending and m.run_stage == m.stage:
                    variant.to_shown.append(elapsed)
                    pending.discard("shown")
                if elapsed > 120:
                    raise TimeoutError(f"{variant.name}: {pending} after 120 s")
                time.sleep(0.01)
            settle(walk)
        print(f"round {round_no + 1}/{rounds}")
    for variant in variants:
        split_resumes(variant)


def measure_bursts(variants: list[Variant], rounds: int, size: int, mailbox: Mailbox) -> None:
    for round_no in range(rounds):
        for variant in variants:
            walks = submitted_pairs(variant, size)
            began = time.monotonic()
            for walk in walks:
                walk.approve()
            marks: dict[str, float] = {}
            while len(marks) < 3:
                states = [w.mentorship() for w in walks]
                elapsed = time.monotonic() - began
                if "stage" not in marks and all(m.stage == Stage.ACTIVE for m in states):
                    marks["stage"] = elapsed
                if "mail" not in marks and all(approval_mail_arrived(mailbox, w) for w in walks):
                    marks["mail"] = elapsed
                if "shown" not in marks and all(m.run_stage == m.stage for m in states):
                    marks["shown"] = elapsed
                if elapsed > 600:
                    raise TimeoutError(f"{variant.name}: burst of {size} not done after 600 s")
                time.sleep(0.05)
            variant.burst_stage.append(marks["stage"])
            variant.burst_mail.append(marks["mail"])
            variant.burst_shown.append(marks["shown"])
            for walk in walks:
                settle(walk)
        print(f"round {round_no + 1}/{rounds}")


def report_bursts(variants: list[Variant], size: int) -> None:
    print(f"\nmachine after the run: {machine()}")
    print(f"\nburst of {size} approvals at once, until the last one is done")
    print(f"{'':48} {'n':>3} {'median':>8} {'max':>8}")
    for variant in variants:
        for label, values in (
            ("all stages active", variant.burst_stage),
            ("all mails in the sink", variant.burst_mail),
            ("all shown by their runs", variant.burst_shown),
        ):
            name = f"{variant.name.split(':')[0]}: {label}"
            print(f"{name:48} {len(values):>3} {median(values):>7.2f}s {max(values):>7.2f}s")


def submitted_pair(variant: Variant) -> Walk:
    return submitted_pairs(variant, 1)[0]


def submitted_pairs(variant: Variant, count: int) -> list[Walk]:
    """Pairs in ``intro`` with agreement v1 submitted, their runs suspended after handling it."""
    walks = [Walk(variant.db, notify=False) for _ in range(count)]
    for walk in walks:
        walk.request()
        walk.accept()
        walk.save_draft()
        walk.submit()
    for walk in walks:
        variant.run_ids.append(start_run(variant, walk.mentorship_id))
        walk.notify = True
    for walk in walks:
        settle(walk)
    return walks


def start_run(variant: Variant, mentorship_id: int) -> str:
    """What ``api.engine.start_lifecycle`` does, with an idempotency key per set-up: both
    application databases number their mentorships from 1, and they share one Prefect server."""
    run: FlowRun = run_deployment(  # type: ignore[assignment, call-arg]
        variant.deployment,
        parameters={"mentorship_id": mentorship_id},
        idempotency_key=f"{variant.deployment}/{mentorship_id}",
        as_subflow=False,
        timeout=0,
        _sync=True,
    )
    with session_scope(variant.db) as session:
        engine_state.set_flow_run_id(session, mentorship_id, str(run.id))
    return str(run.id)


def approval_mail_arrived(mailbox: Mailbox, walk: Walk) -> bool:
    return any(
        f"mentee{walk.number}@" in str(m["To"]) and str(m["X-Mentorflow-Kind"]) == "agreement_approved"
        for m in list(mailbox.messages)
    )


def deployment_exists(name: str) -> bool:
    try:
        with get_client(sync_client=True) as client:
            client.read_deployment_by_name(name)
    except Exception:
        return False
    return True


def settle(walk: Walk) -> None:
    """Wait until every event is handled and shown and the run is suspended again."""

    def suspended() -> bool:
        m = walk.mentorship()
        if m.processed_seq != m.last_seq or m.run_stage != m.stage or m.flow_run_id is None:
            return False
        with get_client(sync_client=True) as client:
            state = client.read_flow_run(UUID(m.flow_run_id)).state
        return state is not None and state.type == StateType.PAUSED

    wait_until(suspended, timeout=120, interval=0.05)


def split_resumes(variant: Variant) -> None:
    """Scheduled → Pending → Running → Suspended for the resume after each measured fact."""
    with get_client(sync_client=True) as client:
        for run_id, approved in zip(variant.run_ids, variant.approved_at, strict=True):
            states = sorted(client.read_flow_run_states(UUID(run_id)), key=lambda s: s.timestamp)
            marks: dict[StateType, float] = {}
            for state in states:
                at = state.timestamp.timestamp()
                if at < approved:
                    continue
                if state.type == StateType.SCHEDULED:
                    marks = {StateType.SCHEDULED: at}
                elif state.type in (StateType.PENDING, StateType.RUNNING):
                    marks[state.type] = at
                elif state.type == StateType.PAUSED and len(marks) == 3:
                    variant.poll_wait.append(marks[StateType.PENDING] - marks[StateType.SCHEDULED])
                    variant.process_start.append(marks[StateType.RUNNING] - marks[StateType.PENDING])
                    variant.flow_code.append(at - marks[StateType.RUNNING])
                    break


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
    print(f"\nmachine after the run: {machine()}")
    for variant in variants:
        print(f"\n{variant.name}\n{'':38} {'n':>3} {'median':>8} {'p95':>8} {'max':>8}")
        for label, values in (
            ("approval → stage active", variant.to_stage),
            ("approval → mentee's mail in the sink", variant.to_mail),
            ("approval → shown by the run", variant.to_shown),
            ("per resume: poll wait", variant.poll_wait),
            ("per resume: process start", variant.process_start),
            ("per resume: flow code → suspended", variant.flow_code),
        ):
            if values:
                print(
                    f"{label:38} {len(values):>3} {median(values):>7.2f}s {p95(values):>7.2f}s"
                    f" {max(values):>7.2f}s"
                )
    ours, baseline = variants
    for label, attr in (("stage", "to_stage"), ("mail", "to_mail"), ("shown", "to_shown")):
        fast, slow = getattr(ours, attr), getattr(baseline, attr)
        print(
            f"ratio Prefect defaults / mentorflow, approval → {label}:"
            f" median {median(slow) / median(fast):.1f}, p95 {p95(slow) / p95(fast):.1f}"
        )


if __name__ == "__main__":
    main()
