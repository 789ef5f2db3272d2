"""``Idempotency-Key``: the same key and body again returns the first answer and changes
nothing; the same key with another body is refused; keys belong to one user."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from models import Notification, OutgoingEmail
from tasks.sweeps import forget_kept_for_a_while
from tests.api.helpers import TERMS, Flow, invalid, meeting_body, problem
from tests.support import Clock, People

REPLAYED = "idempotent-replayed"


def test_a_repeated_request_returns_the_first_response_and_writes_nothing(
    client: TestClient, people: People, flow: Flow, woken: list[int]
) -> None:
    mentee, mentor = people.mentee(), people.mentor()
    headers = {**mentee.auth, "Idempotency-Key": "req-1"}
    body = {"mentor_id": mentor.id, "message": "Hi"}
    first = client.post("/api/mentorships", json=body, headers=headers)
    assert first.status_code == 201, first.text
    assert REPLAYED not in first.headers
    mid = first.json()["id"]
    events = client.get(f"/api/mentorships/{mid}/events", headers=mentee.auth).json()
    assert woken == [mid]

    again = client.post("/api/mentorships", json=body, headers={**mentee.auth, "Idempotency-Key": "req-1"})
    assert again.status_code == 201, again.text
    assert again.json() == first.json()
    assert again.headers[REPLAYED] == "true"
    assert again.headers["content-type"].startswith("application/json")
    assert [m["id"] for m in client.get("/api/mentorships", headers=mentee.auth).json()] == [mid]
    assert client.get(f"/api/mentorships/{mid}/events", headers=mentee.auth).json() == events
    assert woken == [mid]  # the engine is not woken for a replay


def test_a_key_is_kept_for_a_week_then_the_housekeeping_forgets_it(
    client: TestClient, people: People, clock: Clock, db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("models.db.default_engine", lambda: db)  # where the sweep task writes
    mentee, mentor = people.mentee(), people.mentor()
    headers = {**mentee.auth, "Idempotency-Key": "req-1"}
    body = {"mentor_id": mentor.id, "message": "Hi"}
    assert client.post("/api/mentorships", json=body, headers=headers).status_code == 201

    assert (
        forget_kept_for_a_while.fn(clock.now + timedelta(days=7) - timedelta(minutes=1))[
            "idempotency answers"
        ]
        == 0
    )
    assert client.post("/api/mentorships", json=body, headers=headers).headers[REPLAYED] == "true"

    assert forget_kept_for_a_while.fn(clock.now + timedelta(days=7, minutes=1))["idempotency answers"] == 1
    late = client.post("/api/mentorships", json=body, headers=headers)  # a new request now
    problem(late, 409)  # refused by the rules (one open request per mentor): nothing written twice
    assert len(client.get("/api/mentorships", headers=mentee.auth).json()) == 1


def test_a_replayed_decision_is_not_refused_as_already_decided(client: TestClient, flow: Flow) -> None:
    p = flow.pair("requested")
    headers = {**p.mentor.auth, "Idempotency-Key": "accept-it"}
    first = client.post(f"{p.url}/accept", headers=headers)
    assert first.status_code == 200
    before = flow.state(p)
    again = client.post(f"{p.url}/accept", headers=headers)
    assert (again.status_code, again.json()) == (200, first.json())
    assert again.headers[REPLAYED] == "true"
    assert flow.state(p) == before
    # without the key it is a new request, refused by the rules
    problem(client.post(f"{p.url}/accept", headers=p.mentor.auth), 409)


def test_replays_for_every_kind_of_write(client: TestClient, clock: Clock, flow: Flow) -> None:
    p = flow.pair("intro")
    steps = [
        ("PUT", f"{p.url}/agreement", p.mentee, TERMS, 200),
        ("POST", f"{p.url}/agreement/submit", p.mentee, None, 200),
        ("POST", f"{p.url}/agreement/approve", p.mentor, {"number": 1}, 200),
        ("POST", f"{p.url}/meetings", p.mentee, meeting_body(clock, days=1), 201),
    ]
    for n, (method, url, who, body, status) in enumerate(steps):
        headers = {**who.auth, "Idempotency-Key": f"step-{n}"}
        first = client.request(method, url, json=body, headers=headers)
        assert first.status_code == status, first.text
        before = flow.state(p)
        again = client.request(method, url, json=body, headers=headers)
        assert (again.status_code, again.json()) == (status, first.json()), url
        assert flow.state(p) == before
    meeting_id = first.json()["id"]
    for n, (url, who, body, status) in enumerate(
        [
            (f"/api/meetings/{meeting_id}/confirm", p.mentor, None, 200),
            (f"/api/meetings/{meeting_id}/attendance", p.mentee, {"attended": True}, 200),
            (f"/api/meetings/{meeting_id}/feedback", p.mentee, {"rating": 4}, 201),
        ]
    ):
        if n == 1:
            clock.advance(days=1, minutes=1)
        headers = {**who.auth, "Idempotency-Key": f"meeting-{n}"}
        first = client.post(url, json=body, headers=headers)
        assert first.status_code == status, first.text
        before = flow.state(p)
        again = client.post(url, json=body, headers=headers)
        assert (again.status_code, again.json()) == (status, first.json()), url
        assert flow.state(p) == before


def test_the_same_key_with_another_body_is_refused(
    client: TestClient, people: People, woken: list[int]
) -> None:
    mentee, mentor, other = people.mentee(), people.mentor(), people.mentor()
    headers = {**mentee.auth, "Idempotency-Key": "k"}
    assert (
        client.post(
            "/api/mentorships", json={"mentor_id": mentor.id, "message": "Hi"}, headers=headers
        ).status_code
        == 201
    )
    woken.clear()
    r = client.post("/api/mentorships", json={"mentor_id": other.id, "message": "Hi"}, headers=headers)
    problem(r, 422, detail="idempotency-key")
    invalid(r, "idempotency-key")
    # nor for another operation
    problem(client.post("/api/mentorships/1/withdraw", headers=headers), 422)
    assert len(client.get("/api/mentorships", headers=mentee.auth).json()) == 1
    assert client.get("/api/mentorships", headers=other.auth).json() == []
    assert woken == []


def test_keys_belong_to_their_user(client: TestClient, people: People) -> None:
    mentor = people.mentor(capacity=5)
    ids = set()
    for mentee in (people.mentee(), people.mentee()):
        r = client.post(
            "/api/mentorships",
            json={"mentor_id": mentor.id, "message": "Hi"},
            headers={**mentee.auth, "Idempotency-Key": "shared-key"},
        )
        assert r.status_code == 201, r.text
        assert "idempotent-replayed" not in r.headers
        assert r.json()["mentee"]["id"] == mentee.id
        ids.add(r.json()["id"])
    assert len(ids) == 2


def test_a_refused_request_is_not_remembered(client: TestClient, flow: Flow) -> None:
    """Only accepted writes are stored: after a refusal the key may be used again."""
    p = flow.pair("requested")
    headers = {**p.mentee.auth, "Idempotency-Key": "try"}
    problem(client.post(f"{p.url}/accept", headers=headers), 409)
    r = client.post(f"{p.url}/withdraw", headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["stage"] == "withdrawn"


def test_an_overlong_key_is_invalid(client: TestClient, flow: Flow) -> None:
    p = flow.pair("requested")
    r = client.post(f"{p.url}/accept", headers={**p.mentor.auth, "Idempotency-Key": "k" * 201})
    invalid(r, "idempotency-key")
    assert client.get(p.url, headers=p.mentor.auth).json()["stage"] == "requested"


@pytest.mark.parametrize("op", ["create user", "update profile", "read notification"])
def test_writes_outside_mentorships_replay_too(client: TestClient, people: People, op: str) -> None:
    operator, mentor = people.operator(), people.mentor()
    method, url, who, body = {
        "create user": (
            "POST",
            "/api/users",
            operator,
            {
                "email": "new@example.org",
                "password": "long enough",
                "display_name": "New",
                "roles": ["mentee"],
            },
        ),
        "update profile": ("PUT", "/api/me/profile", mentor, {"mentor": {"capacity": 4}}),
        "read notification": ("POST", "/api/me/notifications/999999/read", mentor, None),
    }[op]
    headers = {**who.auth, "Idempotency-Key": "once"}
    first = client.request(method, url, json=body, headers=headers)
    again = client.request(method, url, json=body, headers=headers)
    assert again.status_code == first.status_code, (first.text, again.text)
    assert again.json() == first.json()
    if first.status_code < 400:
        assert again.headers.get(REPLAYED) == "true"


def test_sent_mail_text_and_old_notifications_are_forgotten_after_their_retention(
    people: People, clock: Clock, db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sent mails keep their row (so they never go out twice) but lose their text after 90
    days; unsent mail keeps it; notifications go after a year (the defaults)."""
    monkeypatch.setattr("models.db.default_engine", lambda: db)
    mentee = people.mentee()
    with Session(db) as s:
        for key, sent_at in (("old", clock.now), ("unsent", None)):
            s.add(
                OutgoingEmail(
                    dedupe_key=key,
                    user_id=mentee.id,
                    recipient=mentee.email,
                    kind="request_accepted",
                    subject="Max accepted your request",
                    body_text="Dear Mia, ...",
                    body_html="<p>Dear Mia</p>",
                    created_at=clock.now,
                    sent_at=sent_at,
                    attempts=1 if sent_at else 0,
                )  # fmt: skip
            )
        s.add(Notification(user_id=mentee.id, kind="request_accepted", dedupe_key="n", created_at=clock.now))
        s.commit()

    first = forget_kept_for_a_while.fn(clock.now + timedelta(days=89))
    later = forget_kept_for_a_while.fn(clock.now + timedelta(days=91))
    last = forget_kept_for_a_while.fn(clock.now + timedelta(days=366))

    assert (first["mail bodies"], later["mail bodies"], last["mail bodies"]) == (0, 1, 0)
    assert (later["notifications"], last["notifications"]) == (0, 1)
    with Session(db) as s:
        mails = {m.dedupe_key: m for m in s.scalars(select(OutgoingEmail))}
        assert "Mia" not in mails["old"].body_text + mails["old"].body_html + mails["old"].subject
        assert mails["unsent"].body_text == "Dear Mia, ..."
        assert s.scalar(select(func.count()).select_from(Notification)) == 0
