"""No N+1: the SQL statements each read executes do not grow with the data it answers about.

Every GET operation of ``/openapi.json`` and every GET page of the portal is requested, by
those who read it (the pair's mentee and mentor, an operator for the operators' reads and
exports), once with one pair well advanced (the authorization matrix's ``world``: agreement,
meetings, feedback, notifications, a certificate) and again after much more data that the
answers include or scan: more meetings and events of the pair, ten more mentorships of its
mentee and of its mentor (each with an agreement, a held meeting, feedback, notifications,
achievements), certificates, more people and audit entries. A read whose count grew makes one
query per row somewhere; the failure lists every read with both counts.

SQLite only: the number of statements does not depend on the backend.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from api.portal.session import COOKIE
from models import User
from models.settings import Settings
from services import certificates
from tests.api.helpers import Flow
from tests.api.test_authorization import (
    FOR_ATTENDEES,
    OPERATORS_READ_TOO,
    PORTAL_PUBLIC,
    PUBLIC,
    Op,
    World,
    _url,
    operations,
    portal_routes,
    world,
)
from tests.api.test_personal_data import handle_every_event
from tests.support import Clock, Journey, People, Person, mint_token

pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)

__all__ = ["world"]  # the authorization matrix's pair, used as a fixture here

#: How many more mentorships the pair's mentee and mentor each get, and meetings the pair.
MORE = 10
#: Reads that say nothing about stored rows.
SKIPPED = {"/healthz", "/readyz"}
#: Reads allowed a fixed number of extra statements in the large world (one per kind of page
#: element that only appears once there is more data), never one per row.
ALLOWED: dict[str, int] = {}
#: Reads asked once more with a query that takes another way through the code.
VARIANTS = {
    "/api/topics": "mentorship_id={mentorship_id}",
    "/api/admin/mentorships": "overdue=true",
    "/api/admin/audit": "subject_id={user_id}",
    "/api/admin/users": "role=mentee",
    "/portal/program/mentorships": "waiting=mentor",
}


@dataclass(frozen=True)
class Read:
    """One request as one reader: ``api`` (bearer token) or ``portal`` (cookie)."""

    op: Op
    who: str
    portal: bool
    query: str = ""

    def __str__(self) -> str:
        return f"{self.op.method} {self.op.path}{'?' if self.query else ''}{self.query} as {self.who}"

    def url(self, w: World) -> str:
        # the pair's mentee is the person about whom there is most to read
        ids = {**w.ids, "user_id": w.people["mentee"].id}
        path = _url(self.op, replace(w, spare=w.people["mentee"]))
        return f"{path}?{self.query.format(**ids)}" if self.query else path


def _api_readers(op: Op) -> tuple[str, ...]:
    if (op.method, op.path) in PUBLIC:
        return ("anonymous",)
    if op.for_operators:
        return ("operator",)
    if op.personal:
        return ("mentee", "operator") if op.path in OPERATORS_READ_TOO else ("mentee",)
    if op.of_the_pair and op.path not in FOR_ATTENDEES:
        return ("mentee", "mentor", "operator")
    return ("mentee", "mentor")


def _portal_readers(op: Op) -> tuple[str, ...]:
    if op.path.startswith("/portal/program"):
        return ("operator",)
    if op.personal:
        return ("mentee",)
    return ("mentee", "mentor")


def reads(client: TestClient, spec: dict[str, Any]) -> list[Read]:
    """Every GET of the API and the portal, with each of its readers."""
    found = [
        Read(op, who, False)
        for op in operations(spec)
        if op.method == "GET" and op.path not in SKIPPED
        for who in _api_readers(op)
    ]
    found += [
        Read(op, who, True)
        for op in portal_routes(client)
        if op.method == "GET" and not op.path.startswith(PORTAL_PUBLIC)
        for who in _portal_readers(op)
    ]
    return found + [replace(r, query=VARIANTS[r.op.path]) for r in found if r.op.path in VARIANTS]


@contextmanager
def counting(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements run on ``engine`` inside the block, in order."""
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def measure(
    client: TestClient, w: World, db: Engine, clock: Clock, settings: Settings, found: list[Read]
) -> tuple[dict[Read, list[str]], list[str]]:
    """The statements of each read, and the reads that did not succeed (their counts would
    lie)."""
    tokens = {who: mint_token(db, settings, p.id, now=clock.now) for who, p in w.people.items()}
    counts: dict[Read, list[str]] = {}
    failed: list[str] = []
    for read in found:
        client.cookies.clear()
        headers = {}
        if read.who in tokens and read.portal:
            client.cookies.set(COOKIE, tokens[read.who], path="/portal")
        elif read.who in tokens:
            headers["Authorization"] = f"Bearer {tokens[read.who]}"
        with counting(db) as statements:
            r = client.get(read.url(w), headers=headers, follow_redirects=False)
        if r.status_code >= 400:
            failed.append(f"{read}: {r.status_code} {r.text[:120]}")
        counts[read] = statements
    client.cookies.clear()
    return counts, failed


def begin_every_list(w: World, flow: Flow, people: People, db: Engine, clock: Clock) -> None:
    """One row in the lists the pair has none of yet (the audit log, the overview's late
    pairs, a stored next step the clock made stale: a confirmed meeting that started since
    the pair's last fact): a page may load a fixed few things for the first row of a kind,
    not for every row."""
    _invite(flow, w.people["operator"], "first")
    late = Journey(db, Clock(clock.now - timedelta(days=8)), people.mentee("Late"), people.mentor("Late"))
    late.request().accept().hold_meeting()
    late.confirm_meeting()


def _invite(flow: Flow, operator: Person, name: str) -> None:
    body = {"email": f"invited-{name}@example.org", "display_name": f"Invited {name}", "roles": ["mentee"]}
    flow.ok("POST", "/api/admin/invitations", operator, 201, json=body)


def grow(w: World, flow: Flow, people: People, db: Engine, clock: Clock, settings: Settings) -> None:
    """Much more of everything the reads answer about or scan."""
    mentee, mentor = w.people["mentee"], w.people["mentor"]
    with Session(db) as s:
        s.get_one(User, mentor.id).profile.mentor_capacity = MORE + 5
        s.commit()
    pair_b = Journey(db, clock, mentee, mentor)
    pair_b.mentorship_id = w.pair.id
    for _ in range(3):
        _rated(flow, pair_b, mentee)
    for i in range(MORE):
        flow.propose(w.pair, days=30 + i, agenda=f"more {i}")
    handle_every_event(db, settings, w.pair.id, clock)
    for i in range(MORE):
        for journey in (
            Journey(db, clock, people.mentee(f"Extra Mentee {i}"), mentor),
            Journey(db, clock, mentee, people.mentor(f"Extra Mentor {i}")),
        ):
            journey.request().accept().agree().activate()
            _rated(flow, journey, mentee if journey.mentee_id == mentee.id else None)
            handle_every_event(db, settings, journey.mentorship_id, clock)
            if journey.mentee_id == mentee.id and i < 3:
                _certificate(db, journey.mentorship_id, mentee, clock)
    operator = w.people["operator"]
    for i in range(MORE):
        _invite(flow, operator, str(i))


def _rated(flow: Flow, journey: Journey, rater: Person | None) -> None:
    """A held meeting of ``journey``, rated by ``rater`` (its mentee) when given."""
    meeting_id = journey.hold_meeting()
    if rater is not None:
        flow.ok("POST", f"/api/meetings/{meeting_id}/feedback", rater, 201, json={"rating": 4, "comment": ""})


def _certificate(db: Engine, mentorship_id: int, holder: Person, clock: Clock) -> None:
    with Session(db) as s:
        facts = certificates.certificate_facts(s, mentorship_id, holder.id)
        certificates.store_certificate(
            s, mentorship_id=mentorship_id, user_id=holder.id, role="mentee",
            verification_code=certificates.new_verification_code(),
            pdf=b"%PDF-1.7 stand-in", facts=facts, now=clock.now,
        )  # fmt: skip
        s.commit()


def test_no_read_makes_a_query_per_row(
    client: TestClient,
    world: World,
    flow: Flow,
    people: People,
    db: Engine,
    clock: Clock,
    settings: Settings,
) -> None:
    spec: dict[str, Any] = client.get("/openapi.json").json()
    found = reads(client, spec)
    begin_every_list(world, flow, people, db, clock)
    small, failed = measure(client, world, db, clock, settings, found)
    grow(world, flow, people, db, clock, settings)
    large, failed_large = measure(client, world, db, clock, settings, found)
    assert not failed + failed_large, "\n".join(failed + failed_large)
    width = max(len(str(r)) for r in found)
    table = {r: f"{str(r):<{width}}  {len(small[r]):>3} → {len(large[r]):>3}" for r in found}
    grown = [
        f"{table[r]}   most repeated: {_most_repeated(large[r])}"
        for r in found
        if len(large[r]) > len(small[r]) + ALLOWED.get(r.op.path, 0)
    ]
    assert not grown, "statements per request, small → large world:\n" + "\n".join(grown)


def _most_repeated(statements: list[str]) -> str:
    statement, times = Counter(" ".join(s.split()) for s in statements).most_common(1)[0]
    return f"{times}× {statement[:160]}"
