"""The engine's decisions as plain functions: no Prefect server needed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from api.engine import notify_engine
from flows.reconciler import Act, decide
from flows.wake import wait_key
from services.engine_state import EngineTarget, RunStatus, TimelineEntry
from tasks.engine import RunView
from tasks.run_status import run_tags, status_markdown, summary_line

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


def target(
    *, stage: str = "active", last: int = 5, processed: int = 5, shown: int | None = None
) -> EngineTarget:
    """``processed`` below ``last``: events wait. ``shown`` defaults to ``processed``: the run
    showed what was handled; a ``shown`` below it means the fast lane handled events since."""
    return EngineTarget(
        mentorship_id=7,
        stage=stage,
        flow_run_id="run-7",
        last_seq=last,
        processed_seq=processed,
        shown_seq=processed if shown is None else shown,
    )


def run(state: str, *, age: float = 1.0, silent: float | None = None, message: str = "") -> RunView:
    at = NOW - timedelta(seconds=age)
    seen = NOW - timedelta(seconds=silent if silent is not None else age)
    return RunView("run-7", state, state.title(), state_at=at, last_seen=seen, state_message=message)


def act(t: EngineTarget, r: RunView | None) -> Act:
    return decide(t, r, now=NOW, stale_after_s=90, failed_retry_after_s=600).act


@pytest.mark.parametrize(
    ("the_target", "the_run", "expected"),
    [
        (target(), None, Act.START),
        (target(stage="completed"), None, Act.NOTHING),
        (target(stage="completed", processed=4), None, Act.START),
        (target(processed=4), run("PAUSED"), Act.WAKE),
        (target(shown=4), run("PAUSED"), Act.WAKE),  # handled by the fast lane, not shown yet
        (target(), run("PAUSED"), Act.NOTHING),
        (target(processed=4), run("SCHEDULED", age=600), Act.NOTHING),
        (target(processed=4), run("RUNNING", age=30), Act.NOTHING),
        (target(processed=4), run("RUNNING", age=600, silent=20), Act.NOTHING),  # heartbeats
        (target(processed=4), run("RUNNING", age=600), Act.RESCHEDULE),
        (target(processed=4), run("PENDING", age=120), Act.RESCHEDULE),
        (target(), run("CRASHED"), Act.RESCHEDULE),
        (target(stage="completed"), run("CRASHED"), Act.NOTHING),
        (target(stage="completed", processed=4), run("COMPLETED"), Act.RESCHEDULE),
        (target(stage="completed", shown=4), run("COMPLETED"), Act.RESCHEDULE),  # late feedback
        (target(stage="completed", shown=4), None, Act.START),
        (target(stage="completed"), run("COMPLETED"), Act.NOTHING),
        (target(), run("FAILED", age=60), Act.NOTHING),
        (target(), run("FAILED", age=3600), Act.RESCHEDULE),
        (target(processed=4), run("CANCELLED"), Act.NOTHING),  # an operator's decision
        (target(), run("CANCELLED", message="Runner is shutting down."), Act.RESCHEDULE),
        (target(stage="completed"), run("CANCELLED", message="Runner is shutting down."), Act.NOTHING),
    ],
)
def test_the_reconciler_decides_by_stage_events_and_run_state(
    the_target: EngineTarget, the_run: RunView | None, expected: Act
) -> None:
    assert act(the_target, the_run) == expected


def test_a_wait_never_reuses_a_key_that_already_fired() -> None:
    assert wait_key(12, set()) == "after-12"
    assert wait_key(12, {"after-11"}) == "after-12"
    assert wait_key(12, {"after-12"}) == "after-12.2"
    assert wait_key(12, {"after-12", "after-12.2"}) == "after-12.3"


def status() -> RunStatus:
    return RunStatus(
        mentorship_id=7,
        stage="active",
        mentee="Mia",
        mentor="Max",
        waiting_for={"who": "mentor", "what": "approve agreement v2"},
        last_seq=9,
        processed_seq=9,
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
    assert summary_line(status()) == "active · waiting for mentor: approve agreement v2"


def test_run_tags_follow_the_stage_and_keep_other_tags() -> None:
    tags = run_tags(status(), ["mentorflow", "stage:intro", "waiting:mentee"])

    assert tags == ["mentorflow", "mentorship-lifecycle", "stage:active", "waiting:mentor"]


def test_the_engine_can_be_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MENTORFLOW_ENGINE", "off")

    assert notify_engine(7) is None
