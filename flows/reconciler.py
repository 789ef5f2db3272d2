"""The reconciler: every minute, make sure each mentorship's lifecycle run can make progress.

Nothing is lost when the engine was slow or down (DESIGN rule 3): the API wakes runs best
effort, and this flow catches up on whatever that missed.

=========================  ==================================================================
the run is …               then
=========================  ==================================================================
missing / not found        start it (same idempotency key as the API: never two runs)
suspended, run behind      wake it (events it has not shown yet, handled or not)
scheduled                  leave it: a runner will pick it up
pending / running          leave it, unless it showed no sign of life (state change or
                           heartbeat) for ``stale_after_seconds``: its process is gone
                           (runner killed), so put it back to Scheduled
crashed                    put it back to Scheduled
completed, run behind      put it back to Scheduled (events after the end, e.g. late feedback)
failed                     put it back to Scheduled, at most every ``failed_retry_after_seconds``
cancelled by a runner      put it back to Scheduled: Prefect's runner cancels the passes it
that shut down             is running when it gets SIGTERM (a restart, Ctrl-C on ``up``)
cancelled otherwise        leave it: an operator decided
=========================  ==================================================================

Only mentorships that are open or whose run is behind the event log are looked at.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from prefect import flow
from prefect.runtime import flow_run

from services.engine_state import RECONCILER_FLOW, EngineTarget
from tasks.engine import (
    RunView,
    known_run_ids,
    read_engine_targets,
    read_lifecycle_runs,
    reschedule_lifecycle_run,
    start_lifecycle_run,
    wake_lifecycle_run,
)

log = logging.getLogger(__name__)


#: The message of the Cancelled state Prefect's runner gives the runs it was executing when it
#: was stopped ("Runner is shutting down.").
RUNNER_SHUTDOWN = "runner is shutting down"


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
) -> dict[str, int]:
    """Start, wake or reschedule lifecycle runs so every mentorship's events get handled."""
    if _started_late(max_lateness_seconds):
        return {}  # a backlog of missed ticks after an outage: the on-time tick does the work
    targets = read_engine_targets()
    runs = read_lifecycle_runs(known_run_ids(targets), look_closer_after_s=stale_after_seconds)
    now = datetime.now(UTC)
    done: Counter[str] = Counter()
    for target in targets:
        run = runs.get(target.flow_run_id) if target.flow_run_id else None
        decision = decide(
            target,
            run,
            now=now,
            stale_after_s=stale_after_seconds,
            failed_retry_after_s=failed_retry_after_seconds,
        )
        try:
            carry_out(target, decision)
        except Exception:  # one mentorship's trouble must not hold up the others
            log.exception("mentorship %s: could not %s", target.mentorship_id, decision.act)
            done["failed"] += 1
            continue
        done[decision.act.value] += 1
    return dict(done)


def decide(
    target: EngineTarget,
    run: RunView | None,
    *,
    now: datetime,
    stale_after_s: float,
    failed_retry_after_s: float,
) -> Decision:
    """What to do about one mentorship's run (pure: the table in the module docstring)."""
    if not (target.is_open or target.run_is_behind):
        return Decision(Act.NOTHING, "finished, every event shown")
    if run is None:
        return Decision(Act.START, "no run" if target.flow_run_id is None else "run not found")
    state = run.state_type
    if state == "PAUSED":
        if target.run_is_behind:
            return Decision(Act.WAKE, f"events {target.shown_seq + 1}–{target.last_seq} not shown yet")
        return Decision(Act.NOTHING, "waiting for the next event")
    if state in ("PENDING", "RUNNING"):
        silent = (now - run.last_seen).total_seconds()
        if silent > stale_after_s:
            return Decision(Act.RESCHEDULE, f"{state.lower()} without a sign of life for {silent:.0f} s")
        return Decision(Act.NOTHING, "working")
    if state == "CRASHED":
        return Decision(Act.RESCHEDULE, "crashed")
    if state == "COMPLETED":
        return Decision(Act.RESCHEDULE, "completed, but the mentorship still needs it")
    if state == "CANCELLED" and RUNNER_SHUTDOWN in run.state_message.lower():
        return Decision(Act.RESCHEDULE, "cancelled by a runner that shut down")
    if state == "FAILED":
        if (now - run.state_at).total_seconds() > failed_retry_after_s:
            return Decision(Act.RESCHEDULE, "failed; trying again")
        return Decision(Act.NOTHING, "failed recently")
    return Decision(Act.NOTHING, f"{run.state_name.lower()}: left alone")  # scheduled, cancelled


def carry_out(target: EngineTarget, decision: Decision) -> None:
    if decision.act is Act.NOTHING:
        return
    log.info("mentorship %s: %s (%s)", target.mentorship_id, decision.act, decision.reason)
    if decision.act is Act.START:
        start_lifecycle_run(target.mentorship_id)
    elif decision.act is Act.WAKE and target.flow_run_id:
        wake_lifecycle_run(target.flow_run_id, target.last_seq)
    elif decision.act is Act.RESCHEDULE and target.flow_run_id:
        reschedule_lifecycle_run(target.flow_run_id, decision.reason)


def _started_late(max_lateness_s: int) -> bool:
    scheduled: datetime = flow_run.scheduled_start_time
    lateness = (datetime.now(UTC) - scheduled).total_seconds()
    return lateness > max_lateness_s
