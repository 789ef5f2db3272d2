"""The rules that need the database: meetings, agreements, stage moves, and the event log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from models import Event, Meeting, MeetingStatus, Mentorship, Stage, User
from services import agreements, meetings, progress
from services.agreements import AgreementTerms
from services.errors import Conflict
from services.events import pending_events
from services.lifecycle import activate, begin_closing, complete
from services.meetings import MeetingPlan
from tests.support import TERMS, Clock, Journey, People


@pytest.fixture
def journey(db: Engine, clock: Clock, people: People) -> Journey:
    return Journey(db, clock, people.mentee(), people.mentor()).request().accept()


def event_count(engine: Engine, mentorship_id: int) -> int:
    with Session(engine) as s:
        return s.scalar(select(func.count()).where(Event.mentorship_id == mentorship_id)) or 0


def user(s: Session, user_id: int) -> User:
    return s.get_one(User, user_id)


def test_a_refused_fact_writes_nothing(db: Engine, journey: Journey, clock: Clock) -> None:
    before = event_count(db, journey.mentorship_id)
    plan = MeetingPlan(starts_at=clock.now - timedelta(minutes=1), duration_minutes=30, mode="video")
    with Session(db) as s:
        mentee = user(s, journey.mentee_id)
        with pytest.raises(Conflict, match="in the future"):
            meetings.propose(s, mentee, journey.mentorship_id, plan, now=clock.now)
    assert event_count(db, journey.mentorship_id) == before
    with Session(db) as s:
        assert s.scalar(select(func.count()).select_from(Meeting)) == 0


def test_first_meeting_is_the_intro_and_a_final_needs_an_agreement(
    db: Engine, journey: Journey, clock: Clock
) -> None:
    first = journey.hold_meeting()
    with Session(db) as s:
        assert s.get_one(Meeting, first).is_intro
        mentee = user(s, journey.mentee_id)
        plan = MeetingPlan(
            starts_at=clock.now + timedelta(days=3), duration_minutes=30, mode="phone", is_final=True
        )
        with pytest.raises(Conflict, match="approved agreement"):
            meetings.propose(s, mentee, journey.mentorship_id, plan, now=clock.now)
    journey.agree().activate()
    with Session(db) as s:
        mentee = user(s, journey.mentee_id)
        final = meetings.propose(s, mentee, journey.mentorship_id, plan, now=clock.now)
        assert not final.is_intro
        assert final.is_final
        with pytest.raises(Conflict, match="already planned"):
            meetings.propose(s, mentee, journey.mentorship_id, plan, now=clock.now)


@pytest.mark.parametrize(
    ("answers", "status"),
    [
        ((True, True), MeetingStatus.HELD),
        ((True, False), MeetingStatus.MISSED),
        ((False, False), MeetingStatus.MISSED),
    ],
)
def test_attendance_settles_the_meeting(
    db: Engine, journey: Journey, clock: Clock, answers: tuple[bool, bool], status: MeetingStatus
) -> None:
    with Session(db) as s:
        plan = MeetingPlan(starts_at=clock.now + timedelta(hours=2), duration_minutes=30, mode="video")
        meeting = meetings.propose(s, user(s, journey.mentee_id), journey.mentorship_id, plan, now=clock.now)
        meetings.confirm(s, user(s, journey.mentor_id), meeting.id, now=clock.now)
        with pytest.raises(Conflict, match="once the meeting has started"):
            meetings.record_attendance(
                s, user(s, journey.mentee_id), meeting.id, attended=True, now=clock.now
            )
        clock.advance(hours=2)
        meetings.record_attendance(
            s, user(s, journey.mentee_id), meeting.id, attended=answers[0], now=clock.now
        )
        assert meeting.status == MeetingStatus.CONFIRMED
        meetings.record_attendance(
            s, user(s, journey.mentor_id), meeting.id, attended=answers[1], now=clock.now
        )
        assert meeting.status == status
        types = [e.type for e in pending_events(s, journey.mentorship_id)]
        assert types[-1] == ("meeting.held" if status == MeetingStatus.HELD else "meeting.missed")


@pytest.mark.parametrize("status", [MeetingStatus.DECLINED, MeetingStatus.CANCELLED, MeetingStatus.HELD])
def test_a_settled_meeting_cannot_be_confirmed_or_cancelled(
    db: Engine, journey: Journey, clock: Clock, status: MeetingStatus
) -> None:
    with Session(db) as s:
        plan = MeetingPlan(starts_at=clock.now + timedelta(days=1), duration_minutes=30, mode="video")
        meeting = meetings.propose(s, user(s, journey.mentee_id), journey.mentorship_id, plan, now=clock.now)
        meeting.status = status
        s.flush()
        with pytest.raises(Conflict, match=f"this meeting is {status.value}"):
            meetings.confirm(s, user(s, journey.mentor_id), meeting.id, now=clock.now)
        with pytest.raises(Conflict, match=f"this meeting is {status.value}"):
            meetings.cancel(s, user(s, journey.mentee_id), meeting.id, reason="", now=clock.now)


def test_agreement_versions_and_amendments(db: Engine, journey: Journey, clock: Clock) -> None:
    terms = AgreementTerms(**TERMS)
    with Session(db) as s:
        mentee, mentor = user(s, journey.mentee_id), user(s, journey.mentor_id)
        with pytest.raises(Conflict, match="mentee writes the first agreement"):
            agreements.save_draft(s, mentor, journey.mentorship_id, terms, now=clock.now)
        agreements.save_draft(s, mentee, journey.mentorship_id, terms, now=clock.now)
        v1 = agreements.submit(s, mentee, journey.mentorship_id, now=clock.now)
        with pytest.raises(Conflict, match="other side approves"):
            agreements.decide(s, mentee, journey.mentorship_id, number=1, approve=True, now=clock.now)
        agreements.decide(
            s, mentor, journey.mentorship_id, number=1, approve=False, reason="more", now=clock.now
        )
        assert v1.status == "rejected"
        agreements.save_draft(s, mentee, journey.mentorship_id, terms, now=clock.now)
        agreements.submit(s, mentee, journey.mentorship_id, now=clock.now)
        agreements.decide(s, mentor, journey.mentorship_id, number=2, approve=True, now=clock.now)
        with pytest.raises(Conflict, match="is approved, not waiting"):
            agreements.decide(s, mentor, journey.mentorship_id, number=2, approve=True, now=clock.now)
        # an amendment from the mentor, approved by the mentee
        agreements.save_draft(s, mentor, journey.mentorship_id, terms, now=clock.now)
        with pytest.raises(Conflict, match="other side is drafting"):
            agreements.save_draft(s, mentee, journey.mentorship_id, terms, now=clock.now)
        agreements.submit(s, mentor, journey.mentorship_id, now=clock.now)
        agreements.decide(s, mentee, journey.mentorship_id, number=3, approve=True, now=clock.now)
        state = agreements.agreement_state(s, journey.mentorship_id)
        assert state.current is not None
        assert state.current.number == 3
        assert [(v.number, v.status) for v in state.history] == [
            (1, "rejected"),
            (2, "approved"),
            (3, "approved"),
        ]
        approvals = [
            e.payload for e in pending_events(s, journey.mentorship_id) if e.type == "agreement.approved"
        ]
        assert approvals == [{"number": 2, "first": True}, {"number": 3, "first": False}]


def test_resubmitting_supersedes_ones_own_pending_version(db: Engine, journey: Journey, clock: Clock) -> None:
    terms = AgreementTerms(**TERMS)
    with Session(db) as s:
        mentee = user(s, journey.mentee_id)
        agreements.save_draft(s, mentee, journey.mentorship_id, terms, now=clock.now)
        v1 = agreements.submit(s, mentee, journey.mentorship_id, now=clock.now)
        agreements.save_draft(s, mentee, journey.mentorship_id, terms, now=clock.now)
        v2 = agreements.submit(s, mentee, journey.mentorship_id, now=clock.now)
        assert (v1.status, v2.status) == ("superseded", "pending")
        with pytest.raises(Conflict, match="superseded"):
            agreements.decide(
                s, user(s, journey.mentor_id), journey.mentorship_id, number=1, approve=True, now=clock.now
            )


def test_stage_moves_follow_facts_and_are_idempotent(db: Engine, journey: Journey, clock: Clock) -> None:
    with Session(db) as s:
        assert not activate(s, journey.mentorship_id, now=clock.now)  # no agreement yet
    journey.agree()
    with Session(db) as s:
        assert activate(s, journey.mentorship_id, now=clock.now)
        assert not activate(s, journey.mentorship_id, now=clock.now)
        assert not begin_closing(s, journey.mentorship_id, now=clock.now)  # no final meeting held
        s.commit()
    journey.hold_meeting(is_final=True)
    with Session(db) as s:
        assert begin_closing(s, journey.mentorship_id, now=clock.now)
        assert not complete(s, journey.mentorship_id, now=clock.now)  # no certificates yet
        m = s.get_one(Mentorship, journey.mentorship_id)
        assert m.stage == Stage.CLOSING
        changes = [e.payload for e in pending_events(s, journey.mentorship_id) if e.type == "stage.changed"]
        assert changes == [{"from": "intro", "to": "active"}, {"from": "active", "to": "closing"}]


def test_once_the_final_meeting_is_held_the_system_is_next(
    db: Engine, journey: Journey, clock: Clock
) -> None:
    journey.hold_meeting()
    journey.agree().activate()
    journey.hold_meeting(is_final=True)
    with Session(db) as s:
        mentorship = s.get_one(Mentorship, journey.mentorship_id)
        assert mentorship.stage == Stage.ACTIVE  # the lifecycle flow has not begun closing yet
        waiting = progress.waiting_for(progress.snapshot(s, mentorship), clock.now)
    assert waiting is not None
    assert (waiting.who, waiting.action) == ("system", "issue_certificates")
