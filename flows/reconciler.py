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
missing / not found        start it (same idempotency key as the API: never two runs),
                           unless the request is younger than ``START_GRACE_S``: the API is
                           starting it
suspended, wait met        wake it (the fact it waits for was stated, but the wake was lost);
                           if Prefect refuses to resume it, put it back to Scheduled
suspended otherwise        leave it: it waits for its fact
scheduled                  leave it: a runner will pick it up
pending / running          leave it, unless it showed no sign of life (state change or
                           heartbeat) for ``stale_after_seconds`` (pending: a minute at most):
                           its process is gone (runner killed), so put it back to Scheduled
crashed                    put it back to Scheduled
completed                  put it back to Scheduled: it ended before its mentorship did
failed                     put it back to Scheduled ``FIRST_RETRY_AFTER_S`` after its first
                           failure, twice as long after each further failure in a row, at most
                           ``failed_retry_after_seconds`` (``retry_after``)
cancelled by a runner      put it back to Scheduled: Prefect's runner cancels the passes it
that shut down             is running when it gets SIGTERM (a restart, Ctrl-C on ``up``)
cancelled otherwise        leave it: an operator decided
=========================  ==================================================================

A pass reads from Prefect only the runs that may need something: the ones not suspended, and
the suspended ones whose wait is met. The rest, nearly all of them at idle, are counted to see
that none is missing (``tasks.engine.read_lifecycle_runs``).

A run is put back to Scheduled only if its state has not changed since it was read, and one
pass runs at a time (``tasks.engine.one_reconciler_pass``, a Prefect concurrency limit whose
lease ends a minute after a killed pass): a reschedule never pulls a run out of a runner that
has just started it. A pass that starts late still does its work: under load the runner's
slots are full of lifecycle runs and every tick starts late, and that is when the work is
needed most (an earlier version skipped late ticks, and runs of a killed runner waited
minutes). A backlog of ticks after an outage collapses by itself: one at a time, the deployment
cancels the others.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.exceptions import MissingContextError

from models.db import read_scope
from services import engine_state
from services.engine_state import RECONCILER_FLOW, EngineTarget
from tasks.engine import (
    IN_HAND,
    AnotherPassRunning,
    CannotResume,
    LifecycleRuns,
    RunView,
    known_run_ids,
    one_reconciler_pass,
    read_lifecycle_runs,
    read_target,
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
#: The API starts a run right after the request; the reconciler starts one only if that has
#: not happened within this time (under a burst, a pass that read "no run" a moment before the
#: API created it spent seconds per mentorship getting runs that already existed).
START_GRACE_S = 30
#: Resubmissions, starts, wakes and reschedules carried out at once: each is a call or a few
#: to Prefect, and one slow answer must not hold up the rest of the pass (one at a time, a
#: pass after a task worker died took 100 s resubmitting 50 mentorships' consequences).
ACTING_AT_ONCE = 4
#: A failed run is put back in line this long after its first failure in a row, twice as long
#: after each further one, up to ``failed_retry_after_s`` (ten minutes: a pass that fails the
#: same way each time must not run hot). Most failures are a dropped database connection or a
#: Prefect server that went away in the middle of a pass (the fault scenario,
#: tests/reliability); a pass is safe to repeat, so they are tried again at once. An earlier
#: version retried quickly only the failures it recognised by their message and waited ten
#: minutes on any other: each full-size fault run found one more message.
FIRST_RETRY_AFTER_S = 15


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
    resubmit_after_seconds: int = 30,
) -> dict[str, int]:
    """Resubmit overdue consequences and start, wake or reschedule lifecycle runs."""
    try:
        with one_reconciler_pass():
            return reconcile_once(stale_after_seconds, failed_retry_after_seconds, resubmit_after_seconds)
    except AnotherPassRunning:
        _logger().info("another pass is running; this one leaves the work to it")
        return {"skipped": 1}


def reconcile_once(
    stale_after_seconds: float, failed_retry_after_seconds: float, resubmit_after_seconds: float
) -> dict[str, int]:
    targets = read_engine_targets()
    now = datetime.now(UTC)
    overdue = [t for t in targets if consequences_overdue(t, now=now, after_s=resubmit_after_seconds)]
    unfinished = [t for t in targets if not t.run_finished]
    runs = read_lifecycle_runs(
        known_run_ids(unfinished),
        also_suspended=known_run_ids(t for t in unfinished if t.wait_met),
        look_closer_after_s=stale_after_seconds,
    )
    decided = [
        (
            target,
            run,
            decide(
                target,
                run,
                now=now,
                stale_after_s=stale_after_seconds,
                failed_retry_after_s=failed_retry_after_seconds,
            ),
        )
        for target, run in _with_runs(targets, runs)
    ]
    for target, _, decision in decided:
        if decision.act is not Act.NOTHING:
            _logger().info("mentorship %s: %s (%s)", target.mentorship_id, decision.act, decision.reason)
    with ThreadPoolExecutor(ACTING_AT_ONCE, thread_name_prefix="reconcile") as pool:
        done = Counter(pool.map(resubmit_consequences, overdue))
        done.update(pool.map(lambda d: carry_out_safely(*d), decided))
    return dict(done)


@task(name="read-engine-targets", cache_policy=NO_CACHE, persist_result=False)
def read_engine_targets() -> list[EngineTarget]:
    with read_scope() as session:
        return engine_state.engine_targets(session)


def consequences_overdue(target: EngineTarget, *, now: datetime, after_s: float) -> bool:
    """Unhandled events older than ``after_s``, and no handler at work on them: their handler
    was lost, or never submitted. (While a handler holds the mentorship's lease, a second one
    would only wait in the task workers' queue behind the rest, and under a burst such
    duplicates made the queue longer with every pass.)"""
    at = target.oldest_unhandled_at
    if not target.has_unhandled_events or at is None or (now - at).total_seconds() <= after_s:
        return False
    return target.handler_until is None or target.handler_until <= now


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
        if target.flow_run_id is not None:
            return Decision(Act.START, "run not found")
        if target.requested_at is not None and (now - target.requested_at).total_seconds() < START_GRACE_S:
            return Decision(Act.NOTHING, "just requested: the API is starting its run")
        return Decision(Act.START, "no run")
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
        wait = retry_after(run.failures_in_a_row, failed_retry_after_s)
        if (now - run.state_at).total_seconds() > wait:
            return Decision(Act.RESCHEDULE, f"failed {run.failures_in_a_row} time(s) in a row; trying again")
        return Decision(Act.NOTHING, f"failed; trying again {wait:.0f} s after the failure")
    return Decision(Act.NOTHING, f"{run.state_name.lower()}: left alone")  # scheduled, cancelled


def retry_after(failures_in_a_row: int, longest_s: float) -> float:
    """Seconds to wait after a run's latest failure: 15, 30, 60, … up to ``longest_s``."""
    return float(min(longest_s, FIRST_RETRY_AFTER_S * 2 ** max(0, failures_in_a_row - 1)))


def resubmit_consequences(target: EngineTarget) -> str:
    submitted = submit_consequences(target.mentorship_id)
    if submitted is None:
        return "failed"
    return "queued already" if submitted == IN_HAND else "resubmitted"


def carry_out_safely(target: EngineTarget, run: RunView | None, decision: Decision) -> str:
    """Carry out one decision; returns what was done, for the pass's summary."""
    try:
        carry_out(target, decision, run)
    except Exception:  # one mentorship's trouble must not hold up the others
        log.exception("mentorship %s: could not %s", target.mentorship_id, decision.act)
        return "failed"
    return decision.act.value


def carry_out(target: EngineTarget, decision: Decision, run: RunView | None) -> None:
    if decision.act is Act.START:
        if target.flow_run_id is None and _run_started_meanwhile(target.mentorship_id):
            return  # the API started it after this pass read the targets
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


def _with_runs(
    targets: list[EngineTarget], runs: LifecycleRuns
) -> Iterator[tuple[EngineTarget, RunView | None]]:
    """Each mentorship whose run may need something, with its run as Prefect has it (``None``:
    no run, or one Prefect does not know). Left out: runs finished with their mentorship, and
    suspended runs whose wait is not met (``read_lifecycle_runs`` does not read those)."""
    for target in targets:
        if target.run_finished:
            continue
        if target.flow_run_id is None or target.flow_run_id in runs.missing:
            yield target, None
        elif target.flow_run_id in runs.looked_at:
            yield target, runs.looked_at[target.flow_run_id]


def _run_started_meanwhile(mentorship_id: int) -> bool:
    now = read_target(mentorship_id)
    return now is None or now.flow_run_id is not None


def _logger() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    """The reconciler run's logger: its decisions show in the Prefect UI under its run."""
    try:
        return get_run_logger()
    except MissingContextError:
        return log
