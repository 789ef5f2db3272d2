"""The fast lane beside the real engine: a fact's consequences and stage moves happen while the
lifecycle run still sleeps, and the run, when it comes, shows them without doing them twice.

The runner is stopped in the first test so that only the lane can act: what happens then is
the lane's doing, with no timing involved. Latency itself is measured in
``benchmarks/wake_latency.py``.
"""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from prefect.client.schemas.objects import StateType
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from models import Achievement, Certificate, OutgoingEmail, Stage
from tests.engine.conftest import RunnerControl
from tests.engine.harness import Mailbox, Process, wait_until
from tests.engine.runs import flow_processes, mails_of, run_id_of, settle, started, state_of
from tests.engine.walk import Walk

pytestmark = [pytest.mark.engine, pytest.mark.xdist_group("engine")]


def mails_to(mailbox: Mailbox, walk: Walk, who: str, kind: str) -> list[EmailMessage]:
    return [
        m
        for m in mails_of(mailbox, walk)
        if f"{who}{walk.number}@" in str(m["To"]) and str(m["X-Mentorflow-Kind"]) == kind
    ]


def achievements(db: Engine, user_id: int, kind: str) -> int:
    with Session(db) as s:
        return len(
            s.scalars(
                select(Achievement).where(Achievement.user_id == user_id, Achievement.kind == kind)
            ).all()
        )


def each_mail_once(db: Engine, mailbox: Mailbox, walk: Walk) -> None:
    """Every outbox row of the pair went out, and the sink holds each exactly once."""
    with Session(db) as s:
        sent = s.scalars(
            select(OutgoingEmail.id).where(
                OutgoingEmail.mentorship_id == walk.mentorship_id, OutgoingEmail.sent_at.is_not(None)
            )
        ).all()
    wait_until(lambda: len(mails_of(mailbox, walk)) >= len(sent), timeout=30, what="mail")
    ids = [str(m["Message-ID"]) for m in mails_of(mailbox, walk)]
    assert len(ids) == len(set(ids)), "a mail went out twice"
    assert len(ids) == len(sent)


def test_an_approval_reaches_the_mentee_and_moves_the_stage_while_the_run_sleeps(
    fast_lane: Process, runner: RunnerControl, app_db: Engine, mailbox: Mailbox
) -> None:
    walk = started(Walk(app_db))
    walk.save_draft()
    walk.submit()
    settle(walk)
    run_id = run_id_of(walk)
    wait_until(lambda: not flow_processes(runner), timeout=15, what="the pass's process to exit")

    runner.stop()  # from here until the restart, only the fast lane can act
    try:
        walk.approve()  # the mentor approves; the API commits it and wakes the run

        wait_until(lambda: walk.mentorship().stage == Stage.ACTIVE, timeout=30, what="the stage move")
        wait_until(lambda: mails_to(mailbox, walk, "mentee", "agreement_approved"), timeout=30, what="mail")
        assert achievements(app_db, walk.mentee_id, "agreement_approved") == 1
        assert achievements(app_db, walk.mentor_id, "agreement_approved") == 1
        m = walk.mentorship()
        assert m.processed_seq == m.last_seq  # the approval and the stage change it caused
        assert m.shown_seq < m.last_seq  # …not yet shown by the run, which has not run
        assert state_of(run_id) == StateType.SCHEDULED  # woken by the API, waiting for a runner
    finally:
        runner.start()

    run = settle(walk)  # the run comes, finds the work done, shows it and suspends again
    assert str(run.id) == run_id
    assert "stage:active" in run.tags
    assert len(mails_to(mailbox, walk, "mentee", "agreement_approved")) == 1
    assert achievements(app_db, walk.mentee_id, "agreement_approved") == 1
    each_mail_once(app_db, mailbox, walk)


def test_lane_and_run_racing_through_a_whole_mentorship_do_everything_once(
    fast_lane: Process, runner: RunnerControl, app_db: Engine, mailbox: Mailbox
) -> None:
    """Facts come back to back while both the lane and the run handle them: every consequence
    exactly once, one certificate each, and the run completes."""
    walk = Walk(app_db)
    walk.request()
    walk.accept()
    walk.agree()
    for _ in range(3):
        walk.hold_meeting()
    walk.hold_meeting(is_final=True)

    wait_until(lambda: walk.mentorship().stage == Stage.COMPLETED, timeout=90, what="completion")
    run_id = run_id_of(walk)
    wait_until(lambda: state_of(run_id) == StateType.COMPLETED, timeout=90, what="the run completed")
    m = walk.mentorship()
    assert m.processed_seq == m.shown_seq == m.last_seq
    with Session(app_db) as s:
        holders = s.scalars(
            select(Certificate.user_id).where(Certificate.mentorship_id == walk.mentorship_id)
        )
        assert sorted(holders) == sorted([walk.mentee_id, walk.mentor_id])
    for user_id in (walk.mentee_id, walk.mentor_id):
        assert achievements(app_db, user_id, "meeting_held") == 4
        assert achievements(app_db, user_id, "mentorship_completed") == 1
    each_mail_once(app_db, mailbox, walk)
