"""Notifications, achievements, activity and certificates: each person sees only their own."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from models import Achievement, Notification
from tests.api.helpers import Flow, problem
from tests.support import Clock, People, Person


def _notify(db: Engine, person: Person, kind: str, at: object, mentorship_id: int | None = None) -> int:
    with Session(db) as s:
        n = Notification(
            user_id=person.id,
            mentorship_id=mentorship_id,
            kind=kind,
            params={"n": kind},
            dedupe_key=f"test:{kind}",
            created_at=at,
        )
        s.add(n)
        s.commit()
        return n.id


def _achieve(db: Engine, person: Person, kind: str, at: object) -> int:
    with Session(db) as s:
        a = Achievement(
            user_id=person.id,
            mentorship_id=None,
            kind=kind,
            params={"k": kind},
            dedupe_key=f"test:{kind}",
            earned_at=at,
        )
        s.add(a)
        s.commit()
        return a.id


def test_notifications_are_private_newest_first_and_can_be_marked_read(
    client: TestClient, people: People, clock: Clock, db: Engine
) -> None:
    mia, max_ = people.mentee(), people.mentor()
    old = _notify(db, mia, "request_sent", clock.now - timedelta(hours=2))
    new = _notify(db, mia, "request_accepted", clock.now - timedelta(hours=1))
    theirs = _notify(db, max_, "request_received", clock.now)

    r = client.get("/api/me/notifications", headers=mia.auth)
    assert r.status_code == 200, r.text
    assert [n["id"] for n in r.json()] == [new, old]
    assert r.json()[0]["kind"] == "request_accepted"
    assert r.json()[0]["params"] == {"n": "request_accepted"}
    assert all(n["read_at"] is None for n in r.json())
    assert [n["id"] for n in client.get("/api/me/notifications", headers=max_.auth).json()] == [theirs]
    assert client.get("/api/me/notifications", headers=people.operator().auth).json() == []

    # someone else's notification is "not found" and stays unread
    problem(client.post(f"/api/me/notifications/{theirs}/read", headers=mia.auth), 404)
    problem(client.post("/api/me/notifications/999999/read", headers=mia.auth), 404)
    assert client.get("/api/me/notifications", headers=max_.auth).json()[0]["read_at"] is None

    r = client.post(f"/api/me/notifications/{old}/read", headers=mia.auth)
    assert r.status_code == 200, r.text
    assert r.json()["id"] == old
    first_read = r.json()["read_at"]
    assert first_read is not None
    clock.advance(minutes=5)
    again = client.post(f"/api/me/notifications/{old}/read", headers=mia.auth)
    assert again.status_code == 200
    assert again.json()["read_at"] == first_read  # reading twice keeps the first time
    listed = {n["id"]: n["read_at"] for n in client.get("/api/me/notifications", headers=mia.auth).json()}
    assert listed == {new: None, old: first_read}


def test_achievements_are_private_newest_first(
    client: TestClient, people: People, clock: Clock, db: Engine
) -> None:
    mia, max_ = people.mentee(), people.mentor()
    first = _achieve(db, mia, "request_sent", clock.now - timedelta(days=2))
    second = _achieve(db, mia, "first_meeting", clock.now - timedelta(days=1))
    _achieve(db, max_, "request_accepted", clock.now)
    r = client.get("/api/me/achievements", headers=mia.auth)
    assert r.status_code == 200, r.text
    assert [a["id"] for a in r.json()] == [second, first]
    assert r.json()[0]["kind"] == "first_meeting"
    assert [a["kind"] for a in client.get("/api/me/achievements", headers=max_.auth).json()] == [
        "request_accepted"
    ]
    assert client.get("/api/me/achievements", headers=people.mentee().auth).json() == []


def test_activity_covers_own_mentorships_only_newest_first(
    client: TestClient, people: People, clock: Clock, flow: Flow
) -> None:
    mine = flow.pair("requested")
    clock.advance(minutes=1)
    flow.ok("POST", f"{mine.url}/accept", mine.mentor)
    other = flow.pair("intro")
    r = client.get("/api/me/activity", headers=mine.mentee.auth)
    assert r.status_code == 200, r.text
    feed = r.json()
    assert [(e["mentorship_id"], e["type"]) for e in feed] == [
        (mine.id, "mentorship.accepted"),
        (mine.id, "mentorship.requested"),
    ]
    assert client.get("/api/me/activity", headers=mine.mentor.auth).json() == feed
    assert {e["mentorship_id"] for e in client.get("/api/me/activity", headers=other.mentee.auth).json()} == {
        other.id
    }
    assert client.get("/api/me/activity", headers=people.mentee().auth).json() == []


def test_no_certificates_before_completion(client: TestClient, flow: Flow) -> None:
    p = flow.pair("intro")
    r = client.get("/api/me/certificates", headers=p.mentee.auth)
    assert r.status_code == 200, r.text
    assert r.json() == []
    problem(client.get("/api/certificates/999999.pdf", headers=p.mentee.auth), 404)


def test_acting_on_a_mentorship_marks_what_one_was_told_about_it_read(
    client: TestClient, flow: Flow, db: Engine, clock: Clock
) -> None:
    pair, other = flow.pair("requested"), flow.pair("requested")
    with Session(db) as s:
        for mentorship_id, key in ((pair.id, "about-this"), (other.id, "about-another")):
            s.add(
                Notification(
                    user_id=pair.mentor.id if mentorship_id == pair.id else other.mentor.id,
                    mentorship_id=mentorship_id,
                    kind="request_received",
                    params={},
                    dedupe_key=key,
                    created_at=clock.now,
                )
            )
        s.commit()

    flow.ok("POST", f"{pair.url}/accept", pair.mentor)

    with Session(db) as s:
        read = dict(s.query(Notification.dedupe_key, Notification.read_at).all())
    assert read["about-this"] is not None
    assert read["about-another"] is None  # another pair's, another person's: untouched


def test_every_notification_is_marked_read_at_once_and_only_ones_own(
    client: TestClient, people: People, db: Engine, clock: Clock
) -> None:
    tara, mira = people.mentee("Tara"), people.mentor("Mira")
    with Session(db) as s:
        for n, who in enumerate((tara, tara, tara, mira)):
            s.add(
                Notification(
                    user_id=who.id,
                    kind="request_accepted",
                    params={},
                    dedupe_key=f"n{n}",
                    created_at=clock.now,
                )
            )
        s.commit()

    r = client.post("/api/me/notifications/read", headers=tara.auth)

    assert r.status_code == 200, r.text
    assert r.json() == {"marked_read": 3}
    assert all(n["read_at"] for n in client.get("/api/me/notifications", headers=tara.auth).json())
    assert not any(n["read_at"] for n in client.get("/api/me/notifications", headers=mira.auth).json())
    assert client.post("/api/me/notifications/read", headers=tara.auth).json() == {"marked_read": 0}
