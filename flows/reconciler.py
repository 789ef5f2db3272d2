"""The reconciler: every minute, make sure each mentorship's engine work can go on.

Nothing is lost when the engine was slow or down (DESIGN rule 4): the API submits
consequences and wakes runs best effort, and this flow catches up on whatever that missed.

Consequences: a mentorship whose oldest unhandled event is older than ``resubmit_after_seconds``
gets its ``handle-events`` task submitted again (Prefect down, a task worker killed mid-task;
a duplicate is harmless, see ``services.handling``).

Runs, for every mentorship whose run has not finished with it:

=========================  ==================================================================
the run is …               then
=========================  ==================================================================
missing / not found        start it (same idempotency key as the API: never two runs)
suspended, wait met        wake it (the fact it waits for was stated, but the wake was lost);
                           if Prefect refuses to resume it, put it back to Scheduled
suspended otherwise        leave it: it waits for its fact
scheduled                  leave it: a runner will pick it up
pending / running          leave it, unless it showed no sign of life (state change or
                           heartbeat) for ``stale_after_seconds`` (pending: a minute at most):
                           its process is gone (runner killed), so put it back to Scheduled
crashed                    put it back to Scheduled
completed                  put it back to Scheduled: it ended before its mentorship did
failed                     put it back to Scheduled, at most every ``failed_retry_after_seconds``
cancelled by a runner      put it back to Scheduled: Prefect's runner cancels the passes it
that shut down             is running when it gets SIGTERM (a restart, Ctrl-C on ``up``)
cancelled otherwise        leave it: an operator decided
=========================  ==================================================================

A run is put back to Scheduled only if its state has not changed since it was read, and the
deployment runs one reconciler at a time: a reschedule never pulls a run out of a runner that
has just started it.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.exceptions import MissingContextError
from prefect.runtime import flow_run

from models.db import read_scope
from services import engine_state
from services.engine_state import RECONCILER_FLOW, EngineTarget
from tasks.engine import (
    CannotResume,
    RunView,
    known_run_ids,
    read_lifecycle_runs,
    reschedule_lifecycle_run,
    start_lifecycle_run,
    submit_consequences,
    wake_lifecycle_run,
)

log = logging.getLogger(__name__)


#: The message of the Cancelled state Prefect's runner gives the runs it was executing when it
#: was stopped ("Runner is shutting down.").
RUNNER_SHUTDOWN = "runner is shutting down"
#: A runner marks a run Pending right before it starts its process (forked in milliseconds);
#: a run Pending this long lost its runner. Running runs send heartbeats; Pending ones do not.
PENDING_STALE_AFTER_S = 60


class Act(StrEnum):
    NOTHING = "nothing"
    START = "start"
    WAKE = "wake"
    RESCHEDULE = "reschedule"


@dataclass(frozen=True)
class Decision:
    act: Act
    reason: str


@flow(name=RECONCILER_FLOW)
def reconcile(
    stale_after_seconds: int = 90,
    failed_retry_after_seconds: int = 600,
    max_lateness_seconds: int = 120,
    resubmit_after_seconds: int = 30,
) -> dict[str, int]:
    """Resubmit overdue consequences and start, wake or reschedule lifecycle runs."""
    if _started_late(max_lateness_seconds):
        return {}  # a backlog of missed ticks after an outage: the on-time tick does the work
    targets = read_engine_targets()
    now = datetime.now(UTC)
    done: Counter[str] = Counter()
    for target in targets:
        if consequences_overdue(target, now=now, after_s=resubmit_after_seconds):
            done["resubmitted" if submit_consequences(target.mentorship_id) else "failed"] += 1
    runs = read_lifecycle_runs(
        known_run_ids(t for t in targets if not t.run_finished), look_closer_after_s=stale_after_seconds
    )
    for target in targets:
        if target.run_finished:
            continue
        run = runs.get(target.flow_run_id) if target.flow_run_id else None
        decision = decide(
            target,
            run,
            now=now,
            stale_after_s=stale_after_seconds,
            failed_retry_after_s=failed_retry_after_seconds,
        )
        try:
            carry_out(target, decision, run)
        except Exception:  # one mentorship's trouble must not hold up the others
            log.exception("mentorship %s: could not %s", target.mentorship_id, decision.act)
            done["failed"] += 1
            continue
        done[decision.act.value] += 1
    return dict(done)


@task(name="read-engine-targets", cache_policy=NO_CACHE, persist_result=False)
def read_engine_targets() -> list[EngineTarget]:
    with read_scope() as session:
        return engine_state.engine_targets(session)


def consequences_overdue(target: EngineTarget, *, now: datetime, after_s: float) -> bool:
    """Unhandled events older than ``after_s``: their handler was lost, or never submitted."""
    at = target.oldest_unhandled_at
    return target.has_unhandled_events and at is not None and (now - at).total_seconds() > after_s


def decide(
    target: EngineTarget,
    run: RunView | None,
    *,
    now: datetime,
    stale_after_s: float,
    failed_retry_after_s: float,
) -> Decision:
    """What to do about one mentorship's run (pure: the table in the module docstring)."""
    if target.run_finished:
        return Decision(Act.NOTHING, "finished with its mentorship")
    if run is None:
        return Decision(Act.START, "no run" if target.flow_run_id is None else "run not found")
    state = run.state_type
    if state == "PAUSED":
        if target.wait_met:
            return Decision(Act.WAKE, f"its wait in {target.run_stage} is met ({target.stage} now)")
        return Decision(Act.NOTHING, f"waiting in {target.run_stage}")
    if state in ("PENDING", "RUNNING"):
        silent = (now - run.last_seen).total_seconds()
        if silent > (min(stale_after_s, PENDING_STALE_AFTER_S) if state == "PENDING" else stale_after_s):
            return Decision(Act.RESCHEDULE, f"{state.lower()} without a sign of life for {silent:.0f} s")
        return Decision(Act.NOTHING, "working")
    if state == "CRASHED":
        return Decision(Act.RESCHEDULE, "crashed")
    if state == "COMPLETED":
        return Decision(Act.RESCHEDULE, "completed before its mentorship")
    if state == "CANCELLED" and RUNNER_SHUTDOWN in run.state_message.lower():
        return Decision(Act.RESCHEDULE, "cancelled by a runner that shut down")
    if state == "FAILED":
        if (now - run.state_at).total_seconds() > failed_retry_after_s:
            return Decision(Act.RESCHEDULE, "failed; trying again")
        return Decision(Act.NOTHING, "failed recently")
    return Decision(Act.NOTHING, f"{run.state_name.lower()}: left alone")  # scheduled, cancelled


def carry_out(target: EngineTarget, decision: Decision, run: RunView | None) -> None:
    if decision.act is Act.NOTHING:
        return
    _logger().info("mentorship %s: %s (%s)", target.mentorship_id, decision.act, decision.reason)
    if decision.act is Act.START:
        start_lifecycle_run(target.mentorship_id)
    elif decision.act is Act.WAKE:
        # one try: a run that is not suspended yet is looked at again on the next tick, and a
        # pass over many mentorships must not wait seconds on each
        try:
            wake_lifecycle_run(target.mentorship_id, retry_delays=())
        except CannotResume as refused:
            if target.flow_run_id and run is not None:
                reason = f"suspended, but cannot be resumed ({refused})"
                reschedule_lifecycle_run(target.flow_run_id, reason, unless_changed_since=run.state_at)
    elif decision.act is Act.RESCHEDULE and target.flow_run_id and run is not None:
        reschedule_lifecycle_run(target.flow_run_id, decision.reason, unless_changed_since=run.state_at)


def _logger() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    """The reconciler run's logger: its decisions show in the Prefect UI under its run."""
    try:
        return get_run_logger()
    except MissingContextError:
        return log


def _started_late(max_lateness_s: int) -> bool:
    scheduled: datetime = flow_run.scheduled_start_time
    lateness = (datetime.now(UTC) - scheduled).total_seconds()
    return lateness > max_lateness_s
