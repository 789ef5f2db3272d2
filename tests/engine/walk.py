"""A mentee and a mentor stating facts through ``services`` (what the API does), each fact in
its own committed transaction, with a movable clock. The engine is told the way the API
tells it: ``after_fact`` after commit. Stage moves that follow from facts are left to
the lifecycle flow under test."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import count
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from models import Mentorship, Role, Stage, User
from models.db import read_scope
from services import agreements, meetings, mentorships
from services.agreements import AgreementTerms
from services.events import append_event
from services.lifecycle import Fact
from services.meetings import MeetingPlan
from services.users import create_user
from tasks.engine import after_fact
from tests.support import Clock

T = TypeVar("T")
_people = count(1)


@dataclass
class Walk:
    db: Engine
    clock: Clock = field(default_factory=Clock)
    notify: bool = True
    mentee_id: int = 0
    mentor_id: int = 0
    mentorship_id: int = 0
    number: int = 0
    notified: list[Future[None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = self.number = next(_people)
        self.mentee_id = self._person(f"mentee{n}@example.org", f"Mia Mentee {n}", Role.MENTEE)
        self.mentor_id = self._person(f"mentor{n}@example.org", f"Max Mentor {n}", Role.MENTOR)

    # --- plumbing ------------------------------------------------------------------------------

    def _person(self, email: str, name: str, role: Role) -> int:
        def add(s: Session) -> int:
            user = create_user(
                s,
                email=email,
                password="correct horse",
                display_name=name,
                roles=[role],
                now=self.clock.now,
            )
            return user.id

        return self._commit(add)

    def _commit(self, action: Callable[[Session], T]) -> T:
        with Session(self.db, expire_on_commit=False) as session, session.begin():
            return action(session)

    def _as(self, user_id: int, action: Callable[[Session, User], object]) -> None:
        self._commit(lambda s: action(s, s.get_one(User, user_id)))
        self.tell_engine()

    def tell_engine(self) -> None:
        """What the API does after each commit."""
        if self.notify:
            job = after_fact(self.mentorship_id, db=self.db)
            if job is not None:
                self.notified.append(job)

    def mentorship(self) -> Mentorship:
        """Read without taking SQLite's write lock, so polling this does not hold up the engine."""
        with read_scope(self.db) as session:
            mentorship = session.get_one(Mentorship, self.mentorship_id)
            session.expunge(mentorship)
            return mentorship

    # --- facts ---------------------------------------------------------------------------------

    def request(self) -> int:
        """The request row and its event, written directly (the engine is what is under test)."""

        def ask(s: Session) -> int:
            mentorship = Mentorship(
                mentee_id=self.mentee_id,
                mentor_id=self.mentor_id,
                stage=Stage.REQUESTED,
                request_message="Would you mentor me?",
                requested_at=self.clock.now,
                last_activity_at=self.clock.now,
            )
            s.add(mentorship)
            s.flush()
            append_event(
                s,
                mentorship,
                "mentorship.requested",
                actor_id=self.mentee_id,
                now=self.clock.now,
                payload={"message": mentorship.request_message},
            )
            return mentorship.id

        self.mentorship_id = self._commit(ask)
        self.tell_engine()
        return self.mentorship_id

    def accept(self) -> None:
        self._as(
            self.mentor_id,
            lambda s, u: mentorships.decide(s, u, self.mentorship_id, Fact.ACCEPT, now=self.clock.now),
        )

    def save_draft(self, planned_meetings: int = 3) -> None:
        terms = AgreementTerms(
            period_start=date(2026, 4, 1),
            period_end=date(2026, 12, 31),
            planned_meetings=planned_meetings,
            contact_modes=["video"],
            contact_frequency="monthly",
            content_plan=[{"topic": "career", "notes": ""}],
        )
        self._as(
            self.mentee_id,
            lambda s, u: agreements.save_draft(s, u, self.mentorship_id, terms, now=self.clock.now),
        )

    def submit(self) -> None:
        self._as(
            self.mentee_id,
            lambda s, u: agreements.submit(s, u, self.mentorship_id, now=self.clock.now),
        )

    def approve(self, number: int = 1) -> None:
        self._as(
            self.mentor_id,
            lambda s, u: agreements.decide(
                s, u, self.mentorship_id, number=number, approve=True, now=self.clock.now
            ),
        )

    def agree(self) -> None:
        self.save_draft()
        self.submit()
        self.approve()

    def hold_meeting(self, *, is_final: bool = False) -> int:
        """Propose, confirm, let the clock pass the start, both attend: a held meeting."""
        plan = MeetingPlan(
            starts_at=self.clock.now + timedelta(days=7),
            duration_minutes=60,
            mode="video",
            location="https://video.example.org/room",
            agenda="Goals",
            topics=("career",),
            is_final=is_final,
        )
        meeting_id = self._commit(
            lambda s: (
                meetings.propose(
                    s, s.get_one(User, self.mentee_id), self.mentorship_id, plan, now=self.clock.now
                ).id
            )
        )
        self._as(self.mentor_id, lambda s, u: meetings.confirm(s, u, meeting_id, now=self.clock.now))
        self.clock.advance(days=7, hours=2)
        for user_id in (self.mentee_id, self.mentor_id):
            self._as(
                user_id,
                lambda s, u: meetings.record_attendance(s, u, meeting_id, attended=True, now=self.clock.now),
            )
        return meeting_id

    def end(self) -> None:
        self._as(
            self.mentee_id,
            lambda s, u: mentorships.decide(s, u, self.mentorship_id, Fact.END, now=self.clock.now),
        )
