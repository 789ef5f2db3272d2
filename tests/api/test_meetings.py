"""Meetings: propose, confirm or decline, cancel, attendance, feedback, calendar invite."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from icalendar import Calendar

from tests.api.helpers import TERMS, Flow, invalid, meeting_body, problem
from tests.support import Clock, People


def test_the_mentee_proposes_the_get_to_know_you_meeting(
    client: TestClient, clock: Clock, flow: Flow, woken: list[int]
) -> None:
    p = flow.pair("intro")
    woken.clear()
    body = meeting_body(clock, days=3, topics=["career", "cv"], agenda="Hello")
    r = client.post(f"{p.url}/meetings", json=body, headers=p.mentee.auth)
    assert r.status_code == 201, r.text
    m = r.json()
    assert (m["status"], m["is_intro"], m["is_final"]) == ("proposed", True, False)
    assert m["mentorship_id"] == p.id
    assert datetime.fromisoformat(m["starts_at"]) == datetime.fromisoformat(body["starts_at"])
    assert (m["duration_minutes"], m["mode"], m["topics"]) == (45, "video", ["career", "cv"])
    assert m["attendance"] == {"mentee": None, "mentor": None}
    assert woken == [p.id]
    ms = client.get(p.url, headers=p.mentor.auth).json()
    assert ms["next_meeting"]["id"] == m["id"]
    assert ms["waiting_for"]["who"] == "mentor"
    assert ms["waiting_for"]["action"] == "confirm_meeting"
    ev = flow.events(p)[-1]
    assert ev["type"] == "meeting.proposed"
    assert ev["payload"]["meeting_id"] == m["id"]
    # the next one is an ordinary meeting
    assert flow.propose(p, days=5)["is_intro"] is False


def test_proposals_that_break_a_rule_are_conflicts(client: TestClient, clock: Clock, flow: Flow) -> None:
    p = flow.pair("intro")
    before = flow.state(p)
    url = f"{p.url}/meetings"
    problem(client.post(url, json=meeting_body(clock), headers=p.mentor.auth), 409, detail="only the mentee")
    problem(client.post(url, json=meeting_body(clock, days=-1), headers=p.mentee.auth), 409, detail="future")
    problem(client.post(url, json=meeting_body(clock, days=0), headers=p.mentee.auth), 409, detail="future")
    problem(
        client.post(url, json=meeting_body(clock, is_final=True), headers=p.mentee.auth),
        409,
        detail="approved agreement",
    )
    assert flow.state(p) == before


@pytest.mark.parametrize("stage", ["requested", "declined", "withdrawn", "ended"])
def test_no_meetings_nor_agreements_outside_the_working_stages(
    client: TestClient, clock: Clock, flow: Flow, stage: str
) -> None:
    p = flow.pair(stage)
    before = flow.state(p)
    r = client.post(f"{p.url}/meetings", json=meeting_body(clock), headers=p.mentee.auth)
    problem(r, 409, detail=stage)
    r = client.put(f"{p.url}/agreement", json=TERMS, headers=p.mentee.auth)
    problem(r, 409, detail=stage)
    assert flow.state(p) == before


def test_a_final_meeting_needs_an_approved_agreement_and_only_one_at_a_time(
    client: TestClient, clock: Clock, flow: Flow
) -> None:
    p = flow.pair("intro")
    flow.approved_agreement(p)
    final = flow.propose(p, days=10, is_final=True)
    assert final["is_final"] is True
    problem(
        client.post(
            f"{p.url}/meetings", json=meeting_body(clock, days=12, is_final=True), headers=p.mentee.auth
        ),
        409,
        detail="already planned",
    )
    flow.ok("POST", f"/api/meetings/{final['id']}/cancel", p.mentee, json={"reason": "ill"})
    assert flow.propose(p, days=12, is_final=True)["is_final"] is True


INVALID_PROPOSALS: dict[str, tuple[dict[str, Any], str]] = {
    "mode": ({"mode": "carrier_pigeon"}, "mode"),
    "too short": ({"duration_minutes": 5}, "duration_minutes"),
    "too long": ({"duration_minutes": 481}, "duration_minutes"),
    "naive datetime": ({"starts_at": "2030-01-01T10:00:00"}, "starts_at"),
    "not a datetime": ({"starts_at": "next tuesday"}, "starts_at"),
    "topics not a list": ({"topics": "career"}, "topics"),
    "is_final not a bool": ({"is_final": "maybe"}, "is_final"),
    "unknown field": ({"room": 3}, "room"),
}


def test_invalid_proposals_name_the_field(client: TestClient, clock: Clock, flow: Flow) -> None:
    p = flow.pair("intro")
    before = flow.state(p)
    for case, (change, field) in INVALID_PROPOSALS.items():
        r = client.post(f"{p.url}/meetings", json=meeting_body(clock, **change), headers=p.mentee.auth)
        assert r.status_code == 422, (case, r.text)
        invalid(r, field)
    assert flow.state(p) == before


def test_a_start_in_another_time_zone_is_the_same_instant(
    client: TestClient, clock: Clock, flow: Flow
) -> None:
    p = flow.pair("intro")
    starts = (clock.now + timedelta(days=2)).astimezone(ZoneInfo("America/New_York"))
    assert starts.isoformat().endswith("-05:00")
    r = client.post(
        f"{p.url}/meetings", json=meeting_body(clock, starts_at=starts.isoformat()), headers=p.mentee.auth
    )
    assert r.status_code == 201, r.text
    assert datetime.fromisoformat(r.json()["starts_at"]) == starts
    assert r.json()["starts_at"][-6:] in ("+00:00", "-05:00") or r.json()["starts_at"][-1] == "Z"
    zulu = (clock.now + timedelta(days=3)).isoformat().replace("+00:00", "Z")
    r = client.post(f"{p.url}/meetings", json=meeting_body(clock, starts_at=zulu), headers=p.mentee.auth)
    assert r.status_code == 201, r.text


def test_only_the_mentor_confirms_or_declines(client: TestClient, people: People, flow: Flow) -> None:
    p = flow.pair("intro")
    m = flow.propose(p)
    url = f"/api/meetings/{m['id']}"
    before = flow.state(p)
    problem(client.post(f"{url}/confirm", headers=p.mentee.auth), 409, detail="only the mentor")
    problem(
        client.post(f"{url}/decline", json={"reason": "x"}, headers=p.mentee.auth),
        409,
        detail="only the mentor",
    )
    problem(client.post(f"{url}/confirm", headers=people.operator().auth), 403)
    problem(client.post(f"{url}/confirm", headers=people.mentor().auth), 404)
    assert flow.state(p) == before

    r = client.post(f"{url}/confirm", headers=p.mentor.auth)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "confirmed"
    assert r.json()["version"] > m["version"]
    assert flow.events(p)[-1]["type"] == "meeting.confirmed"
    before = flow.state(p)
    problem(client.post(f"{url}/confirm", headers=p.mentor.auth), 409, detail="confirmed")
    problem(client.post(f"{url}/decline", json={}, headers=p.mentor.auth), 409, detail="confirmed")
    assert flow.state(p) == before


def test_the_mentor_declines_with_a_reason(client: TestClient, flow: Flow) -> None:
    p = flow.pair("intro")
    m = flow.propose(p)
    r = client.post(
        f"/api/meetings/{m['id']}/decline", json={"reason": "I am travelling"}, headers=p.mentor.auth
    )
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["reason"]) == ("declined", "I am travelling")
    ev = flow.events(p)[-1]
    assert (ev["type"], ev["payload"]["reason"]) == ("meeting.declined", "I am travelling")
    # a declined get-to-know-you meeting does not count: the next proposal is the intro again
    assert flow.propose(p)["is_intro"] is True


def test_a_meeting_whose_time_passed_cannot_be_confirmed(
    client: TestClient, clock: Clock, flow: Flow
) -> None:
    p = flow.pair("intro")
    m = flow.propose(p, days=1)
    clock.advance(days=1, seconds=1)
    before = flow.state(p)
    problem(client.post(f"/api/meetings/{m['id']}/confirm", headers=p.mentor.auth), 409, detail="passed")
    assert flow.state(p) == before


@pytest.mark.parametrize("side", ["mentee", "mentor"])
@pytest.mark.parametrize("status", ["proposed", "confirmed"])
def test_either_side_cancels_a_meeting_not_yet_held(
    client: TestClient, flow: Flow, side: str, status: str
) -> None:
    p = flow.pair("intro")
    m = flow.propose(p) if status == "proposed" else flow.confirmed(p)
    who = p.mentee if side == "mentee" else p.mentor
    r = client.post(f"/api/meetings/{m['id']}/cancel", json={"reason": "sick"}, headers=who.auth)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["reason"]) == ("cancelled", "sick")
    ev = flow.events(p)[-1]
    assert (ev["type"], ev["actor_id"]) == ("meeting.cancelled", who.id)
    before = flow.state(p)
    problem(
        client.post(f"/api/meetings/{m['id']}/cancel", json={}, headers=who.auth), 409, detail="cancelled"
    )
    problem(client.post(f"/api/meetings/{m['id']}/confirm", headers=p.mentor.auth), 409)
    assert flow.state(p) == before


def test_a_held_meeting_cannot_be_cancelled(client: TestClient, flow: Flow) -> None:
    p = flow.pair("intro")
    m = flow.held_meeting(p)
    before = flow.state(p)
    for who in (p.mentee, p.mentor):
        problem(client.post(f"/api/meetings/{m['id']}/cancel", json={}, headers=who.auth), 409, detail="held")
    assert flow.state(p) == before


def test_attendance_only_after_the_start_of_a_confirmed_meeting(
    client: TestClient, clock: Clock, flow: Flow
) -> None:
    p = flow.pair("intro")
    proposed = flow.propose(p, days=1)
    confirmed = flow.confirmed(p, days=1)
    before = flow.state(p)
    for m in (proposed, confirmed):
        problem(
            client.post(
                f"/api/meetings/{m['id']}/attendance", json={"attended": True}, headers=p.mentee.auth
            ),
            409,
        )
    clock.advance(days=1, seconds=1)
    problem(
        client.post(
            f"/api/meetings/{proposed['id']}/attendance", json={"attended": True}, headers=p.mentee.auth
        ),
        409,
        detail="proposed",
    )
    after_start = flow.state(p)
    assert after_start["events"] == before["events"]
    assert after_start["meetings"] == before["meetings"]
    invalid(
        client.post(f"/api/meetings/{confirmed['id']}/attendance", json={}, headers=p.mentee.auth), "attended"
    )
    invalid(
        client.post(
            f"/api/meetings/{confirmed['id']}/attendance", json={"attended": "perhaps"}, headers=p.mentee.auth
        ),
        "attended",
    )
    r = client.post(
        f"/api/meetings/{confirmed['id']}/attendance", json={"attended": True}, headers=p.mentee.auth
    )
    assert r.status_code == 200, r.text


def test_both_yes_makes_the_meeting_held(
    client: TestClient, people: People, flow: Flow, woken: list[int]
) -> None:
    p = flow.pair("intro")
    m = flow.started(p)
    url = f"/api/meetings/{m['id']}"
    r = client.post(f"{url}/attendance", json={"attended": True}, headers=p.mentee.auth)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["attendance"]) == ("confirmed", {"mentee": True, "mentor": None})
    seen = client.get(url, headers=p.mentor.auth).json()
    assert seen["attendance"] == {"mentee": True, "mentor": None}
    waiting = client.get(p.url, headers=p.mentor.auth).json()["waiting_for"]
    assert (waiting["who"], waiting["action"]) == ("mentor", "confirm_attendance")

    woken.clear()
    r = client.post(f"{url}/attendance", json={"attended": True}, headers=p.mentor.auth)
    assert r.status_code == 200, r.text
    held = r.json()
    assert held["status"] == "held"
    assert held["held_at"] is not None
    assert held["attendance"] == {"mentee": True, "mentor": True}
    assert woken == [p.id]
    for viewer in (p.mentee, p.mentor, people.operator()):
        assert client.get(url, headers=viewer.auth).json() == held
    events = flow.events(p)
    assert [e["type"] for e in events[-2:]] == ["meeting.attendance", "meeting.held"]
    assert events[-1]["payload"]["held_count"] == 1
    assert client.get(p.url, headers=p.mentee.auth).json()["meetings_held"] == 1


@pytest.mark.parametrize("no_side", ["mentee", "mentor"])
def test_a_no_makes_the_meeting_missed(client: TestClient, flow: Flow, no_side: str) -> None:
    p = flow.pair("intro")
    m = flow.started(p)
    url = f"/api/meetings/{m['id']}/attendance"
    for side, who in (("mentee", p.mentee), ("mentor", p.mentor)):
        r = client.post(url, json={"attended": side != no_side}, headers=who.auth)
        assert r.status_code == 200, r.text
    assert r.json()["status"] == "missed"
    assert r.json()["attendance"][no_side] is False
    assert flow.events(p)[-1]["type"] == "meeting.missed"
    assert client.get(p.url, headers=p.mentee.auth).json()["meetings_held"] == 0


def test_answering_twice_the_same_is_fine_and_a_different_answer_is_refused(
    client: TestClient, flow: Flow, woken: list[int]
) -> None:
    p = flow.pair("intro")
    m = flow.started(p)
    url = f"/api/meetings/{m['id']}/attendance"
    first = client.post(url, json={"attended": True}, headers=p.mentee.auth)
    assert first.status_code == 200
    before = flow.state(p)
    again = client.post(url, json={"attended": True}, headers=p.mentee.auth)
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    assert flow.state(p) == before  # no new event, no new version
    problem(client.post(url, json={"attended": False}, headers=p.mentee.auth), 409, detail="already answered")
    assert flow.state(p) == before
    # the same holds once the meeting is held
    client.post(url, json={"attended": True}, headers=p.mentor.auth)
    before = flow.state(p)
    assert client.post(url, json={"attended": True}, headers=p.mentor.auth).status_code == 200
    problem(client.post(url, json={"attended": False}, headers=p.mentor.auth), 409)
    assert flow.state(p) == before


def test_feedback_by_attendees_once_each(
    client: TestClient, people: People, flow: Flow, woken: list[int]
) -> None:
    p = flow.pair("intro")
    m = flow.started(p)
    url = f"/api/meetings/{m['id']}/feedback"
    before = flow.state(p)
    problem(client.post(url, json={"rating": 5}, headers=p.mentee.auth), 409, detail="took part")
    assert flow.state(p) == before
    flow.ok("POST", f"/api/meetings/{m['id']}/attendance", p.mentee, json={"attended": True})
    woken.clear()
    r = client.post(url, json={"rating": 5, "comment": "Very helpful"}, headers=p.mentee.auth)
    assert r.status_code == 201, r.text
    fb = r.json()
    assert (fb["rating"], fb["comment"], fb["meeting_id"], fb["mentorship_id"]) == (
        5,
        "Very helpful",
        m["id"],
        p.id,
    )
    assert woken == [p.id]
    ev = flow.events(p)[-1]
    assert (ev["type"], ev["actor_id"], ev["payload"]["meeting_id"]) == (
        "feedback.given",
        p.mentee.id,
        m["id"],
    )
    # private to its author: the other side and operators see that it was given, not what
    for reader in (p.mentor, people.operator()):
        seen = client.get(f"{p.url}/events", headers=reader.auth).text
        seen += client.get("/api/me/activity", headers=reader.auth).text
        assert "Very helpful" not in seen
        assert '"rating"' not in seen
    before = flow.state(p)
    problem(client.post(url, json={"rating": 4}, headers=p.mentee.auth), 409, detail="already")
    problem(client.post(url, json={"rating": 4}, headers=p.mentor.auth), 409, detail="took part")
    problem(client.post(url, json={"rating": 4}, headers=people.operator().auth), 403)
    problem(client.post(url, json={"rating": 4}, headers=people.mentee().auth), 404)
    assert flow.state(p) == before
    # the mentor says yes and gives feedback too
    flow.ok("POST", f"/api/meetings/{m['id']}/attendance", p.mentor, json={"attended": True})
    assert client.post(url, json={"rating": 3}, headers=p.mentor.auth).status_code == 201


def test_who_did_not_attend_gives_no_feedback(client: TestClient, flow: Flow) -> None:
    p = flow.pair("intro")
    m = flow.started(p)
    flow.ok("POST", f"/api/meetings/{m['id']}/attendance", p.mentor, json={"attended": False})
    problem(
        client.post(f"/api/meetings/{m['id']}/feedback", json={"rating": 1}, headers=p.mentor.auth),
        409,
        detail="took part",
    )


INVALID_FEEDBACK: dict[str, tuple[dict[str, Any], str]] = {
    "zero": ({"rating": 0}, "rating"),
    "six": ({"rating": 6}, "rating"),
    "missing": ({}, "rating"),
    "not a number": ({"rating": "good"}, "rating"),
    "comment too long": ({"rating": 3, "comment": "x" * 4001}, "comment"),
}


def test_invalid_feedback_is_refused(client: TestClient, flow: Flow) -> None:
    p = flow.pair("intro")
    m = flow.held_meeting(p)
    before = flow.state(p)
    for case, (body, field) in INVALID_FEEDBACK.items():
        r = client.post(f"/api/meetings/{m['id']}/feedback", json=body, headers=p.mentee.auth)
        assert r.status_code == 422, (case, r.text)
        invalid(r, field)
    assert flow.state(p) == before
    # the bounds themselves are fine
    assert (
        client.post(
            f"/api/meetings/{m['id']}/feedback", json={"rating": 1}, headers=p.mentee.auth
        ).status_code
        == 201
    )
    assert (
        client.post(
            f"/api/meetings/{m['id']}/feedback", json={"rating": 5}, headers=p.mentor.auth
        ).status_code
        == 201
    )


def test_unknown_meetings_are_not_found(client: TestClient, people: People) -> None:
    for who in (people.mentee(), people.mentor(), people.operator()):
        problem(client.get("/api/meetings/999999", headers=who.auth), 404)
        problem(client.post("/api/meetings/999999/confirm", headers=who.auth), 404)
        problem(client.get("/api/meetings/999999/calendar.ics", headers=who.auth), 404)


def test_calendar_invite_for_a_confirmed_meeting(client: TestClient, people: People, flow: Flow) -> None:
    mentee, mentor = people.mentee("Mia Mentee"), people.mentor("Max Mentor")
    p = flow.request(mentee, mentor)
    flow.ok("POST", f"{p.url}/accept", mentor)
    m = flow.propose(p, days=3, location="Café Mitte", mode="in_person", agenda="Plans")
    url = f"/api/meetings/{m['id']}/calendar.ics"
    problem(client.get(url, headers=mentee.auth), 409, detail="confirmed")
    flow.ok("POST", f"/api/meetings/{m['id']}/confirm", mentor)

    for who in (mentee, mentor):
        r = client.get(url, headers=who.auth)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("text/calendar")
        cal = Calendar.from_ical(r.content)
        (event,) = cal.walk("VEVENT")
        assert event.decoded("dtstart") == datetime.fromisoformat(m["starts_at"])
        assert event.decoded("dtend") - event.decoded("dtstart") == timedelta(minutes=45)
        summary = str(event.get("summary"))
        assert "Mia Mentee" in summary
        assert "Max Mentor" in summary
        assert "get-to-know-you" in summary.lower()
        assert str(event.get("location")) == "Café Mitte"
        attendees = event.get("attendee")
        emails = {str(a).lower().removeprefix("mailto:") for a in attendees}
        assert emails == {mentee.email, mentor.email}
        assert str(event.get("uid"))
    # the same invite twice: same UID, so calendars update instead of duplicating
    uids = {
        str(Calendar.from_ical(client.get(url, headers=mentee.auth).content).walk("VEVENT")[0].get("uid"))
        for _ in range(2)
    }
    assert len(uids) == 1
    # not for strangers; operators watch but are not invited
    problem(client.get(url, headers=people.mentee().auth), 404)
    r = client.get(url, headers=people.operator().auth)
    assert r.status_code in (403, 404)
    problem(r, r.status_code)
    # a cancelled meeting's file removes it from calendars: same UID, a higher SEQUENCE
    invite = Calendar.from_ical(client.get(url, headers=mentor.auth).content)
    flow.ok("POST", f"/api/meetings/{m['id']}/cancel", mentee, json={"reason": "ill"})
    r = client.get(url, headers=mentor.auth)
    assert r.status_code == 200, r.text
    cancel = Calendar.from_ical(r.content)
    assert (invite.method, cancel.method) == ("REQUEST", "CANCEL")
    (before,), (after,) = invite.events, cancel.events
    assert after.uid == before.uid
    assert after.sequence > before.sequence
    assert (before.status, after.status) == ("CONFIRMED", "CANCELLED")


def test_meeting_reads_for_participants_and_operators(client: TestClient, people: People, flow: Flow) -> None:
    p = flow.pair("intro")
    m = flow.propose(p)
    url = f"/api/meetings/{m['id']}"
    bodies = [client.get(url, headers=who.auth) for who in (p.mentee, p.mentor, people.operator())]
    assert [b.status_code for b in bodies] == [200, 200, 200]
    assert bodies[0].json() == bodies[1].json() == bodies[2].json() == m
    problem(client.get(url, headers=people.mentee().auth), 404)


def test_a_meeting_that_has_started_cannot_be_cancelled_but_answered(
    client: TestClient, clock: Clock, flow: Flow
) -> None:
    p = flow.pair("intro")
    m = flow.confirmed(p, days=1)
    clock.advance(days=1, minutes=5)
    before = flow.state(p)
    problem(
        client.post(f"/api/meetings/{m['id']}/cancel", json={}, headers=p.mentee.auth),
        409,
        detail="took part",
    )
    assert flow.state(p) == before
    r = client.post(f"/api/meetings/{m['id']}/attendance", json={"attended": False}, headers=p.mentee.auth)
    assert r.status_code == 200, r.text
