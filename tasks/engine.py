"""The one way into the workflow engine: submit consequences, start, wake and repair runs.

The API, the lifecycle flow, the sweeps and the reconciler all call Prefect through here
(DESIGN rule 5: the API never imports ``flows/``). After a fact is committed the caller says
``after_fact(mentorship_id)``; in the background that

1. submits the mentorship's consequences to the task workers (``handle_events.delay``), and
2. starts the mentorship's lifecycle run if it has none, or wakes it, *only* if the fact met
   what the run waits for (``services.engine_state.wait_is_met``): other facts do not resume it.

Nothing here raises into a request: if Prefect is slow or down the fact still stands, its
event waits in the log, and the reconciler (every minute) submits, starts or wakes later.

Setting (read on every call, so tests can switch it): ``MENTORFLOW_ENGINE=prefect`` (default)
or ``off`` (nothing is sent; API unit tests).
"""

from __future__ import annotations

import contextvars
import logging
import os
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cache
from uuid import UUID

import httpx
from prefect import get_client
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterId,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import FlowRun, State, StateType
from prefect.client.schemas.sorting import FlowRunSort
from prefect.concurrency._asyncio import ConcurrencySlotAcquisitionError  # not public in 3.9.1
from prefect.concurrency.sync import concurrency
from prefect.deployments import run_deployment
from prefect.events.filters import (
    EventFilter,
    EventNameFilter,
    EventOccurredFilter,
    EventResourceFilter,
)
from prefect.exceptions import (
    NotPausedError,
    ObjectAlreadyExists,
    ObjectNotFound,
    PrefectHTTPStatusError,
)
from prefect.flow_runs import resume_flow_run
from prefect.futures import PrefectDistributedFuture
from prefect.states import Scheduled
from prefect.utilities.urls import url_for
from sqlalchemy import Engine

from models.db import read_scope, session_scope
from services import engine_state, handling
from services.engine_state import (
    LIFECYCLE_DEPLOYMENT,
    RECONCILER_LIMIT,
    EngineTarget,
    run_name,
    run_tags,
)
from tasks.consequences import handle_events

log = logging.getLogger(__name__)

ENGINE_SETTING = "MENTORFLOW_ENGINE"
HEARTBEAT_EVENT = "prefect.flow-run.heartbeat"
_PAGE = 200  # the Prefect API's default page limit
#: Run ids in one filter: each is a bound parameter of Prefect's query, and PostgreSQL's driver
#: takes at most 32,767 of them.
_IDS_PER_CALL = 5_000
#: A wake that finds the run between its last check and its suspend (``NotPausedError``), or
#: loses a race with another wake (HTTP 409), tries again after these pauses; the run is
#: suspended within a second or two, and the reconciler covers anything longer.
WAKE_RETRY_DELAYS = (0.2, 0.4, 0.8, 1.6, 3.2, 6.4)


class CannotResume(Exception):
    """A suspended run that Prefect refuses to resume (say, its wait was left half-made by a
    process killed while suspending): the reconciler reschedules it instead."""


def engine_enabled() -> bool:
    return os.environ.get(ENGINE_SETTING, "prefect").strip().lower() != "off"


@cache
def _background() -> ThreadPoolExecutor:
    # Threads mostly wait on Prefect's answers or sleep between wake retries.
    return ThreadPoolExecutor(max_workers=16, thread_name_prefix="after-fact")


def after_fact(mentorship_id: int, *, db: Engine | None = None) -> Future[None] | None:
    """Tell the engine that the mentorship has new events, in the background.

    Returns the background job (tests may wait on it), or ``None`` when the engine is off.
    """
    if not engine_enabled():
        return None
    return _background().submit(follow_up, mentorship_id, db)


def follow_up(mentorship_id: int, db: Engine | None = None) -> None:
    """Submit the consequences, then start or wake the run as its wait calls for. Never raises."""
    if not engine_enabled():
        return
    submit_consequences(mentorship_id, db=db)
    try:
        target = read_target(mentorship_id, db)
        if target is None:
            return
        if target.flow_run_id is None:
            start_lifecycle_run(mentorship_id, db=db)
        elif target.wait_met:
            wake_lifecycle_run(mentorship_id, db=db)
    except Exception as error:  # best effort by design: the reconciler catches up
        log.warning("engine not told about mentorship %s: %r", mentorship_id, error)


def submit_consequences(
    mentorship_id: int, *, db: Engine | None = None, even_if_queued: bool = False
) -> str | None:
    """One ``handle-events`` background task for the mentorship; returns its task run id, or
    ``IN_HAND`` when a handler is queued or at work for it already.

    That handler takes the events just committed too (``services.handling.queue_handler``);
    another task would only wait in the task workers' queue behind the rest: under a burst,
    such duplicates made most of the queue, each a Prefect task run to make and run.

    ``even_if_queued``: submit even if a handler is noted as queued (not if one is at work).
    The lifecycle's stage steps pass it: a pass killed between noting a handler and
    submitting it leaves a note for a handler that does not exist, and the pass that takes
    over must not wait for that note to age. They submit a few times per mentorship, so they
    cannot flood the queue as facts under a burst did.

    ``None`` if Prefect did not take it: the events wait in the log, and the reconciler
    submits them again once they are overdue.
    """
    with session_scope(db) as session:
        now = datetime.now(UTC)
        if not handling.queue_handler(session, mentorship_id, now=now, even_if_queued=even_if_queued):
            return IN_HAND
    try:
        # In a context of its own: a background task, not a child of whichever flow run or
        # task run submits it (Prefect 3.9.1's task-run recorder trips over several
        # ``handle-events`` children of one flow run: KeyError on their natural key).
        future = contextvars.Context().run(_delay, mentorship_id)
    except Exception as error:
        log.warning("consequences of mentorship %s not submitted: %r", mentorship_id, error)
        with session_scope(db) as session:
            handling.unqueue_handler(session, mentorship_id)
        return None
    return str(future.task_run_id)


#: What ``submit_consequences`` returns when a handler has the mentorship's events in hand.
IN_HAND = "in-hand"


def _delay(mentorship_id: int) -> PrefectDistributedFuture[int]:
    # No ``mentorship-{id}`` tag, although operators would like to filter by it: Prefect
    # 3.9.1 takes a concurrency lease for every tag set of a task run, through a service it
    # creates per tag set from the task's thread while holding a lock its event loop also
    # needs to emit events. With a tag per mentorship, bursts deadlocked the task worker
    # (benchmarks/engine_latency.py, 292 events left unhandled). The run's name carries the id.
    return handle_events.delay(mentorship_id)


def run_url(flow_run_id: str | None) -> str | None:
    """The run's page in the Prefect UI (``PREFECT_UI_URL``, by default the API's server)."""
    return url_for("flow-run", obj_id=flow_run_id) if flow_run_id else None


def read_target(mentorship_id: int, db: Engine | None = None) -> EngineTarget | None:
    with read_scope(db) as session:
        return engine_state.engine_target(session, mentorship_id)


def start_lifecycle_run(mentorship_id: int, *, db: Engine | None = None) -> str:
    """Create the mentorship's run (or get the existing one: same idempotency key)."""
    name = run_name(mentorship_id)
    with read_scope(db) as session:
        status = engine_state.run_status(session, mentorship_id, now=datetime.now(UTC))
    run: FlowRun = run_deployment(  # type: ignore[assignment, call-arg]
        LIFECYCLE_DEPLOYMENT,
        parameters={"mentorship_id": mentorship_id},
        flow_run_name=name,
        idempotency_key=name,
        tags=run_tags(status),
        as_subflow=False,
        timeout=0,  # returns once the run exists; it starts at the runner's next poll
        _sync=True,  # never a coroutine, even where a caller's thread runs an event loop
    )
    with session_scope(db) as session:
        engine_state.set_flow_run_id(session, mentorship_id, str(run.id))
    return str(run.id)


def wake_lifecycle_run(
    mentorship_id: int, *, db: Engine | None = None, retry_delays: tuple[float, ...] = WAKE_RETRY_DELAYS
) -> bool:
    """Resume the suspended run while its wait is met; True once resumed (or no longer needed).

    False if the run stayed busy (after ``retry_delays``) or Prefect failed: the reconciler
    looks again.
    """
    refused: RuntimeError | None = None
    for delay in (0.0, *retry_delays):
        time.sleep(delay)
        target = read_target(mentorship_id, db)
        if target is None or not target.wait_met:
            return True  # the run went on meanwhile
        if target.flow_run_id is None:
            start_lifecycle_run(mentorship_id, db=db)
            return True
        fact = f"{target.stage} at event {target.last_seq}"
        try:
            resume_flow_run(  # type: ignore[call-arg]
                UUID(target.flow_run_id), run_input={"fact": fact, "seq": target.last_seq}, _sync=True
            )
            return True
        except ObjectNotFound:
            start_lifecycle_run(mentorship_id, db=db)
            return True
        except NotPausedError as busy:  # not suspended yet: it will be in a moment
            log.debug("run of mentorship %s busy: %s", mentorship_id, busy)
        except RuntimeError as error:  # Prefect will not resume it (yet: see CannotResume)
            if not _still_paused(target.flow_run_id):
                return True  # a concurrent wake was first
            refused = error
        except PrefectHTTPStatusError as error:
            # A concurrent wake stored its input under the same key first: 409 on SQLite, and a
            # 500 on PostgreSQL (Prefect 3.9.1 lets the unique violation through). Either way
            # the run is no longer paused; anything else is Prefect failing.
            if error.response.status_code != 409 and _still_paused(target.flow_run_id):
                raise
    if refused is not None:
        raise CannotResume(f"mentorship {mentorship_id}: {refused}") from refused
    log.info("run of mentorship %s stayed busy; the reconciler will wake it", mentorship_id)
    return False


def _still_paused(flow_run_id: str) -> bool:
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(UUID(flow_run_id)).state
    return state is not None and state.is_paused()


def reschedule_lifecycle_run(
    flow_run_id: str, reason: str, *, unless_changed_since: datetime | None = None
) -> bool:
    """Put a run whose process is gone back in line; a runner continues it from the database.

    With ``unless_changed_since``: only if its state is still the one that was seen then (a
    runner may have taken it up meanwhile). Returns whether it was rescheduled.
    """
    with get_client(sync_client=True) as client:
        if unless_changed_since is not None:
            state = client.read_flow_run(UUID(flow_run_id)).state
            if state is None or state.timestamp != unless_changed_since:
                log.info("lifecycle run %s changed meanwhile; not rescheduled", flow_run_id)
                return False
        client.set_flow_run_state(
            UUID(flow_run_id), Scheduled(message=f"Rescheduled by the reconciler: {reason}"), force=True
        )
    log.warning("rescheduled lifecycle run %s: %s", flow_run_id, reason)
    return True


# --- one reconciler pass at a time -------------------------------------------------------------

#: How long a pass's slot outlives its process: Prefect renews the lease while the pass runs,
#: and its lease repossessor frees the slot of a pass whose process was killed (every 15 s).
#: 60 s is the shortest lease the Prefect API grants.
PASS_LEASE_S = 60


class AnotherPassRunning(Exception):
    """A reconciler pass is running already; this one has nothing to add."""


@contextmanager
def one_reconciler_pass() -> Iterator[None]:
    """Hold the reconciler's slot (a Prefect global concurrency limit of 1) for the pass.

    Not the deployment's own concurrency limit: a pass killed with its runner kept that slot
    for five minutes (the flow engine's lease), and every pass in between was cancelled, so
    the runs of the killed runner waited that long. This lease lasts a minute after a death.
    """
    _ensure_reconciler_limit()
    try:
        with concurrency(RECONCILER_LIMIT, occupy=1, lease_duration=PASS_LEASE_S, max_retries=0, strict=True):
            yield
    except ConcurrencySlotAcquisitionError as error:
        cause = error.__cause__
        if isinstance(cause, httpx.HTTPStatusError) and cause.response.status_code == 423:
            raise AnotherPassRunning() from error
        raise


def _ensure_reconciler_limit() -> None:
    """Create the limit once; read first, so that passes do not race to create it (which the
    loser's server logs as an error) on every tick."""
    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(RECONCILER_LIMIT)
            return
        except ObjectNotFound:
            pass
        try:
            client.create_global_concurrency_limit(
                GlobalConcurrencyLimitCreate(name=RECONCILER_LIMIT, limit=1)
            )
        except ObjectAlreadyExists:
            pass


# --- reading runs, for the reconciler ---------------------------------------------------------


@dataclass(frozen=True)
class RunView:
    """A lifecycle run as the reconciler needs it: its state, and its last sign of life."""

    flow_run_id: str
    state_type: str  # a prefect StateType value: SCHEDULED, PENDING, RUNNING, PAUSED, ...
    state_name: str
    state_at: datetime
    last_seen: datetime  # newest of the state's timestamp and the run's heartbeats
    state_message: str = ""
    failures_in_a_row: int = 0  # of a failed run: its failures since it last suspended or completed


@dataclass(frozen=True)
class LifecycleRuns:
    """What the reconciler needs to know of the lifecycle runs it asked about.

    Every asked-about run that is in neither field is suspended and waits for its fact: at
    idle that is nearly all of them, and they are counted, not read (reading 10,000 runs took
    Prefect 15 s a pass, and the time grew faster than the number of runs).
    """

    looked_at: dict[str, RunView]  # by id: the runs not suspended, and the suspended ones asked for
    missing: frozenset[str]  # ids Prefect does not know (a run deleted in the UI)


def read_lifecycle_runs(
    flow_run_ids: Iterable[str], *, also_suspended: Iterable[str] = (), look_closer_after_s: float
) -> LifecycleRuns:
    """The runs among ``flow_run_ids`` that are not suspended, and those in ``also_suspended``
    whatever their state, by id; and which ids Prefect does not know.

    Runs that have been pending or running for longer than ``look_closer_after_s`` get their
    newest heartbeat looked up, to tell a long pass from a run whose process is gone."""
    asked = list(dict.fromkeys(flow_run_ids))
    wanted = set(also_suspended) & set(asked)
    runs: list[FlowRun] = []
    missing: set[str] = set()
    with get_client(sync_client=True) as client:
        for ids in _chunks(asked, _IDS_PER_CALL):
            if _count_runs(client, ids) == len(ids):
                runs += _read_runs(client, ids, suspended=False)
                continue
            every = _read_runs(client, ids)  # some run is gone: read them all to learn which
            missing |= set(ids) - {str(run.id) for run in every}
            runs += every
        runs += _read_runs(client, sorted(wanted - missing), suspended=True)
        views = [view for run in runs if (view := _view(run)) is not None]
        looked_at = {
            view.flow_run_id: _looked_closer(client, view, look_closer_after_s)
            for view in views
            if view.state_type != "PAUSED" or view.flow_run_id in wanted
        }
    return LifecycleRuns(looked_at=looked_at, missing=frozenset(missing))


def _count_runs(client: SyncPrefectClient, ids: list[str]) -> int:
    return client.count_flow_runs(
        flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[UUID(i) for i in ids]))
    )


def _read_runs(client: SyncPrefectClient, ids: list[str], *, suspended: bool | None = None) -> list[FlowRun]:
    """The runs among ``ids``: all of them, only the suspended ones, or only the others."""
    paused = FlowRunFilterStateType(any_=[StateType.PAUSED])
    if suspended is False:
        paused = FlowRunFilterStateType(not_any_=[StateType.PAUSED])
    state = None if suspended is None else FlowRunFilterState(type=paused)
    runs: list[FlowRun] = []
    for chunk in _chunks(ids, _IDS_PER_CALL):
        query = FlowRunFilter(id=FlowRunFilterId(any_=[UUID(i) for i in chunk]), state=state)
        offset = 0
        while True:
            page = client.read_flow_runs(
                flow_run_filter=query, sort=FlowRunSort.ID_DESC, limit=_PAGE, offset=offset
            )
            runs += page
            offset += len(page)
            if len(page) < _PAGE:
                break
    return runs


def _chunks(ids: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _looked_closer(client: SyncPrefectClient, view: RunView, look_closer_after_s: float) -> RunView:
    if view.state_type in ("PENDING", "RUNNING"):
        if (_utcnow() - view.state_at).total_seconds() > look_closer_after_s:
            return _with_heartbeat(client, view)
    elif view.state_type == "FAILED":
        states = client.read_flow_run_states(UUID(view.flow_run_id))
        return replace(view, failures_in_a_row=failures_in_a_row(states))
    return view


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _view(run: FlowRun) -> RunView | None:
    if run.state is None or run.state.timestamp is None:
        return None
    at = run.state.timestamp
    return RunView(
        flow_run_id=str(run.id),
        state_type=run.state.type.value,
        state_name=run.state.name or run.state.type.value,
        state_at=at,
        last_seen=at,
        state_message=run.state.message or "",
    )


def failures_in_a_row(states: Iterable[State]) -> int:
    """How often a run failed since its last pass that went well (one that suspended or
    completed): a run put back in line after a failure runs a new pass."""
    failures = 0
    for state in sorted(states, key=lambda s: s.timestamp, reverse=True):
        if state.type in (StateType.PAUSED, StateType.COMPLETED):
            break
        failures += state.type == StateType.FAILED
    return failures


def _with_heartbeat(client: SyncPrefectClient, view: RunView) -> RunView:
    beat = last_heartbeat(client, view.flow_run_id, since=view.state_at)
    return replace(view, last_seen=max(view.last_seen, beat)) if beat else view


def last_heartbeat(client: SyncPrefectClient, flow_run_id: str, *, since: datetime) -> datetime | None:
    """The newest heartbeat the run's process sent since ``since`` (Prefect's own events)."""
    page = client.read_events(
        filter=EventFilter(
            occurred=EventOccurredFilter(since=since, until=_utcnow()),
            event=EventNameFilter(name=[HEARTBEAT_EVENT]),
            resource=EventResourceFilter(id=[f"prefect.flow-run.{flow_run_id}"]),
        ),
        limit=1,
    )
    return page.events[0].occurred if page.events else None


def known_run_ids(targets: Iterable[EngineTarget]) -> list[str]:
    return [t.flow_run_id for t in targets if t.flow_run_id]
