"""Helpers for the API suite: problem+json checks and a walk through the lifecycle by HTTP.

Everything a test sets up goes through the public API, except the two stage moves that the
lifecycle flow makes (``intro → active``, ``active → closing``): those call the same service
functions the flow calls, because no flow runs in these tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from services import lifecycle
from tests.support import Clock, People, Person

PROBLEM_JSON = "application/problem+json"

TERMS: dict[str, Any] = {
    "period_start": "2026-03-05",
    "period_end": "2026-09-30",
    "planned_meetings": 6,
    "contact_modes": ["video", "email"],
    "contact_frequency": "every two weeks",
    "content_plan": [{"topic": "career", "notes": "next steps"}],
    "notes": "",
}


def problem(response: httpx.Response, status: int, *, detail: str | None = None) -> dict[str, Any]:
    """Assert an RFC 9457 problem with ``status``; ``detail`` must occur in its detail
    (case-insensitive). Returns the body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert isinstance(body["type"], str)
    assert body["type"]
    assert isinstance(body["title"], str)
    assert body["title"]
    assert isinstance(body["detail"], str)
    assert body["detail"]
    if detail is not None:
        assert detail.lower() in body["detail"].lower(), body["detail"]
    return body


def invalid(response: httpx.Response, *fields: str) -> dict[str, Any]:
    """Assert a 422 problem whose ``errors`` name each of ``fields`` (dotted paths in the
    body, e.g. ``roles.0``)."""
    body = problem(response, 422)
    named = {e["field"] for e in body["errors"]}
    for e in body["errors"]:
        assert all((e["loc"], e["msg"], e["type"])), e
    for field in fields:
        assert field in named, (field, body["errors"])
    return body


def meeting_body(clock: Clock, *, days: float = 2, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "starts_at": (clock.now + timedelta(days=days)).isoformat(),
        "duration_minutes": 45,
        "mode": "video",
        "location": "https://meet.example.org/abc",
        "agenda": "Get to know each other",
        "topics": ["career"],
    }
    body.update(overrides)
    return body


@dataclass
class Pair:
    mentee: Person
    mentor: Person
    id: int

    @property
    def url(self) -> str:
        return f"/api/mentorships/{self.id}"


class Flow:
    """Walks mentorships through the API; every step asserts it was accepted."""

    def __init__(self, client: Any, people: People, clock: Clock, db: Engine) -> None:
        self.client = client
        self.people = people
        self.clock = clock
        self.db = db

    # --- calls that must succeed ------------------------------------------------------------

    def ok(self, method: str, url: str, who: Person, status: int = 200, **kw: Any) -> Any:
        r = self.client.request(method, url, headers=who.auth, **kw)
        assert r.status_code == status, (method, url, r.text)
        return r.json()

    def get(self, url: str, who: Person) -> Any:
        return self.ok("GET", url, who)

    def request(self, mentee: Person, mentor: Person, message: str = "Hi!") -> Pair:
        body = self.ok(
            "POST",
            "/api/mentorships",
            mentee,
            201,
            json={"mentor_id": mentor.id, "message": message},
        )
        return Pair(mentee, mentor, body["id"])

    def pair(self, stage: str = "requested", *, capacity: int = 2) -> Pair:
        """A new pair in ``stage`` (requested, intro, active, closing, declined, withdrawn,
        ended)."""
        p = self.request(self.people.mentee(), self.people.mentor(capacity=capacity))
        if stage == "requested":
            return p
        if stage in ("declined", "withdrawn"):
            action, who = ("decline", p.mentor) if stage == "declined" else ("withdraw", p.mentee)
            body = {"reason": "no time"} if action == "decline" else None
            assert self.ok("POST", f"{p.url}/{action}", who, json=body)["stage"] == stage
            return p
        self.ok("POST", f"{p.url}/accept", p.mentor)
        if stage == "intro":
            return p
        if stage == "ended":
            self.ok("POST", f"{p.url}/end", p.mentee, json={"reason_code": "other", "reason": "moving away"})
            return p
        self.approved_agreement(p)
        self.activate(p)
        if stage == "active":
            return p
        assert stage == "closing", stage
        self.held_meeting(p, is_final=True)
        with Session(self.db) as s:
            assert lifecycle.begin_closing(s, p.id, now=self.clock.now)
            s.commit()
        return p

    def activate(self, p: Pair) -> None:
        """What the lifecycle flow does once the first agreement was approved."""
        with Session(self.db) as s:
            assert lifecycle.activate(s, p.id, now=self.clock.now)
            s.commit()

    def draft(self, p: Pair, who: Person | None = None, **changes: Any) -> dict[str, Any]:
        body: dict[str, Any] = self.ok(
            "PUT", f"{p.url}/agreement", who or p.mentee, json={**TERMS, **changes}
        )
        return body

    def submit(self, p: Pair, who: Person | None = None) -> dict[str, Any]:
        body: dict[str, Any] = self.ok("POST", f"{p.url}/agreement/submit", who or p.mentee)
        return body

    def approved_agreement(self, p: Pair, author: Person | None = None) -> int:
        author = author or p.mentee
        other = p.mentor if author.id == p.mentee.id else p.mentee
        self.draft(p, author)
        number: int = self.submit(p, author)["number"]
        self.ok("POST", f"{p.url}/agreement/approve", other, json={"number": number})
        return number

    def propose(self, p: Pair, *, days: float = 2, **overrides: Any) -> dict[str, Any]:
        body: dict[str, Any] = self.ok(
            "POST",
            f"{p.url}/meetings",
            p.mentee,
            201,
            json=meeting_body(self.clock, days=days, **overrides),
        )
        return body

    def confirmed(self, p: Pair, *, days: float = 2, **overrides: Any) -> dict[str, Any]:
        m = self.propose(p, days=days, **overrides)
        body: dict[str, Any] = self.ok("POST", f"/api/meetings/{m['id']}/confirm", p.mentor)
        return body

    def started(self, p: Pair, **overrides: Any) -> dict[str, Any]:
        """A confirmed meeting whose start time has just passed."""
        m = self.confirmed(p, days=1, **overrides)
        self.clock.advance(days=1, minutes=5)
        return m

    def held_meeting(self, p: Pair, **overrides: Any) -> dict[str, Any]:
        m = self.started(p, **overrides)
        for who in (p.mentee, p.mentor):
            body = self.ok("POST", f"/api/meetings/{m['id']}/attendance", who, json={"attended": True})
        assert body["status"] == "held"
        return body  # type: ignore[no-any-return]

    # --- reads used to prove that a refused request changed nothing ------------------------

    def events(self, p: Pair) -> list[dict[str, Any]]:
        return self.get(f"{p.url}/events", p.mentee)  # type: ignore[no-any-return]

    def brief_state(self, p: Pair) -> tuple[Any, Any]:
        """The mentorship and its event log: every accepted fact appends an event and bumps
        the version, so this shows any write (cheaper than ``state``)."""
        return self.get(p.url, p.mentee), self.events(p)

    def state(self, p: Pair, viewer: Person | None = None) -> dict[str, Any]:
        """Everything a refused write must leave as it was (read by ``viewer``, default the
        mentee), with every meeting of the pair."""
        viewer = viewer or p.mentee
        events = self.get(f"{p.url}/events", viewer)
        meeting_ids = sorted({e["payload"]["meeting_id"] for e in events if e["type"] == "meeting.proposed"})
        return {
            "mentorship": self.get(p.url, viewer),
            "events": events,
            "agreement": self.get(f"{p.url}/agreement", viewer),
            "meetings": [self.get(f"/api/meetings/{i}", viewer) for i in meeting_ids],
        }


# Every operation of CONTRACT.md (method, path as in OpenAPI, a body that would be valid).
# ``write`` marks operations that change something.
@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    body: dict[str, Any] | None = None
    form: dict[str, str] | None = None

    @property
    def write(self) -> bool:
        return self.method != "GET"

    def url(self, **ids: int) -> str:
        return self.path.format(**{k: ids.get(k, 1) for k in _ID_NAMES})

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


_ID_NAMES = ("mentorship_id", "meeting_id", "notification_id", "certificate_id", "user_id")
_AT = "2030-01-01T10:00:00+00:00"

CONTRACT: list[Operation] = [
    Operation(
        "POST",
        "/api/users",
        {"email": "x@example.org", "password": "long enough", "display_name": "X", "roles": ["mentee"]},
    ),
    Operation("GET", "/api/me"),
    Operation("PUT", "/api/me/profile", {"bio": "hello"}),
    Operation("GET", "/api/mentors"),
    Operation("GET", "/api/topics"),
    Operation("GET", "/api/me/achievements"),
    Operation("GET", "/api/me/activity"),
    Operation("GET", "/api/me/notifications"),
    Operation("POST", "/api/me/notifications/{notification_id}/read"),
    Operation("POST", "/api/mentorships", {"mentor_id": 1, "message": "Hi"}),
    Operation("POST", "/api/mentorships/{mentorship_id}/accept"),
    Operation("POST", "/api/mentorships/{mentorship_id}/decline", {"reason": "busy"}),
    Operation("POST", "/api/mentorships/{mentorship_id}/withdraw"),
    Operation("POST", "/api/mentorships/{mentorship_id}/end", {"reason_code": "other", "reason": "done"}),
    Operation("GET", "/api/mentorships"),
    Operation("GET", "/api/mentorships/{mentorship_id}"),
    Operation("GET", "/api/mentorships/{mentorship_id}/events"),
    Operation("PUT", "/api/mentorships/{mentorship_id}/agreement", TERMS),
    Operation("POST", "/api/mentorships/{mentorship_id}/agreement/submit"),
    Operation("POST", "/api/mentorships/{mentorship_id}/agreement/approve", {"number": 1}),
    Operation("POST", "/api/mentorships/{mentorship_id}/agreement/reject", {"number": 1, "reason": "no"}),
    Operation("GET", "/api/mentorships/{mentorship_id}/agreement"),
    Operation(
        "POST",
        "/api/mentorships/{mentorship_id}/meetings",
        {"starts_at": _AT, "duration_minutes": 45, "mode": "video"},
    ),
    Operation("POST", "/api/meetings/{meeting_id}/confirm"),
    Operation("POST", "/api/meetings/{meeting_id}/decline", {"reason": "busy"}),
    Operation("POST", "/api/meetings/{meeting_id}/cancel", {"reason": "ill"}),
    Operation("POST", "/api/meetings/{meeting_id}/attendance", {"attended": True}),
    Operation("POST", "/api/meetings/{meeting_id}/feedback", {"rating": 5, "comment": ""}),
    Operation("GET", "/api/meetings/{meeting_id}"),
    Operation("GET", "/api/meetings/{meeting_id}/calendar.ics"),
    Operation("GET", "/api/me/certificates"),
    Operation("GET", "/api/certificates/{certificate_id}.pdf"),
    Operation("GET", "/api/admin/mentorships"),
    Operation("GET", "/api/admin/stats"),
]
# Beyond the contract, but behind the same sign-in.
EXTRA: list[Operation] = [
    Operation("POST", "/api/mentorships/{mentorship_id}/feedback", {"rating": 4, "comment": ""}),
    Operation("POST", "/api/auth/logout"),
    Operation("POST", "/api/auth/password", {"current_password": "a", "new_password": "long enough"}),
    Operation("POST", "/api/admin/users/{user_id}/deactivate"),
    Operation("POST", "/api/admin/users/{user_id}/reactivate"),
    Operation("POST", "/api/admin/users/{user_id}/erase"),
    Operation("POST", "/api/admin/users/{user_id}/reset-password"),
    Operation(
        "POST", "/api/admin/invitations", {"email": "n@example.org", "display_name": "N", "roles": ["mentee"]}
    ),
    Operation("GET", "/api/admin/set-aside"),
    Operation("GET", "/api/me/export"),
    Operation("POST", "/api/me/erase", {"password": "long enough"}),
]
