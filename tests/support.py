"""Test helpers shared by the suites: a movable clock and people with tokens."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import uvicorn
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from api.tokens import sign_in
from models import Role, User
from models.settings import Settings
from services.users import create_user

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Clock:
    """The time the app and the rules see; tests move it instead of sleeping."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def mint_token(engine: Engine, settings: Settings, user_id: int, *, now: datetime) -> str:
    """A bearer token of a new sign-in, as ``POST /api/auth/token`` gives one (without the
    password check and the throttle)."""
    with Session(engine) as s:
        user = s.get(User, user_id)
        assert user is not None
        token = sign_in(s, settings, user, now=now)
        s.commit()
    return token


@dataclass
class Person:
    id: int
    email: str
    password: str
    name: str
    settings: Settings
    clock: Clock
    engine: Engine
    _tokens: dict[datetime, str] = field(default_factory=dict, repr=False)

    @property
    def token(self) -> str:
        """A sign-in begun at the clock's current time, so moving the clock never expires it."""
        now = self.clock.now
        if now not in self._tokens:
            self._tokens[now] = mint_token(self.engine, self.settings, self.id, now=now)
        return self._tokens[now]

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class People:
    """Creates users straight through the service (fast) and hands out bearer tokens."""

    def __init__(self, engine: Engine, settings: Settings, clock: Clock) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.count = 0

    def add(self, *roles: Role, name: str | None = None, capacity: int = 2) -> Person:
        self.count += 1
        name = name or f"{roles[0].value.title()} {self.count}"
        email = f"{roles[0].value}{self.count}@example.org"
        with Session(self.engine, expire_on_commit=False) as s:
            user: User = create_user(
                s,
                email=email,
                password="correct horse",
                display_name=name,
                roles=list(roles),
                now=self.clock.now,
            )
            user.profile.mentor_capacity = capacity
            s.commit()
            user_id = user.id
        return Person(user_id, email, "correct horse", name, self.settings, self.clock, self.engine)

    def mentee(self, name: str | None = None) -> Person:
        return self.add(Role.MENTEE, name=name)

    def mentor(self, name: str | None = None, capacity: int = 2) -> Person:
        return self.add(Role.MENTOR, name=name, capacity=capacity)

    def operator(self) -> Person:
        return self.add(Role.OPERATOR, name="Olga Operator")


TERMS: dict[str, Any] = {
    "period_start": START.date(),
    "period_end": (START + timedelta(days=180)).date(),
    "planned_meetings": 3,
    "contact_modes": ["video"],
    "contact_frequency": "monthly",
    "content_plan": [{"topic": "leadership", "notes": ""}],
}


class Journey:
    """Walks one mentorship through the services (not HTTP), committing each fact as the API would."""

    def __init__(self, engine: Engine, clock: Clock, mentee: Person, mentor: Person) -> None:
        self.engine = engine
        self.clock = clock
        self.mentee_id = mentee.id
        self.mentor_id = mentor.id
        self.mentorship_id = 0

    def _user(self, session: Session, user_id: int) -> User:
        return session.get_one(User, user_id)

    def request(self) -> Journey:
        from services.mentorships import request_mentorship

        with Session(self.engine, expire_on_commit=False) as s:
            m = request_mentorship(
                s,
                self._user(s, self.mentee_id),
                mentor_id=self.mentor_id,
                message="Hello",
                now=self.clock.now,
            )
            s.commit()
            self.mentorship_id = m.id
        return self

    def accept(self) -> Journey:
        from services.lifecycle import Fact
        from services.mentorships import decide

        with Session(self.engine) as s:
            decide(
                s,
                self._user(s, self.mentor_id),
                self.mentorship_id,
                Fact.ACCEPT,
                now=self.clock.now,
            )
            s.commit()
        return self

    def confirm_meeting(self, *, is_final: bool = False, topics: tuple[str, ...] = ("leadership",)) -> int:
        """A meeting the mentee proposes and the mentor confirms, a day after the clock."""
        from services import meetings
        from services.meetings import MeetingPlan

        with Session(self.engine, expire_on_commit=False) as s:
            mentee, mentor = self._user(s, self.mentee_id), self._user(s, self.mentor_id)
            plan = MeetingPlan(
                starts_at=self.clock.now + timedelta(days=1),
                duration_minutes=60,
                mode="video",
                topics=topics,
                is_final=is_final,
            )
            meeting = meetings.propose(s, mentee, self.mentorship_id, plan, now=self.clock.now)
            meetings.confirm(s, mentor, meeting.id, now=self.clock.now)
            s.commit()
            return meeting.id

    def hold_meeting(self, *, is_final: bool = False, topics: tuple[str, ...] = ("leadership",)) -> int:
        from services import meetings

        meeting_id = self.confirm_meeting(is_final=is_final, topics=topics)
        self.clock.advance(days=1, hours=1)
        with Session(self.engine) as s:
            for user_id in (self.mentee_id, self.mentor_id):
                meetings.record_attendance(
                    s, self._user(s, user_id), meeting_id, attended=True, now=self.clock.now
                )
            s.commit()
        return meeting_id

    def agree(self, **changes: object) -> Journey:
        from services import agreements
        from services.agreements import AgreementTerms

        terms = AgreementTerms(**{**TERMS, **changes})
        with Session(self.engine) as s:
            mentee, mentor = self._user(s, self.mentee_id), self._user(s, self.mentor_id)
            draft = agreements.save_draft(s, mentee, self.mentorship_id, terms, now=self.clock.now)
            agreements.submit(s, mentee, self.mentorship_id, now=self.clock.now)
            agreements.decide(
                s, mentor, self.mentorship_id, number=draft.number, approve=True, now=self.clock.now
            )
            s.commit()
        return self

    def activate(self) -> Journey:
        from services.lifecycle import activate

        with Session(self.engine) as s:
            activate(s, self.mentorship_id, now=self.clock.now)
            s.commit()
        return self


@contextmanager
def serve_app(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a background thread on a free port; yields its base URL.

    Requests from several threads really run at the same time (sync endpoints run in
    uvicorn's thread pool), and a browser can reach it.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
