"""What the reconciler does to lifecycle runs through the Prefect API, one call per task.

The API has its own, non-blocking twin of ``start`` and ``wake`` (``api/engine.py``): the
layering keeps api/ and tasks/ apart, and both use the names in ``services.engine_state``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from uuid import UUID

from prefect import get_client, task
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment
from prefect.events.filters import (
    EventFilter,
    EventNameFilter,
    EventOccurredFilter,
    EventResourceFilter,
)
from prefect.exceptions import NotPausedError, ObjectNotFound, PrefectHTTPStatusError
from prefect.flow_runs import resume_flow_run
from prefect.states import Scheduled

from models.db import session_scope
from services import engine_state
from services.engine_state import LIFECYCLE_DEPLOYMENT, EngineTarget

log = logging.getLogger(__name__)

HEARTBEAT_EVENT = "prefect.flow-run.heartbeat"
_PAGE = 200  # the Prefect API's default page limit


@dataclass(frozen=True)
class RunView:
    """A lifecycle run as the reconciler needs it: its state, and its last sign of life."""

    flow_run_id: str
    state_type: str  # a prefect StateType value: SCHEDULED, PENDING, RUNNING, PAUSED, ...
    state_name: str
    state_at: datetime
    last_seen: datetime  # newest of the state's timestamp and the run's heartbeats
    state_message: str = ""


@task(name="read-engine-targets", cache_policy=NO_CACHE, persist_result=False)
def read_engine_targets() -> list[EngineTarget]:
    with session_scope() as session:
        return engine_state.engine_targets(session)


@task(name="read-lifecycle-runs", cache_policy=NO_CACHE, persist_result=False)
def read_lifecycle_runs(flow_run_ids: list[str], look_closer_after_s: float) -> dict[str, RunView]:
    """The runs that exist, by id. Runs that have been pending or running for longer than
    ``look_closer_after_s`` get their newest heartbeat looked up, to tell a long pass from a
    run whose process is gone."""
    views: dict[str, RunView] = {}
    with get_client(sync_client=True) as client:
        for start in range(0, len(flow_run_ids), _PAGE):
            ids = [UUID(i) for i in flow_run_ids[start : start + _PAGE]]
            runs = client.read_flow_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids)), limit=_PAGE
            )
            for run in runs:
                view = _view(run)
                if view is None:
                    continue
                if view.state_type in ("PENDING", "RUNNING"):
                    age = (_utcnow() - view.state_at).total_seconds()
                    if age > look_closer_after_s:
                        view = _with_heartbeat(client, view)
                views[view.flow_run_id] = view
    return views


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


@task(
    name="start-lifecycle-run",
    task_run_name="start-mentorship-{mentorship_id}",
    cache_policy=NO_CACHE,
    persist_result=False,
)
def start_lifecycle_run(mentorship_id: int) -> str:
    """Create the mentorship's run (or get the existing one: same idempotency key)."""
    name = engine_state.run_name(mentorship_id)
    run: FlowRun = run_deployment(  # type: ignore[assignment, call-arg]
        LIFECYCLE_DEPLOYMENT,
        parameters={"mentorship_id": mentorship_id},
        flow_run_name=name,
        idempotency_key=name,
        as_subflow=False,
        timeout=0,
        _sync=True,  # never a coroutine, even where a caller's thread runs an event loop
    )
    with session_scope() as session:
        engine_state.set_flow_run_id(session, mentorship_id, str(run.id))
    return str(run.id)


@task(
    name="wake-lifecycle-run",
    task_run_name="wake-{flow_run_id}-at-{seq}",
    cache_policy=NO_CACHE,
    persist_result=False,
)
def wake_lifecycle_run(flow_run_id: str, seq: int) -> bool:
    """Resume a suspended run; False if it is busy or gone (it will be looked at again)."""
    try:
        resume_flow_run(UUID(flow_run_id), run_input={"seq": seq}, _sync=True)  # type: ignore[call-arg]
    except (NotPausedError, ObjectNotFound, RuntimeError) as error:
        log.info("run %s not woken: %s", flow_run_id, error)
        return False
    except PrefectHTTPStatusError as error:
        if error.response.status_code != 409:  # 409: a concurrent wake was first
            raise
        log.info("run %s was woken by someone else meanwhile", flow_run_id)
        return False
    return True


@task(
    name="reschedule-lifecycle-run",
    task_run_name="reschedule-{flow_run_id}",
    cache_policy=NO_CACHE,
    persist_result=False,
)
def reschedule_lifecycle_run(flow_run_id: str, reason: str) -> None:
    """Put a run whose process is gone back in line; a runner continues it from the database."""
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(
            UUID(flow_run_id), Scheduled(message=f"Rescheduled by the reconciler: {reason}"), force=True
        )
    log.warning("rescheduled lifecycle run %s: %s", flow_run_id, reason)


def known_run_ids(targets: Iterable[EngineTarget]) -> list[str]:
    return [t.flow_run_id for t in targets if t.flow_run_id]
