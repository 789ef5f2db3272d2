"""Achievements grouped: every milestone reached or not, and how often each activity was done;
the single achievements stay newest first."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from api.portal.session import COOKIE
from models.settings import Settings
from services import consequences
from services.events import events_of
from tests.api.helpers import Flow, Pair
from tests.support import Clock


def handle_events(db: Engine, pair: Pair, settings: Settings, clock: Clock) -> None:
    """What the task workers do with the log (achievements among it)."""
    with Session(db) as s:
        for event in events_of(s, pair.id):
            consequences.apply(s, event, secret_key=settings.secret_key, now=clock.now)
        s.commit()


def test_achievements_grouped_with_milestones(
    client: TestClient, flow: Flow, db: Engine, clock: Clock, settings: Settings
) -> None:
    pair = flow.pair("active")
    for _ in range(2):
        flow.held_meeting(pair)
    handle_events(db, pair, settings, clock)

    r = client.get("/api/me/achievements/summary", headers=pair.mentee.auth)

    assert r.status_code == 200, r.text
    summary = r.json()
    milestones = {g["kind"]: g["count"] for g in summary["milestones"]}
    assert milestones == {"first_meeting_held": 1, "five_meetings_held": 0, "agreement_kept_to_plan": 0}
    activities = [(g["kind"], g["count"]) for g in summary["activities"]]
    assert activities == [
        ("request_sent", 1),
        ("agreement_submitted", 1),
        ("agreement_approved", 1),
        ("meeting_proposed", 2),
        ("meeting_held", 2),
    ]
    assert summary["total"] == 1 + 7
    single = client.get("/api/me/achievements", headers=pair.mentee.auth).json()
    assert len(single) == summary["total"]
    assert [a["earned_at"] for a in single] == sorted((a["earned_at"] for a in single), reverse=True)
    mentor = {
        g["kind"]: g["count"]
        for g in client.get("/api/me/achievements/summary", headers=pair.mentor.auth).json()["activities"]
    }
    assert mentor == {"request_accepted": 1, "agreement_approved": 1, "meeting_held": 2}

    page = client.get("/portal/profile", headers={"Cookie": f"{COOKIE}={pair.mentee.token}"})
    words = " ".join(re.sub(r"<[^>]+>", " ", page.text).split())
    assert "★ First meeting held" in words
    assert "☆ Five meetings held · not yet" in words
    assert "Meetings held 2" in words


def test_nothing_earned_yet(client: TestClient, flow: Flow) -> None:
    newcomer = flow.people.mentee()
    summary = client.get("/api/me/achievements/summary", headers=newcomer.auth).json()
    assert summary["total"] == 0
    assert summary["activities"] == []
    assert [g["count"] for g in summary["milestones"]] == [0, 0, 0]
