"""Reading the engine in the engine tests: runs, their states and passes, and the mail a pair got."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from uuid import UUID

from prefect import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.deployments import run_deployment

from services.engine_state import RECONCILER_DEPLOYMENT
from tasks.engine import last_heartbeat
from tests.engine.conftest import RunnerControl
from tests.engine.harness import Mailbox, wait_until
from tests.engine.walk import Walk


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
    """Every event's consequences handled, and the run waiting in (or finished with) the stage."""
    m = walk.mentorship()
    return m.flow_run_id is not None and m.processed_seq == m.last_seq and m.run_stage == m.stage


def settle(walk: Walk, timeout: float = 60) -> FlowRun:
    """Wait until every event is handled and the run is suspended in the mentorship's stage
    (or completed with it)."""
    try:
        wait_until(
            lambda: caught_up(walk), timeout=timeout, interval=0.05, what="events handled, run waiting"
        )
    except TimeoutError as error:
        m = walk.mentorship()
        raise TimeoutError(
            f"{error}: stage {m.stage}, run in {m.run_stage}, events {m.processed_seq}/{m.last_seq}"
        ) from error
    run_id = run_id_of(walk)
    wait_until(
        lambda: state_of(run_id) in (StateType.PAUSED, StateType.COMPLETED),
        timeout=timeout,
        interval=0.05,
        what="suspend",
    )
    # The handler marks its events handled, then tags the run: the tags follow a moment later.
    stage_tag = f"stage:{walk.mentorship().stage}"
    wait_until(lambda: stage_tag in read_run(run_id).tags, timeout=10, interval=0.05, what=stage_tag)
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


def reconciled_until(flow_run_id: str, state: StateType) -> bool:
    """One reconciler tick, then: is the run in ``state``? (For ``wait_until``: ticks as the
    schedule would give them, every few seconds instead of every minute.)"""
    run_reconciler()
    return state_of(flow_run_id) == state


def flow_processes(runner: RunnerControl) -> list[str]:
    """Command lines of the flow-run processes in the runner's group: every member but the
    runner and its two helpers from ``multiprocessing`` (the warm forkserver that forks each
    run, and its resource tracker), which are shared and idle between runs."""
    process = runner.process
    assert process is not None
    assert process.popen is not None
    runner_pid = process.popen.pid
    members = [pid for pid in process.group_members() if pid != runner_pid]
    helpers = {
        pid
        for pid in members
        if _parent(pid) == runner_pid and _cmdline(pid).split(" -c ")[-1].startswith(_HELPERS)
    }
    return [_cmdline(pid) for pid in members if pid not in helpers]


_HELPERS = ("from multiprocessing.forkserver import", "from multiprocessing.resource_tracker import")


def _cmdline(pid: int) -> str:
    try:
        return open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode()[:200]
    except OSError:
        return ""


def _parent(pid: int) -> int | None:
    try:
        stat = open(f"/proc/{pid}/stat").read()
    except OSError:
        return None
    return int(stat.rpartition(")")[2].split()[1])  # the field after the state


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
