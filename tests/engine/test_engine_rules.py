"""The engine's decisions as plain functions: no Prefect server needed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from prefect.client.schemas.objects import State
from prefect.states import Completed, Failed, Paused, Pending, Running, Scheduled

from flows.reconciler import Act, consequences_overdue, decide
from services.engine_state import EngineTarget, RunStatus, TimelineEntry, run_tags
from tasks.engine import RunView, after_fact, failures_in_a_row
from tasks.run_status import status_markdown, summary_line

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


def target(
    *,
    stage: str = "active",
    run_stage: str | None = "active",
    met: bool = False,
    unhandled: int = 0,
    run_id: str | None = "run-7",
    requested_ago: float = 3600,
) -> EngineTarget:
    """A mentorship whose run waits in ``run_stage``; ``met``: a fact met that wait."""
    return EngineTarget(
        mentorship_id=7,
        stage=stage,
        flow_run_id=run_id,
        run_stage=run_stage,
        wait_met=met,
        last_seq=5 + unhandled,
        processed_seq=5,
        oldest_unhandled_at=NOW - timedelta(seconds=60) if unhandled else None,
        requested_at=NOW - timedelta(seconds=requested_ago),
    )


def run(
    state: str, *, age: float = 1.0, silent: float | None = None, message: str = "", failures: int = 0
) -> RunView:
    at = NOW - timedelta(seconds=age)
    seen = NOW - timedelta(seconds=silent if silent is not None else age)
    return RunView("run-7", state, state.title(), at, seen, message, failures)


def act(t: EngineTarget, r: RunView | None) -> Act:
    return decide(t, r, now=NOW, stale_after_s=90, failed_retry_after_s=600).act


@pytest.mark.parametrize(
    ("the_target", "the_run", "expected"),
    [
        (target(), None, Act.START),
        (target(run_stage=None), None, Act.START),  # never waited yet
        (target(stage="requested", run_stage=None, run_id=None), None, Act.START),  # never started
        # just requested: the API is starting its run, a second start would only cost time
        (target(stage="requested", run_stage=None, run_id=None, requested_ago=5), None, Act.NOTHING),
        (target(stage="requested", run_stage=None, run_id=None, requested_ago=40), None, Act.START),
        (target(stage="completed", run_stage="completed"), None, Act.NOTHING),
        (target(stage="ended", run_stage="active", met=True), None, Act.START),
        (target(met=True), run("PAUSED"), Act.WAKE),
        (target(), run("PAUSED"), Act.NOTHING),  # waiting for its fact
        (target(unhandled=3), run("PAUSED"), Act.NOTHING),  # consequences are not the run's
        (target(met=True), run("SCHEDULED", age=600), Act.NOTHING),
        (target(run_stage=None), run("RUNNING", age=30), Act.NOTHING),
        (target(run_stage=None), run("RUNNING", age=600, silent=20), Act.NOTHING),  # heartbeats
        (target(run_stage=None), run("RUNNING", age=600), Act.RESCHEDULE),
        (target(run_stage=None), run("PENDING", age=120), Act.RESCHEDULE),
        (target(run_stage=None), run("PENDING", age=50), Act.NOTHING),
        (target(run_stage=None), run("PENDING", age=70), Act.RESCHEDULE),  # a minute at most
        (target(), run("CRASHED"), Act.RESCHEDULE),
        (target(stage="completed", run_stage="completed"), run("CRASHED"), Act.NOTHING),
        (target(stage="completed", run_stage="closing", met=True), run("COMPLETED"), Act.RESCHEDULE),
        (target(stage="completed", run_stage="completed"), run("COMPLETED"), Act.NOTHING),
        # a failed pass is tried again soon, and less often the more it fails in a row
        (target(), run("FAILED", age=5, failures=1), Act.NOTHING),
        (target(), run("FAILED", age=20, failures=1), Act.RESCHEDULE),
        (target(), run("FAILED", age=20, failures=2), Act.NOTHING),
        (target(), run("FAILED", age=40, failures=2), Act.RESCHEDULE),
        (target(), run("FAILED", age=500, failures=7), Act.NOTHING),
        (target(), run("FAILED", age=601, failures=30), Act.RESCHEDULE),  # ten minutes at most
        (target(stage="completed", run_stage="completed"), run("FAILED", age=3600, failures=1), Act.NOTHING),
        (target(met=True), run("CANCELLED"), Act.NOTHING),  # an operator's decision
        (target(), run("CANCELLED", message="Runner is shutting down."), Act.RESCHEDULE),
        (
            target(stage="completed", run_stage="completed"),
            run("CANCELLED", message="Runner is shutting down."),
            Act.NOTHING,
        ),
    ],
)
def test_the_reconciler_decides_by_stage_events_and_run_state(
    the_target: EngineTarget, the_run: RunView | None, expected: Act
) -> None:
    assert act(the_target, the_run) == expected


def test_a_run_counts_its_failures_since_its_last_pass_that_went_well() -> None:
    """As Prefect keeps a run's states: each pass is Scheduled, Pending, Running and then
    Paused (it waits again), Completed, or Failed; the reconciler's reschedule starts the next."""

    def history(*kinds: Callable[[], State]) -> list[State]:
        states = [kind() for kind in (Scheduled, Pending, Running, Paused, *kinds)]
        for n, state in enumerate(states):
            state.timestamp = NOW + timedelta(seconds=n)
        return list(reversed(states))  # the order Prefect answers in must not matter

    assert failures_in_a_row(history(Scheduled, Running, Failed)) == 1
    assert failures_in_a_row(history(Scheduled, Running, Failed, Scheduled, Running, Failed)) == 2
    assert failures_in_a_row(history(Running, Failed, Scheduled, Running, Paused)) == 0
    assert failures_in_a_row(history(Running, Failed, Scheduled, Running, Paused, Running, Failed)) == 1
    assert failures_in_a_row(history(Running, Completed, Scheduled, Running, Failed)) == 1


def test_the_reconciler_resubmits_consequences_only_when_overdue() -> None:
    assert consequences_overdue(target(unhandled=2), now=NOW, after_s=30)
    assert not consequences_overdue(target(unhandled=2), now=NOW, after_s=120)
    assert not consequences_overdue(target(), now=NOW, after_s=0)
    busy = replace(target(unhandled=2), handler_until=NOW + timedelta(seconds=10))
    assert not consequences_overdue(busy, now=NOW, after_s=30)  # a handler is at work on them
    lapsed = replace(busy, handler_until=NOW - timedelta(seconds=1))
    assert consequences_overdue(lapsed, now=NOW, after_s=30)  # its worker died with the lease


def status() -> RunStatus:
    return RunStatus(
        mentorship_id=7,
        stage="active",
        mentee="Mia",
        mentor="Max",
        waiting_for={"who": "mentor", "what": "approve agreement v2"},
        timeline=(
            TimelineEntry(8, "agreement.submitted", NOW, "Mia"),
            TimelineEntry(9, "stage.changed", NOW, None),
        ),
    )


def test_operators_see_stage_waiting_for_and_timeline() -> None:
    markdown = status_markdown(status())

    assert "Mentorship 7: Mia ↔ Max" in markdown
    assert "| **stage** | `active` |" in markdown
    assert "mentor: approve agreement v2" in markdown
    assert "| 9 | 2026-05-04 12:00 | `stage.changed` | system |" in markdown
    # no count of handled events: the artifact is a snapshot of the run's last step, and a
    # finished run's last step comes before the consequences of its final events are handled
    assert "handled" not in markdown
    assert summary_line(status()) == "active · waiting for mentor: approve agreement v2"


def test_run_tags_name_the_mentorship_its_stage_and_who_must_act() -> None:
    assert run_tags(status()) == [
        "mentorflow",
        "mentorship-7",
        "mentorship-lifecycle",
        "stage:active",
        "waiting:mentor",
    ]


def test_the_engine_can_be_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MENTORFLOW_ENGINE", "off")

    assert after_fact(7) is None
