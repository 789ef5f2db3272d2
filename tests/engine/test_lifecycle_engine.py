"""The lifecycle engine against a real Prefect server (on PostgreSQL) and a real runner.

Facts are stated through ``services`` and the engine is told with ``notify_engine``, as the
API does after each commit. The reconciler is run on demand (its schedule is a minute).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from statistics import median
from uuid import UUID

import pytest
from prefect import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.deployments import run_deployment
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from models import Certificate, OutgoingEmail, Stage
from services.engine_state import RECONCILER_DEPLOYMENT, run_name
from tasks.engine import last_heartbeat
from tests.engine.conftest import RunnerControl
from tests.engine.harness import Mailbox, PrefectServer, wait_until
from tests.engine.walk import Walk

pytestmark = [pytest.mark.engine, pytest.mark.xdist_group("engine")]


# --- reading the engine ------------------------------------------------------------------------


def read_run(flow_run_id: str) -> FlowRun:
    with get_client(sync_client=True) as client:
        return client.read_flow_run(UUID(flow_run_id))


def state_of(flow_run_id: str) -> StateType | None:
    state = read_run(flow_run_id).state
    return state.type if state is not None else None


def run_id_of(walk: Walk) -> str:
    run_id = walk.mentorship().flow_run_id
    assert run_id is not None
    return run_id


def caught_up(walk: Walk) -> bool:
    m = walk.mentorship()
    return m.flow_run_id is not None and m.processed_seq == m.last_seq


def settle(walk: Walk, timeout: float = 60) -> FlowRun:
    """Wait until the run handled every event and is suspended again; returns the run."""
    wait_until(lambda: caught_up(walk), timeout=timeout, interval=0.05, what="events handled")
    run_id = run_id_of(walk)
    wait_until(lambda: state_of(run_id) == StateType.PAUSED, timeout=timeout, interval=0.05, what="suspend")
    return read_run(run_id)


def started(walk: Walk) -> Walk:
    walk.request()
    walk.accept()
    settle(walk)
    return walk


def run_reconciler(**parameters: int) -> None:
    """One reconciler tick through the runner, now."""
    run: FlowRun = run_deployment(  # type: ignore[assignment, call-arg]
        RECONCILER_DEPLOYMENT,
        parameters=parameters,
        timeout=90,
        poll_interval=0.5,
        as_subflow=False,
        _sync=True,  # Playwright's sync API may have left an event loop in this thread
    )
    assert run.state is not None
    assert run.state.is_completed(), run.state


def flow_processes(runner: RunnerControl) -> list[str]:
    """Command lines of the processes in the runner's group other than the runner itself."""
    process = runner.process
    assert process is not None
    assert process.popen is not None
    others = [pid for pid in process.group_members() if pid != process.popen.pid]
    return [_cmdline(pid) for pid in others]


def _cmdline(pid: int) -> str:
    try:
        return open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode()[:200]
    except OSError:
        return ""


def pass_windows(flow_run_id: str) -> list[tuple[datetime, datetime]]:
    """Each pass of a run: from its Running state to the Suspended state that follows."""
    with get_client(sync_client=True) as client:
        states = sorted(client.read_flow_run_states(UUID(flow_run_id)), key=lambda s: s.timestamp)
    windows, began = [], None
    for state in states:
        if state.type == StateType.RUNNING:
            began = state.timestamp
        elif state.type == StateType.PAUSED and began is not None:
            windows.append((began, state.timestamp))
            began = None
    return windows


def task_runs_per_pass(flow_run_id: str, windows: list[tuple[datetime, datetime]]) -> list[int]:
    """How many task runs started within each pass."""
    starts: list[datetime | None] = []
    with get_client(sync_client=True) as client:
        while True:
            page = client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[UUID(flow_run_id)])),
                limit=200,
                offset=len(starts),
            )
            starts += [t.start_time or t.expected_start_time for t in page]
            if len(page) < 200:
                break
    return [len([t for t in starts if t and begin <= t <= end]) for begin, end in windows]


def heartbeat_of(flow_run_id: str) -> datetime | None:
    """What the reconciler reads to tell a live run from one whose process is gone."""
    with get_client(sync_client=True) as client:
        return last_heartbeat(client, flow_run_id, since=datetime.now(UTC) - timedelta(minutes=5))


def mails_of(mailbox: Mailbox, walk: Walk) -> list[EmailMessage]:
    people = (f"mentee{walk.number}@", f"mentor{walk.number}@")
    return [m for m in mailbox.messages if any(p in str(m["To"]) for p in people)]


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
