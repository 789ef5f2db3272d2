"""The authorization matrix: every operation of ``/openapi.json`` × {anonymous, the pair's
mentee, the pair's mentor, another mentee, another mentor, an operator}.

The operations are read from the app, so a new route is in the matrix the day it is added
(a new route with a body fails here until it gets a valid body in ``_bodies``; a new route
without sign-in fails until it is listed in ``PUBLIC``). One pair's objects are built once
(mentorship, agreement versions, meetings in every state, a certificate, notifications) and
fill the path parameters; every write is sent with a body that the schema accepts, so a 2xx
would really mean it was allowed. What must hold:

- anonymous: ``401`` on everything but the public operations;
- another mentee or mentor: ``403``/``404`` on each of the pair's objects, never a 2xx, and no
  answer of theirs names anything of the pair;
- the pair's mentee and mentor read their shared objects; a participant's own objects
  (certificate, notification) stay theirs, even towards the other side;
- operators read the pair's record, and get ``403`` on every participant's write;
  participants get ``403`` on the operators' operations;
- and after all of it the pair is exactly as it was.

The portal's pages and forms (read from the app's routes too) get the same treatment: anonymous
visitors are sent to sign in, outsiders and operators open none of the pair's pages and send
none of its forms (each with a valid CSRF token and fields), and the pair stays as it was.

SQLite only: who may do what is decided above the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jsonschema
import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from api.portal.session import COOKIE, CSRF_FIELD, csrf_token
from models import Notification
from models.settings import Settings
from services import certificates
from tests.api.helpers import TERMS, Flow, Pair, meeting_body
from tests.api.test_personal_data import handle_every_event
from tests.support import Clock, People, Person, mint_token

pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)

#: Operations anyone may call (signing in, "forgot password", a mailed link, the public
#: verification page, health checks). Every other operation requires a sign-in.
PUBLIC = {
    ("POST", "/api/auth/token"),
    ("POST", "/api/auth/forgot-password"),
    ("POST", "/api/auth/set-password"),
    ("GET", "/verify/{code}"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
}
#: Path parameters naming one of the pair's objects; the last two belong to one participant.
PAIR_PARAMETERS = ("{mentorship_id}", "{meeting_id}", "{certificate_id}", "{notification_id}")
PERSONAL_PARAMETERS = ("{certificate_id}", "{notification_id}")
#: Words only the pair wrote (and the mentee's name, who is in no public directory): no answer
#: to anyone outside the pair may contain them.
SECRETS = ("Quentin Pairmentee", "pair-request-7Q", "pair-agenda-7Q", "pair-terms-7Q", "pair-feedback-7Q")

#: A participant's own objects that operators may read as well (to help them).
OPERATORS_READ_TOO = {"/api/certificates/{certificate_id}.pdf"}
#: Of the pair's shared objects, what only its two participants read (an invitation to attend;
#: each one's own survey answers, private even from operators).
FOR_ATTENDEES = {
    "/api/meetings/{meeting_id}/calendar.ics",
    "/api/mentorships/{mentorship_id}/fit",
    "/api/mentorships/{mentorship_id}/closure-survey",
}

ROLES = ("anonymous", "mentee", "mentor", "other mentee", "other mentor", "operator")
OUTSIDERS = ("other mentee", "other mentor")


@dataclass
class World:
    pair: Pair
    ids: dict[str, Any]  # path parameter → value
    people: dict[str, Person]
    spare: Person  # the person the operators' user operations act on


@dataclass(frozen=True)
class Op:
    method: str
    path: str
    has_body: bool
    media: str

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def of_the_pair(self) -> bool:
        return any(p in self.path for p in PAIR_PARAMETERS)

    @property
    def personal(self) -> bool:
        return any(p in self.path for p in PERSONAL_PARAMETERS)

    @property
    def for_operators(self) -> bool:
        return self.path.startswith("/api/admin/") or (self.method, self.path) == ("POST", "/api/users")

    @property
    def write(self) -> bool:
        return self.method != "GET"


@pytest.fixture
def openapi(client: TestClient) -> dict[str, Any]:
    spec: dict[str, Any] = client.get("/openapi.json").json()
    return spec


def operations(spec: dict[str, Any]) -> list[Op]:
    """Every operation of the document; erasure last (it ends the caller's account)."""
    ops = []
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            content = op.get("requestBody", {}).get("content", {})
            ops.append(Op(method.upper(), path, bool(content), next(iter(content), "")))
    return sorted(ops, key=lambda o: o.path.endswith("/erase"))


@pytest.fixture
def world(flow: Flow, people: People, clock: Clock, db: Engine, settings: Settings) -> World:
    """Pair B, well advanced: agreement approved and an amendment pending (version 2), a meeting
    held and rated, one confirmed, one proposed, notifications of both sides, the mentee's
    certificate (stored as the closing stage would, with a stand-in PDF: rendering is not what
    is tested here)."""
    mentee, mentor = people.mentee("Quentin Pairmentee"), people.mentor("Rita Pairmentor")
    b = flow.request(mentee, mentor, message="pair-request-7Q")
    flow.ok("POST", f"{b.url}/accept", mentor)
    held = flow.held_meeting(b, agenda="pair-agenda-7Q")
    flow.ok(
        "POST",
        f"/api/meetings/{held['id']}/feedback",
        mentee,
        201,
        json={"rating": 5, "comment": "pair-feedback-7Q"},
    )
    flow.approved_agreement(b)
    confirmed = flow.confirmed(b, days=5, agenda="pair-agenda-7Q")
    proposed = flow.propose(b, days=6, agenda="pair-agenda-7Q")
    flow.draft(b, mentee, planned_meetings=9, notes="pair-terms-7Q")
    assert flow.submit(b)["number"] == 2
    handle_every_event(db, settings, b.id, clock)
    with Session(db) as s:
        facts = certificates.certificate_facts(s, b.id, mentee.id)
        code = certificates.new_verification_code()
        cert = certificates.store_certificate(
            s, mentorship_id=b.id, user_id=mentee.id, role="mentee", verification_code=code,
            pdf=b"%PDF-1.7 stand-in", facts=facts, now=clock.now,
        )  # fmt: skip
        notice = s.query(Notification).filter_by(user_id=mentee.id, mentorship_id=b.id).first()
        assert notice is not None
        s.commit()
        ids = {
            "mentorship_id": b.id,
            "meeting_id": proposed["id"],
            "certificate_id": cert.id,
            "notification_id": notice.id,
            "code": code,
        }
    ids["held"], ids["confirmed"] = held["id"], confirmed["id"]
    cast = {
        "mentee": mentee,
        "mentor": mentor,
        "other mentee": people.mentee(),
        "other mentor": people.mentor(),
        "operator": people.operator(),
    }
    return World(b, ids, cast, people.mentee("Spare Person"))


def _bodies(w: World, clock: Clock, who: str) -> dict[tuple[str, str], Any]:
    """A body the schema accepts for every operation that takes one, as ``who`` would send it."""
    person = w.people.get(who)
    password = person.password if person else "correct horse"
    return {
        ("POST", "/api/auth/token"): {"username": "nobody@example.org", "password": "x"},
        ("POST", "/api/auth/password"): {"current_password": password, "new_password": "a new long password"},
        ("POST", "/api/auth/forgot-password"): {"email": "nobody@example.org"},
        ("POST", "/api/auth/set-password"): {"token": "not-a-link", "password": "a new long password"},
        ("POST", "/api/users"): {
            "email": f"new-{who.replace(' ', '-')}@example.org",
            "password": "long enough",
            "display_name": "New",
            "roles": ["mentee"],
        },
        ("POST", "/api/admin/invitations"): {
            "email": f"invited-{who.replace(' ', '-')}@example.org",
            "display_name": "Invited",
            "roles": ["mentee"],
        },
        ("POST", "/api/me/erase"): {"password": password},
        ("PUT", "/api/me/profile"): {"bio": "hello"},
        ("POST", "/api/mentorships"): {"mentor_id": w.people["other mentor"].id, "message": "Hi"},
        ("POST", "/api/mentorships/{mentorship_id}/accept"): {"message": "Welcome"},
        ("POST", "/api/mentorships/{mentorship_id}/decline"): {"reason": "busy"},
        ("POST", "/api/mentorships/{mentorship_id}/fit"): {"answer": "yes", "comment": ""},
        ("POST", "/api/mentorships/{mentorship_id}/closure-survey"): {
            "goals_reached": 4,
            "would_recommend": True,
        },
        ("POST", "/api/mentorships/{mentorship_id}/end"): {"reason_code": "other", "reason": "x"},
        ("POST", "/api/mentorships/{mentorship_id}/feedback"): {"rating": 1, "comment": ""},
        ("PUT", "/api/mentorships/{mentorship_id}/agreement"): TERMS,
        ("POST", "/api/mentorships/{mentorship_id}/agreement/approve"): {"number": 2},
        ("POST", "/api/mentorships/{mentorship_id}/agreement/reject"): {"number": 2, "reason": "no"},
        ("POST", "/api/mentorships/{mentorship_id}/meetings"): meeting_body(clock, days=9),
        ("POST", "/api/meetings/{meeting_id}/decline"): {"reason": "busy"},
        ("POST", "/api/meetings/{meeting_id}/cancel"): {"reason": "ill"},
        ("POST", "/api/meetings/{meeting_id}/reschedule"): {"location": "Room 2"},
        ("POST", "/api/meetings/{meeting_id}/attendance"): {"attended": False},
        ("POST", "/api/meetings/{meeting_id}/feedback"): {"rating": 1},
        ("PUT", "/api/admin/users/{user_id}/roles"): {"roles": ["mentee", "mentor"]},
        ("PUT", "/api/admin/program"): {"name": "Matrix program"},
    }


def _url(op: Op, w: World) -> str:
    ids = {**w.ids, "user_id": w.spare.id, "mentor_id": w.people["other mentor"].id}
    # attendance and feedback need a meeting that was held; cancelling and the calendar file
    # one that is confirmed
    if op.path.endswith(("/attendance", "/feedback", "/rating")) and "{meeting_id}" in op.path:
        ids["meeting_id"] = w.ids["held"]
    if op.path.endswith(("/cancel", "/calendar.ics")):
        ids["meeting_id"] = w.ids["confirmed"]
    return op.path.format(**ids)


def _call(client: TestClient, op: Op, w: World, clock: Clock, settings: Settings, who: str) -> Any:
    person = w.people.get(who)
    # a new sign-in for every call: signing out or a new password must not end the next call's
    headers = {}
    if person is not None:
        headers["Authorization"] = f"Bearer {mint_token(person.engine, settings, person.id, now=clock.now)}"
    body = _bodies(w, clock, who).get((op.method, op.path))
    kw: dict[str, Any] = {}
    if op.media == "application/x-www-form-urlencoded":
        kw["data"] = body
    elif op.has_body:
        kw["json"] = body
    return client.request(op.method, _url(op, w), headers=headers, **kw)


def _pair_state(client: TestClient, flow: Flow, w: World) -> dict[str, Any]:
    """All that a refused request must leave as it was, read by the pair themselves."""
    b = w.pair
    mentee, mentor = w.people["mentee"], w.people["mentor"]
    cert = client.get(f"/api/certificates/{w.ids['certificate_id']}.pdf", headers=mentee.auth)
    return {
        "as mentee": flow.state(b, mentee),
        "as mentor": flow.state(b, mentor),
        "notifications": [
            client.get("/api/me/notifications", headers=p.auth).json() for p in (mentee, mentor)
        ],
        "certificates": client.get("/api/me/certificates", headers=mentee.auth).json(),
        "pdf": cert.content,
    }


def test_every_operation_without_sign_in_is_listed_as_public(openapi: dict[str, Any]) -> None:
    """The document says which operations need no sign-in; the matrix's list must agree."""
    open_ = {(o.method, o.path) for o in operations(openapi) if not _secured(openapi, o)}
    assert open_ == PUBLIC


def test_every_write_body_of_the_matrix_is_valid(openapi: dict[str, Any], world: World, clock: Clock) -> None:
    """Each body matches its operation's schema: a refusal is about who asks, not what."""
    bodies = _bodies(world, clock, "mentee")
    for op in operations(openapi):
        if not op.has_body:
            continue
        assert (op.method, op.path) in bodies, f"{op}: give it a valid body in _bodies"
        schema = openapi["paths"][op.path][op.method.lower()]["requestBody"]["content"][op.media]["schema"]
        jsonschema.validate(bodies[(op.method, op.path)], {**schema, "components": openapi["components"]})


def test_the_authorization_matrix(
    client: TestClient,
    openapi: dict[str, Any],
    world: World,
    flow: Flow,
    clock: Clock,
    settings: Settings,
    woken: list[int],
) -> None:
    w = world
    before = _pair_state(client, flow, w)
    woken.clear()
    wrong: list[str] = []
    for op in operations(openapi):
        for who in ROLES:
            if who in ("mentee", "mentor") and op.write and not op.for_operators:
                if not (who == "mentor" and op.personal):
                    continue  # the pair's own writes: allowed by the lifecycle rules, tested there
            r = _call(client, op, w, clock, settings, who)
            expected = _expected(op, who)
            if r.status_code not in expected:
                wrong.append(f"{who:>12}  {op}: {r.status_code}, expected {sorted(expected)}  {r.text[:120]}")
            public = (op.method, op.path) in PUBLIC  # /verify shows the holder, by design
            if not public and (who in OUTSIDERS or (who == "mentor" and op.personal)):
                wrong += [f"{who:>12}  {op}: names {s!r}" for s in SECRETS if s in r.text]
    assert not wrong, "\n".join(wrong)
    assert _pair_state(client, flow, w) == before
    assert w.pair.id not in woken


ANY = set(range(200, 600)) - {401, *range(500, 600)}
REFUSED = {403, 404}


def _expected(op: Op, who: str) -> set[int]:
    """The statuses ``who`` may get for ``op`` on the pair's objects."""
    if (op.method, op.path) in PUBLIC:
        return ANY | {401}  # wrong passwords and links are 401/422: what is tested is no 5xx
    if who == "anonymous":
        return {401}
    if op.for_operators:
        return ANY - {403} if who == "operator" else {403}
    if op.personal:  # the pair's mentee's own certificate or notification
        if who == "mentee" or (who == "operator" and op.path in OPERATORS_READ_TOO):
            return {200}
        return REFUSED
    if op.of_the_pair:
        if who in OUTSIDERS:
            return REFUSED
        if who == "operator":
            return {403} if op.write else ({200} if op.path not in FOR_ATTENDEES else REFUSED)
        return {200}  # the pair reads its shared record
    return ANY  # one's own things (profile, lists, requests): the lists are checked for SECRETS


def _secured(spec: dict[str, Any], op: Op) -> bool:
    return bool(spec["paths"][op.path][op.method.lower()].get("security"))


def test_the_mentor_cannot_read_the_mentees_draft_of_pair_b_nor_vice_versa(
    client: TestClient, flow: Flow
) -> None:
    b = flow.pair("intro")
    flow.approved_agreement(b)
    flow.draft(b, b.mentor, notes="mentor's private thoughts")
    assert "private thoughts" not in client.get(f"{b.url}/agreement", headers=b.mentee.auth).text
    assert "private thoughts" not in client.get(f"{b.url}/events", headers=b.mentee.auth).text
    assert "private thoughts" in client.get(f"{b.url}/agreement", headers=b.mentor.auth).text


# --- the portal's pages and forms -----------------------------------------------------------

#: Portal pages anyone may open (signing in and out, passwords by mail, the form behind a
#: mailed feedback link and the survey behind a mailed survey link, which their signed links
#: open: tests/portal/test_feedback_form.py and tests/api/test_surveys.py check the links).
PORTAL_PUBLIC = (
    "/portal/login",
    "/portal/logout",
    "/portal/password",
    "/portal/{collection}/",
    "/portal/mentorships/{mentorship_id}/survey/",
)
#: One form that every portal form of the pair's objects accepts (each reads its own fields).
FORM = {
    "reason": "busy",
    "reason_code": "other",
    "number": "2",
    "rating": "1",
    "comment": "",
    "answer": "yes",
    "goals_reached": "4",
    "would_recommend": "yes",
    "attended": "no",
    "starts_at": "2026-04-20T10:00",
    "duration_minutes": "45",
    "mode": "video",
    "agenda": "x",
    "topics": "career",
    "period_start": "2026-03-05",
    "period_end": "2026-09-30",
    "planned_meetings": "6",
    "contact_modes": "video",
    "contact_frequency": "monthly",
    "plan_topic_0": "career",
    "plan_notes_0": "",
    "notes": "",
}


def portal_routes(client: TestClient) -> list[Op]:
    """Every portal page and form, from the app's routes (routers included)."""
    found = {
        Op(method, path, method == "POST", "form")
        for route in iter_route_contexts(client.app.routes)  # type: ignore[attr-defined]
        if (path := route.path or "").startswith("/portal")
        for method in route.methods or ()
        if method != "HEAD"
    }
    return sorted(found, key=lambda o: (o.path, o.method))


def _portal_call(client: TestClient, op: Op, w: World, clock: Clock, settings: Settings, who: str) -> Any:
    client.cookies.clear()
    person = w.people.get(who)
    form = dict(FORM)
    if person is not None:
        token = mint_token(person.engine, settings, person.id, now=clock.now)
        client.cookies.set(COOKIE, token, path="/portal")
        form[CSRF_FIELD] = csrf_token(settings.secret_key, token)
    url = _url(op, w)
    try:
        if op.write:
            return client.post(url, data=form, follow_redirects=False)
        return client.get(url, follow_redirects=False)
    finally:
        client.cookies.clear()


def test_the_portal_matrix(
    client: TestClient, world: World, flow: Flow, clock: Clock, settings: Settings, woken: list[int]
) -> None:
    """The same rules through the portal: anonymous visitors are sent to sign in, outsiders
    and operators find none of the pair's pages or forms, and nothing of the pair changes."""
    w = world
    before = _pair_state(client, flow, w)
    woken.clear()
    wrong: list[str] = []
    for op in portal_routes(client):
        if op.path.startswith(PORTAL_PUBLIC) or op.path.endswith("/erase"):
            continue
        for who in ("anonymous", *OUTSIDERS, "operator"):
            if who != "anonymous" and not op.of_the_pair:
                continue  # their own pages: not the pair's
            r = _portal_call(client, op, w, clock, settings, who)
            if who == "anonymous":
                to_login = r.status_code in (302, 303, 307) and "/portal/login" in r.headers["location"]
                if not (to_login or r.status_code in (401, 403)):
                    wrong.append(f"{who:>12}  {op}: {r.status_code} {r.headers.get('location', '')}")
            elif r.status_code not in (403, 404) and not (
                who == "operator" and not op.write and r.is_success
            ):
                wrong.append(f"{who:>12}  {op}: {r.status_code} {r.headers.get('location', '')}")
            if who != "operator":
                wrong += [f"{who:>12}  {op}: names {s!r}" for s in SECRETS if s in r.text]
    assert not wrong, "\n".join(wrong)
    assert _pair_state(client, flow, w) == before
    assert w.pair.id not in woken
