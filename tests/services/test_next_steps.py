"""Each mentorship's stored next step (``services.next_steps``) is what ``waiting_for`` says:
after every kind of fact, after the clock passes a meeting's start, and for rows never filled."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, update
from sqlalchemy.orm import Session

from models import Fit, Mentorship, Survey, User
from services import agreements, lifecycle, listing, meetings, mentorships, next_steps, progress, surveys
from services.lifecycle import Fact
from services.meetings import MeetingMove, MeetingPlan
from services.next_steps import NextStep
from services.sweeps import expire_request
from tests.support import TERMS, Clock, Journey, People


def stored(db: Engine, mentorship_id: int) -> NextStep:
    with Session(db) as s:
        return next_steps.stored_step(s.get_one(Mentorship, mentorship_id))


def check(db: Engine, clock: Clock, mentorship_id: int, who: str | None, action: str | None) -> NextStep:
    """The stored step is ``waiting_for`` on a full snapshot now, and waits for ``who`` to
    do ``action``."""
    with Session(db) as s:
        m = s.get_one(Mentorship, mentorship_id)
        now_said = next_steps.step_of(progress.snapshot(s, m), clock.now)
    found = stored(db, mentorship_id)
    assert found == now_said
    assert (found.who, found.action) == (who, action)
    return found


class Pair:
    """One mentorship driven through the services, a committed transaction per fact."""

    def __init__(self, db: Engine, clock: Clock, journey: Journey) -> None:
        self.db, self.clock, self.id = db, clock, journey.mentorship_id
        self.mentee_id, self.mentor_id = journey.mentee_id, journey.mentor_id

    def act(self, side: str, fact: Callable[[Session, User], object]) -> object:
        with Session(self.db, expire_on_commit=False) as s:
            result = fact(s, s.get_one(User, self.mentee_id if side == "mentee" else self.mentor_id))
            s.commit()
            return result

    def propose(self, days: float, *, is_final: bool = False) -> int:
        plan = MeetingPlan(
            starts_at=self.clock.now + timedelta(days=days),
            duration_minutes=60,
            mode="video",
            is_final=is_final,
        )
        meeting = self.act("mentee", lambda s, u: meetings.propose(s, u, self.id, plan, now=self.clock.now))
        return int(meeting.id)  # type: ignore[attr-defined]

    def attend(self, meeting_id: int) -> None:
        for side in ("mentee", "mentor"):
            self.act(
                side,
                lambda s, u: meetings.record_attendance(s, u, meeting_id, attended=True, now=self.clock.now),
            )


@pytest.fixture
def pair(db: Engine, clock: Clock, people: People) -> Pair:
    return Pair(db, clock, Journey(db, clock, people.mentee(), people.mentor()).request())


def test_the_stored_step_follows_every_kind_of_fact(db: Engine, clock: Clock, pair: Pair) -> None:
    def now() -> datetime:
        return clock.now

    step = check(db, clock, pair.id, "mentor", "answer_request")
    assert (step.since, step.overdue_at, step.changes_at) == (now(), now() + progress.OVERDUE_AFTER, None)
    pair.act("mentor", lambda s, u: mentorships.decide(s, u, pair.id, Fact.ACCEPT, now=now()))
    check(db, clock, pair.id, "mentee", "propose_intro_meeting")

    declined = pair.propose(days=2)
    step = check(db, clock, pair.id, "mentor", "confirm_meeting")
    assert step.changes_at == now() + timedelta(days=2)
    pair.act("mentor", lambda s, u: meetings.decline(s, u, declined, reason="busy", now=now()))
    check(db, clock, pair.id, "mentee", "propose_intro_meeting")
    cancelled = pair.propose(days=2)
    pair.act("mentee", lambda s, u: meetings.cancel(s, u, cancelled, reason="ill", now=now()))
    check(db, clock, pair.id, "mentee", "propose_intro_meeting")

    intro = pair.propose(days=2)
    pair.act("mentor", lambda s, u: meetings.confirm(s, u, intro, now=now()))
    step = check(db, clock, pair.id, "both", "meet")
    assert (step.overdue_at, step.changes_at) == (None, now() + timedelta(days=2))
    later = MeetingMove(starts_at=now() + timedelta(days=3))
    pair.act("mentee", lambda s, u: meetings.reschedule(s, u, intro, later, now=now()))
    step = check(db, clock, pair.id, "mentor", "confirm_meeting")  # the mentee's move asks the mentor again
    assert step.changes_at == now() + timedelta(days=3)
    pair.act("mentor", lambda s, u: meetings.confirm(s, u, intro, now=now()))
    check(db, clock, pair.id, "both", "meet")

    clock.advance(days=3, minutes=5)  # the meeting started: only the clock changed
    started = now() - timedelta(minutes=5)
    pair.act("mentee", lambda s, u: meetings.record_attendance(s, u, intro, attended=True, now=now()))
    step = check(db, clock, pair.id, "mentor", "confirm_attendance")
    assert (step.since, step.changes_at) == (started, None)
    pair.act("mentor", lambda s, u: meetings.record_attendance(s, u, intro, attended=True, now=now()))
    check(db, clock, pair.id, "mentee", "submit_agreement")  # held
    pair.act("mentee", lambda s, u: meetings.give_feedback(s, u, intro, rating=4, comment="", now=now()))
    pair.act(
        "mentee",
        lambda s, u: surveys.answer(s, u, pair.id, Survey.FIT, surveys.Answer(fit=Fit.YES), now=now()),
    )
    check(db, clock, pair.id, "mentee", "submit_agreement")

    terms = agreements.AgreementTerms(**TERMS)
    clock.advance(hours=1)
    pair.act("mentee", lambda s, u: agreements.save_draft(s, u, pair.id, terms, now=now()))
    assert check(db, clock, pair.id, "mentee", "submit_agreement").since == now()  # its last activity
    pair.act("mentee", lambda s, u: agreements.submit(s, u, pair.id, now=now()))
    check(db, clock, pair.id, "mentor", "approve_agreement")
    pair.act(
        "mentor",
        lambda s, u: agreements.decide(s, u, pair.id, number=1, approve=False, reason="no", now=now()),
    )
    check(db, clock, pair.id, "mentee", "submit_agreement")
    pair.act("mentee", lambda s, u: agreements.save_draft(s, u, pair.id, terms, now=now()))
    pair.act("mentee", lambda s, u: agreements.submit(s, u, pair.id, now=now()))
    pair.act("mentor", lambda s, u: agreements.decide(s, u, pair.id, number=2, approve=True, now=now()))
    step = check(db, clock, pair.id, "system", "activate")
    assert step.overdue_at == now() + progress.SYSTEM_OVERDUE_AFTER

    with Session(db) as s:  # the stage move the lifecycle flow makes
        assert lifecycle.activate(s, pair.id, now=now())
        s.commit()
    check(db, clock, pair.id, "mentee", "propose_meeting")
    final = pair.propose(days=1, is_final=True)
    pair.act("mentor", lambda s, u: meetings.confirm(s, u, final, now=now()))
    clock.advance(days=1, minutes=1)
    pair.attend(final)
    check(db, clock, pair.id, "system", "issue_certificates")
    with Session(db) as s:
        assert lifecycle.begin_closing(s, pair.id, now=now())
        s.commit()
    check(db, clock, pair.id, "system", "issue_certificates")


@pytest.mark.parametrize("fact", [Fact.DECLINE, Fact.WITHDRAW, Fact.END, "expired"])
def test_a_finished_mentorship_waits_for_nobody(
    db: Engine, clock: Clock, pair: Pair, fact: Fact | str
) -> None:
    if fact is Fact.END:
        pair.act("mentor", lambda s, u: mentorships.decide(s, u, pair.id, Fact.ACCEPT, now=clock.now))
        pair.propose(days=2)  # a live meeting no longer changes anything once it ended
    if fact == "expired":
        clock.advance(days=30)
        with Session(db) as s:
            assert expire_request(s, pair.id, now=clock.now, request_expiry=timedelta(days=14)) is not None
            s.commit()
    else:
        side = "mentee" if fact is Fact.WITHDRAW else "mentor"
        pair.act(side, lambda s, u: mentorships.decide(s, u, pair.id, Fact(fact), reason="x", now=clock.now))
    assert check(db, clock, pair.id, None, None) == next_steps.NOBODY


def _filtered(db: Engine, clock: Clock, **filters: object) -> list[int]:
    with Session(db) as s:
        found = listing.list_mentorships(s, now=clock.now, filters=listing.Filters(**filters), limit=None)  # type: ignore[arg-type]
        return [row.mentorship.id for row in found.rows]


def test_reads_see_what_the_clock_changed_and_the_sweep_stores_it(
    db: Engine, clock: Clock, pair: Pair
) -> None:
    pair.act("mentor", lambda s, u: mentorships.decide(s, u, pair.id, Fact.ACCEPT, now=clock.now))
    meeting = pair.propose(days=1)
    pair.act("mentor", lambda s, u: meetings.confirm(s, u, meeting, now=clock.now))
    assert _filtered(db, clock, waiting_for="meet") == [pair.id]
    assert _filtered(db, clock, waiting_for="both") == [pair.id]

    clock.advance(days=1)  # starts now: no fact, but it waits for both to say they took part
    assert _filtered(db, clock, waiting_for="confirm_attendance") == [pair.id]
    assert _filtered(db, clock, waiting_for="meet") == []
    assert stored(db, pair.id).action == "meet"  # a read does not commit what it worked out
    clock.advance(days=3, seconds=1)
    assert _filtered(db, clock, overdue=True) == [pair.id]

    with Session(db) as s:
        assert next_steps.refresh_stale(s, now=clock.now) == 1
        s.commit()
    check(db, clock, pair.id, "both", "confirm_attendance")
    with Session(db) as s:
        assert next_steps.refresh_stale(s, now=clock.now) == 0  # nothing stale any more


def test_a_row_never_filled_is_worked_out(db: Engine, clock: Clock, people: People, pair: Pair) -> None:
    """As after migration 0017: every next-step column NULL."""
    clock.advance(hours=1)
    other = Journey(db, clock, people.mentee(), people.mentor()).request().accept()
    with Session(db) as s:
        s.execute(update(Mentorship).values(next_who=None, next_action=None, next_since=None))
        s.commit()
    assert _filtered(db, clock, waiting_for="mentor") == [pair.id]
    assert _filtered(db, clock, waiting_for="propose_intro_meeting") == [other.mentorship_id]
    clock.advance(days=4)
    assert _filtered(db, clock, overdue=True) == [other.mentorship_id, pair.id]  # newest first
    with Session(db) as s:
        late = listing.stuck(s, now=clock.now)
        assert [r.mentorship.id for r in late.rows] == [pair.id, other.mentorship_id]  # longest first
    with Session(db) as s:  # the reads did not commit: the sweep stores them
        assert next_steps.refresh_stale(s, now=clock.now) == 2
        s.commit()
    check(db, clock, pair.id, "mentor", "answer_request")
    check(db, clock, other.mentorship_id, "mentee", "propose_intro_meeting")


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_the_filtered_list_takes_as_many_statements_for_many_stale_rows_as_for_one(
    db: Engine, clock: Clock, people: People
) -> None:
    def started_meetings(n: int) -> None:
        for _ in range(n):
            Journey(db, clock, people.mentee(), people.mentor()).request().accept().confirm_meeting()

    def statements() -> int:
        found: list[str] = []

        def listen(*args: Any) -> None:
            found.append(args[2])

        event.listen(db, "before_cursor_execute", listen)
        try:
            assert len(_filtered(db, clock, waiting_for="both")) == len(stale)
        finally:
            event.remove(db, "before_cursor_execute", listen)
        return len(found)

    started_meetings(1)
    clock.advance(days=1, minutes=1)
    stale = [1]
    few = statements()
    started_meetings(8)
    clock.advance(days=1, minutes=1)
    stale = [1] * 9
    assert statements() == few
