"""Moving a meeting: either side, before it starts; the mentor confirms a move again (their own
move is that confirmation); refusals change nothing; the calendar file follows each change."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
from fastapi.testclient import TestClient
from icalendar import Calendar
from sqlalchemy.orm import Session

from services import engine_state
from tasks.run_status import summary_line
from tests.api.helpers import Flow, invalid, problem
from tests.support import Clock, People, Person


def at(clock: Clock, days: float) -> str:
    return (clock.now + timedelta(days=days)).isoformat()


def test_the_mentee_moves_a_confirmed_meeting_and_the_mentor_confirms_it_again(
    client: TestClient, clock: Clock, flow: Flow, woken: list[int]
) -> None:
    p = flow.pair("intro")
    m = flow.confirmed(p, days=3)
    woken.clear()
    url = f"/api/meetings/{m['id']}/reschedule"
    body = {"starts_at": at(clock, 4), "mode": "in_person", "location": "Café Mitte"}
    headers = {**p.mentee.auth, "If-Match": str(m["version"]), "Idempotency-Key": "move-1"}

    r = client.post(url, json=body, headers=headers)

    assert r.status_code == 200, r.text
    moved = r.json()
    assert moved["status"] == "proposed"
    assert datetime.fromisoformat(moved["starts_at"]) == datetime.fromisoformat(body["starts_at"])
    assert (moved["mode"], moved["location"], moved["duration_minutes"]) == ("in_person", "Café Mitte", 45)
    assert (moved["agenda"], moved["topics"], moved["is_intro"]) == (m["agenda"], m["topics"], True)
    assert moved["version"] > m["version"]
    assert woken == [p.id]
    event = flow.events(p)[-1]
    assert (event["type"], event["payload"]["meeting_id"], event["payload"]["status"]) == (
        "meeting.rescheduled",
        m["id"],
        "proposed",
    )
    assert flow.get(p.url, p.mentee)["waiting_for"]["action"] == "confirm_meeting"
    # the same request again (a retry) is answered from the first, nothing moves twice
    again = client.post(url, json=body, headers=headers)
    assert again.json() == moved
    assert [e["type"] for e in flow.events(p)].count("meeting.rescheduled") == 1
    # not in calendars until the mentor confirms the new time
    problem(client.get(f"/api/meetings/{m['id']}/calendar.ics", headers=p.mentee.auth), 409)
    confirmed = flow.ok("POST", f"/api/meetings/{m['id']}/confirm", p.mentor)
    assert confirmed["status"] == "confirmed"


def test_the_mentors_move_is_their_confirmation_and_keeps_what_was_not_sent(
    client: TestClient, clock: Clock, flow: Flow
) -> None:
    p = flow.pair("intro")
    m = flow.propose(p, days=3)
    r = client.post(
        f"/api/meetings/{m['id']}/reschedule", json={"duration_minutes": 90}, headers=p.mentor.auth
    )
    assert r.status_code == 200, r.text
    moved = r.json()
    assert (moved["status"], moved["duration_minutes"]) == ("confirmed", 90)
    assert (moved["starts_at"], moved["mode"], moved["location"]) == (
        m["starts_at"],
        m["mode"],
        m["location"],
    )
    ics = client.get(f"/api/meetings/{m['id']}/calendar.ics", headers=p.mentee.auth)
    (event,) = Calendar.from_ical(ics.content).events
    assert event.end - event.start == timedelta(minutes=90)


def test_a_move_that_breaks_a_rule_is_refused_and_changes_nothing(
    client: TestClient, clock: Clock, flow: Flow, people: People
) -> None:
    p = flow.pair("intro")
    upcoming = flow.confirmed(p, days=5)
    cancelled = flow.confirmed(p, days=6)
    flow.ok("POST", f"/api/meetings/{cancelled['id']}/cancel", p.mentor, json={"reason": "ill"})
    started = flow.started(p)  # the clock passes its start
    before = flow.state(p)

    def move(meeting: dict[str, Any], body: dict[str, Any], **headers: str) -> httpx.Response:
        url = f"/api/meetings/{meeting['id']}/reschedule"
        response: httpx.Response = client.post(url, json=body, headers={**p.mentee.auth, **headers})
        return response

    problem(move(started, {"starts_at": at(clock, 3)}), 409, detail="started")
    problem(move(cancelled, {"starts_at": at(clock, 3)}), 409, detail="cancelled")
    problem(move(upcoming, {"starts_at": at(clock, -1)}), 409, detail="future")
    problem(move(upcoming, {"starts_at": upcoming["starts_at"]}), 409, detail="already")
    invalid(move(upcoming, {"starts_at": at(clock, 800)}), "starts_at")
    invalid(move(upcoming, {"starts_at": "9999-12-31T23:59:59Z"}), "starts_at")
    invalid(move(upcoming, {"starts_at": "2026-04-01T10:00"}), "starts_at")
    invalid(move(upcoming, {"mode": "pigeon"}), "mode")
    invalid(move(upcoming, {"duration_minutes": 5}), "duration_minutes")
    problem(move(upcoming, {}), 422, detail="new time")
    stale = str(upcoming["version"] - 1)
    problem(move(upcoming, {"starts_at": at(clock, 3)}, **{"If-Match": stale}), 412)
    url = f"/api/meetings/{upcoming['id']}/reschedule"
    problem(client.post(url, json={"starts_at": at(clock, 3)}, headers=people.mentee().auth), 404)
    r = client.post(url, json={"starts_at": at(clock, 3)}, headers=people.operator().auth)
    assert r.status_code in (403, 404), r.text
    assert flow.state(p) == before


def test_what_a_moved_meeting_waits_for_reads_in_each_readers_language_and_zone(
    client: TestClient, clock: Clock, flow: Flow
) -> None:
    p = flow.pair("intro")
    m = flow.confirmed(p, days=3)
    new_start = clock.now + timedelta(days=4)  # 2026-03-06 09:00 UTC
    flow.ok(
        "POST", f"/api/meetings/{m['id']}/reschedule", p.mentee, json={"starts_at": new_start.isoformat()}
    )
    flow.ok("PUT", "/api/me/profile", p.mentee, json={"timezone": "America/New_York"})

    def waiting(who: Person, language: str) -> dict[str, Any]:
        r = client.get(p.url, headers={**who.auth, "Accept-Language": language})
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()["waiting_for"]
        return body

    for_mentor = waiting(p.mentor, "de")  # Berlin, the default zone
    assert for_mentor["what"] == "das Treffen am 06.03.2026, 10:00 bestätigen"
    for_mentee = waiting(p.mentee, "en")
    assert for_mentee["what"].startswith("confirm the meeting on Mar 6, 2026, 4:00")
    assert for_mentee["what"].endswith("AM")
    for_home = client.get("/api/mentorships", headers={**p.mentee.auth, "Accept-Language": "en"}).json()
    assert [x["waiting_for"]["what"] for x in for_home] == [for_mentee["what"]]
    # the codes stay machine-readable: the time in ISO 8601, UTC
    assert (
        for_mentor["params"]
        == for_mentee["params"]
        == {"meeting_id": m["id"], "starts_at": new_start.isoformat()}
    )
    # operators in the Prefect UI read it in English and UTC, and are told so
    with Session(flow.db) as session:
        status = engine_state.run_status(session, p.id, now=clock.now)
    assert summary_line(status) == "intro · waiting for mentor: confirm the meeting on 2026-03-06 09:00 UTC"
