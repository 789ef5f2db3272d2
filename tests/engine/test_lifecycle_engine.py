"""The lifecycle engine against a real Prefect server (on PostgreSQL) and a real runner.

Facts are stated through ``services`` and the engine is told with ``notify_engine``, as the
API does after each commit. The reconciler is run on demand (its schedule is a minute). No
fast lane runs here: these tests watch the lifecycle run do the work (``test_fast_lane.py``
adds the lane).
"""

from __future__ import annotations

import signal
import time
from statistics import median

import pytest
from prefect.client.schemas.objects import StateType
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from models import Certificate, OutgoingEmail, Stage
from services.engine_state import run_name
from tests.engine.conftest import RunnerControl
from tests.engine.harness import Mailbox, PrefectServer, wait_until
from tests.engine.runs import (
    caught_up,
    flow_processes,
    heartbeat_of,
    mails_of,
    pass_windows,
    read_run,
    run_id_of,
    run_reconciler,
    settle,
    started,
    state_of,
    task_runs_per_pass,
)
from tests.engine.walk import Walk

pytestmark = [pytest.mark.engine, pytest.mark.xdist_group("engine")]


# --- the tests ---------------------------------------------------------------------------------


def test_a_request_starts_a_run_that_handles_it_and_suspends(runner: RunnerControl, app_db: Engine) -> None:
    walk = Walk(app_db)
    walk.request()

    run = settle(walk)

    assert run.name == run_name(walk.mentorship_id)
    assert run.state is not None
    assert run.state.name == "Suspended"
    assert "stage:requested" in run.tags
    wait_until(lambda: not flow_processes(runner), timeout=15, what="the flow process to exit")


def test_a_wake_that_finds_the_run_busy_is_retried(runner: RunnerControl, app_db: Engine) -> None:
    walk = started(Walk(app_db))
    run_id = run_id_of(walk)

    walk.save_draft()
    wait_until(lambda: state_of(run_id) == StateType.RUNNING, timeout=30, interval=0.05)
    walk.save_draft()  # arrives mid-pass: resume → NotPausedError → tried again shortly

    settle(walk)  # no reconciler involved


def test_a_resume_costs_the_same_at_event_3_and_event_30(runner: RunnerControl, app_db: Engine) -> None:
    """Single-event resumes early and late in a mentorship's log cost the same: each pass
    reads its position from the database and waits under a new key; nothing is replayed.
    The history in between (24 events, 3 more waits) is built in batches to save time."""
    walk = started(Walk(app_db))
    run_id = run_id_of(walk)

    def one_event() -> float:
        began = time.monotonic()
        walk.save_draft()  # one fact, one event, one wake
        wait_until(lambda: caught_up(walk), timeout=60, interval=0.05)
        latency = time.monotonic() - began
        settle(walk)
        return latency

    def eight_events() -> None:
        walk.notify = False
        for _ in range(8):
            walk.save_draft()
        walk.notify = True
        walk.tell_engine()
        settle(walk)

    before = len(pass_windows(run_id))
    early = [one_event() for _ in range(3)]
    for _ in range(3):
        eight_events()
    late = [one_event() for _ in range(3)]
    assert walk.mentorship().processed_seq >= 30

    windows = pass_windows(run_id)
    assert len(windows) == before + 3 + 3 + 3
    passes = [(end - begin).total_seconds() for begin, end in windows]
    print(  # noqa: T201
        f"\nflow code per resume: early {median(passes[before : before + 3]):.2f} s,"
        f" late {median(passes[-3:]):.2f} s;"
        f" fact→handled: early {median(early):.2f} s, late {median(late):.2f} s"
    )
    assert median(passes[-3:]) < 2 * median(passes[before : before + 3]) + 0.5
    assert median(late) < 2 * median(early) + 1.0
    # No replay: a late pass runs exactly the tasks of its own event, like an early one, and
    # every suspension waited under a key of its own.
    counts = task_runs_per_pass(run_id, windows)
    assert len(set(counts[before : before + 3] + counts[-3:])) == 1, counts
    assert len(read_run(run_id).empirical_policy.pause_keys or ()) == len(windows)


def test_facts_stated_while_prefect_is_down_are_caught_up_after_its_restart(
    prefect_server: PrefectServer, runner: RunnerControl, app_db: Engine
) -> None:
    walk = started(Walk(app_db))
    prefect_server.stop()

    began = time.monotonic()
    walk.save_draft()
    walk.submit()
    assert time.monotonic() - began < 1.0  # telling the engine never holds up a fact
    for job in walk.notified[-2:]:
        assert job.result(timeout=60) is None  # failed quietly: logged, nothing raised
    assert not caught_up(walk)

    seconds = prefect_server.start()
    print(f"\nPrefect server healthy again after {seconds:.1f} s")  # noqa: T201
    assert runner.process is not None
    assert runner.process.running, "the runner did not survive the server's absence"
    run_reconciler()

    settle(walk)


def test_a_whole_lifecycle_survives_a_runner_killed_mid_pass(
    runner: RunnerControl, app_db: Engine, mailbox: Mailbox
) -> None:
    walk = started(Walk(app_db))
    walk.agree()
    walk.hold_meeting()
    settle(walk)
    assert walk.mentorship().stage == Stage.ACTIVE  # moved by the flow

    walk.hold_meeting(is_final=True)  # the pass that follows issues certificates: seconds long
    run_id = run_id_of(walk)
    wait_until(lambda: state_of(run_id) == StateType.RUNNING, timeout=60, interval=0.05)
    wait_until(lambda: heartbeat_of(run_id), timeout=20, what="the run's first heartbeat")
    runner.kill()  # the whole process group, flow run included, like a machine dying
    runner.start()
    time.sleep(2)
    assert state_of(run_id) == StateType.RUNNING  # a new runner ignores it: the known hole

    run_reconciler(stale_after_seconds=3)  # a short threshold instead of waiting 90 s

    wait_until(lambda: state_of(run_id) == StateType.COMPLETED, timeout=90, what="completion")
    mentorship = walk.mentorship()
    assert mentorship.stage == Stage.COMPLETED
    assert mentorship.processed_seq == mentorship.last_seq
    with Session(app_db) as s:
        holders = set(
            s.scalars(select(Certificate.user_id).where(Certificate.mentorship_id == walk.mentorship_id))
        )
        sent = s.scalars(
            select(OutgoingEmail.dedupe_key).where(
                OutgoingEmail.mentorship_id == walk.mentorship_id,
                OutgoingEmail.sent_at.is_not(None),
            )
        ).all()
    assert holders == {walk.mentee_id, walk.mentor_id}
    wait_until(lambda: len(mails_of(mailbox, walk)) >= len(sent), timeout=30, what="mail")
    ids = [str(m["Message-ID"]) for m in mails_of(mailbox, walk)]
    assert len(ids) == len(set(ids)), "a mail went out twice"
    assert len(ids) == len(sent)


def test_a_run_cancelled_by_a_runner_shutting_down_is_taken_up_again(
    runner: RunnerControl, app_db: Engine, mailbox: Mailbox
) -> None:
    """Prefect's runner, stopped politely (SIGTERM: a restart, Ctrl-C on ``mentorflow up``),
    cancels the runs it is executing. The reconciler tells that from an operator's cancel."""
    walk = started(Walk(app_db))
    walk.agree()
    walk.hold_meeting()
    settle(walk)

    walk.hold_meeting(is_final=True)  # its pass issues certificates: seconds long
    run_id = run_id_of(walk)
    wait_until(lambda: state_of(run_id) == StateType.RUNNING, timeout=60, interval=0.05)
    assert runner.process is not None
    assert runner.process.popen is not None
    try:
        runner.process.popen.send_signal(signal.SIGTERM)  # to the runner alone, as systemd does
        runner.process.popen.wait(timeout=30)
        run = read_run(run_id)
        assert run.state is not None
        assert run.state.type == StateType.CANCELLED, run.state
    finally:
        runner.stop()  # whatever is left of its process group
        runner.start()

    run_reconciler()

    wait_until(lambda: state_of(run_id) == StateType.COMPLETED, timeout=90, what="completion")
    assert walk.mentorship().stage == Stage.COMPLETED
    ids = [str(m["Message-ID"]) for m in mails_of(mailbox, walk)]
    assert len(ids) == len(set(ids)), "a mail went out twice"
