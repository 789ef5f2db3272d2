"""A whole mentorship through HTTP, from request to the final meeting held."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from tests.support import Clock, People


def test_walk_from_request_to_final_meeting_held(client: TestClient, people: People, clock: Clock) -> None:
    mentee, mentor = people.mentee("Mia Mentee"), people.mentor("Max Mentor")
    r = client.post("/api/mentorships", json={"mentor_id": mentor.id, "message": "Hi!"}, headers=mentee.auth)
    assert r.status_code == 201, r.text
    mid = r.json()["id"]
    assert r.json()["stage"] == "requested"
    assert r.json()["waiting_for"]["who"] == "mentor"

    r = client.post(f"/api/mentorships/{mid}/accept", headers=mentor.auth)
    assert r.status_code == 200, r.text
    assert r.json()["stage"] == "intro"
    starts = clock.now + timedelta(days=2)
    r = client.post(
        f"/api/mentorships/{mid}/meetings",
        headers=mentee.auth,
        json={
            "starts_at": starts.isoformat(),
            "duration_minutes": 45,
            "mode": "video",
            "location": "https://meet.example.org/abc",
            "agenda": "Get to know each other",
            "topics": ["career"],
        },
    )
    assert r.status_code == 201, r.text
    intro = r.json()
    assert intro["is_intro"] is True
    assert client.post(f"/api/meetings/{intro['id']}/confirm", headers=mentor.auth).status_code == 200
    clock.advance(days=2, minutes=5)
    for p in (mentee, mentor):
        r = client.post(f"/api/meetings/{intro['id']}/attendance", json={"attended": True}, headers=p.auth)
        assert r.status_code == 200, r.text
    assert r.json()["status"] == "held"

    terms = {
        "period_start": "2026-03-05",
        "period_end": "2026-09-30",
        "planned_meetings": 1,
        "contact_modes": ["video", "email"],
        "contact_frequency": "every two weeks",
        "content_plan": [{"topic": "career", "notes": "next steps"}],
    }
    assert client.put(f"/api/mentorships/{mid}/agreement", json=terms, headers=mentee.auth).status_code == 200
    r = client.post(f"/api/mentorships/{mid}/agreement/submit", headers=mentee.auth)
    assert r.json()["status"] == "pending"
    r = client.post(f"/api/mentorships/{mid}/agreement/approve", json={"number": 1}, headers=mentor.auth)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved"

    final_at = clock.now + timedelta(days=14)
    r = client.post(
        f"/api/mentorships/{mid}/meetings",
        headers=mentee.auth,
        json={
            "starts_at": final_at.isoformat(),
            "duration_minutes": 60,
            "mode": "in_person",
            "location": "Café Mitte",
            "is_final": True,
        },
    )
    assert r.status_code == 201, r.text
    final = r.json()
    assert client.post(f"/api/meetings/{final['id']}/confirm", headers=mentor.auth).status_code == 200
    clock.advance(days=14, hours=1)
    for p in (mentee, mentor):
        client.post(f"/api/meetings/{final['id']}/attendance", json={"attended": True}, headers=p.auth)
    r = client.get(f"/api/meetings/{final['id']}", headers=mentee.auth)
    assert r.json()["status"] == "held"
    assert r.json()["attendance"] == {"mentee": True, "mentor": True}

    events = client.get(f"/api/mentorships/{mid}/events", headers=mentor.auth).json()
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[-1]["type"] == "meeting.held"
    assert events[-1]["payload"]["is_final"] is True
    m = client.get(f"/api/mentorships/{mid}", headers=mentee.auth).json()
    assert m["meetings_held"] == 2
