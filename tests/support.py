"""Test helpers shared by the suites: a movable clock and people with tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from api.tokens import issue_token
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


@dataclass
class Person:
    id: int
    email: str
    password: str
    name: str
    settings: Settings
    clock: Clock

    @property
    def token(self) -> str:
        """A token minted at the clock's current time, so moving the clock never expires it."""
        return issue_token(self.settings, self.id, now=self.clock.now)

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
        return Person(user_id, email, "correct horse", name, self.settings, self.clock)

    def mentee(self, name: str | None = None) -> Person:
        return self.add(Role.MENTEE, name=name)

    def mentor(self, name: str | None = None, capacity: int = 2) -> Person:
        return self.add(Role.MENTOR, name=name, capacity=capacity)

    def operator(self) -> Person:
        return self.add(Role.OPERATOR, name="Olga Operator")
