"""Never 500 for anything a client sends: ids beyond any range, characters a database cannot
store, bodies that are not JSON. Refusals are problems and write nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.helpers import TERMS, Flow, invalid, meeting_body, problem
from tests.support import Clock, People

HUGE = [2**31, 2**63, 2**70]


def _refused_or_not_found(r: Any) -> None:
    """Not found, invalid, or (an agreement version that does not exist) a conflict."""
    assert r.status_code in (404, 409, 422), r.text
    problem(r, r.status_code)


@pytest.mark.parametrize("big", HUGE, ids=["2^31", "2^63", "2^70"])
def test_ids_beyond_range_are_a_clear_4xx(client: TestClient, people: People, flow: Flow, big: int) -> None:
    p = flow.pair("intro")
    before = flow.state(p)
    for url in (
        f"/api/mentorships/{big}",
        f"/api/mentorships/{big}/events",
        f"/api/mentorships/{big}/agreement",
        f"/api/meetings/{big}",
        f"/api/meetings/{big}/calendar.ics",
        f"/api/certificates/{big}.pdf",
    ):
        _refused_or_not_found(client.get(url, headers=p.mentee.auth))
    for url, body in (
        (f"/api/mentorships/{big}/accept", None),
        (f"/api/meetings/{big}/confirm", None),
        (f"/api/me/notifications/{big}/read", None),
        (f"{p.url}/agreement/approve", {"number": big}),
    ):
        _refused_or_not_found(client.post(url, json=body, headers=p.mentor.auth))
    _refused_or_not_found(
        client.post("/api/mentorships", json={"mentor_id": big, "message": "x"}, headers=people.mentee().auth)
    )
    assert flow.state(p) == before


def test_text_with_a_nul_character_is_stored_or_refused_but_never_breaks(
    client: TestClient, clock: Clock, flow: Flow
) -> None:
    p = flow.pair("intro")
    before = flow.state(p)
    r = client.put(f"{p.url}/agreement", json={**TERMS, "notes": "a\x00b"}, headers=p.mentee.auth)
    if r.status_code != 200:
        problem(r, 422)
        assert flow.state(p) == before
    r = client.post(f"{p.url}/meetings", json=meeting_body(clock, agenda="x\x00y"), headers=p.mentee.auth)
    assert r.status_code in (201, 422), r.text
    # the pair still works afterwards
    assert flow.propose(p)["status"] == "proposed"


NOT_JSON = {
    "broken json": (b"{not json", "application/json"),
    "not utf-8": (b"\xff\xfe\x00", "application/json"),
    "array": (b"[1, 2]", "application/json"),
    "form": (b"mentor_id=1", "application/x-www-form-urlencoded"),
    "empty": (b"", "application/json"),
}


UNREADABLE = ("broken json", "not utf-8")


def test_bodies_that_are_not_the_expected_json_are_refused(client: TestClient, flow: Flow) -> None:
    """A body that cannot be read at all is a 400, one that reads but does not fit a 422."""
    p = flow.pair("intro")
    before = flow.state(p)
    for case, (content, ctype) in NOT_JSON.items():
        r = client.post(
            f"{p.url}/meetings", content=content, headers={**p.mentee.auth, "content-type": ctype}
        )
        if case in UNREADABLE:
            body = problem(r, 400, detail="well-formed JSON")
            assert body["type"] == "/problems/unreadable-body", case
        else:
            assert r.status_code == 422, (case, r.text)
            assert problem(r, 422)["errors"], case
    assert flow.state(p) == before


def test_a_malformed_body_is_a_400_in_the_readers_language(client: TestClient, flow: Flow) -> None:
    p = flow.pair("requested")
    before = flow.state(p)
    headers = {**p.mentor.auth, "content-type": "application/json", "accept-language": "de"}
    r = client.post(f"{p.url}/decline", content=b'{"reason": "no",', headers=headers)
    body = problem(r, 400, detail="JSON")
    assert (body["title"], body["type"]) == ("Ungültige Anfrage", "/problems/unreadable-body")
    assert flow.state(p) == before


def test_timestamps_carry_an_offset(client: TestClient, flow: Flow) -> None:
    p = flow.pair("intro")
    m = flow.propose(p)
    body = client.get(p.url, headers=p.mentee.auth).json()
    stamps = [
        body["requested_at"],
        body["accepted_at"],
        body["last_activity_at"],
        m["starts_at"],
        *(e["occurred_at"] for e in flow.events(p)),
    ]
    for stamp in stamps:
        assert stamp.endswith(("Z", "+00:00")) or stamp[-6] in "+-", stamp


@pytest.mark.parametrize(
    "starts_at",
    ["9999-12-31T23:59:59Z", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "far"],
    ids=["year 9999", "year 9999 at -14:00", "year 1 at +14:00", "two years and a day"],
)
def test_a_meeting_beyond_two_years_is_refused_and_the_pair_goes_on(
    client: TestClient, clock: Clock, flow: Flow, starts_at: str
) -> None:
    p = flow.pair("intro")
    before = flow.state(p)
    if starts_at == "far":
        starts_at = (clock.now + timedelta(days=2 * 366, seconds=1)).isoformat()
    r = client.post(f"{p.url}/meetings", json=meeting_body(clock, starts_at=starts_at), headers=p.mentee.auth)
    body = invalid(r, "starts_at")
    assert "two years" in body["detail"]
    assert flow.state(p) == before
    # the pair still plans meetings, pages and calendar files still answer for both
    meeting = flow.confirmed(p, days=2 * 366 - 1)
    for who in (p.mentee, p.mentor):
        assert client.get(p.url, headers=who.auth).status_code == 200
        assert client.get(f"/api/meetings/{meeting['id']}/calendar.ics", headers=who.auth).status_code == 200


def test_an_agreement_period_beyond_the_bounds_is_refused(
    client: TestClient, clock: Clock, flow: Flow
) -> None:
    p = flow.pair("intro")
    before = flow.state(p)
    today = clock.now.date()
    cases = {
        "period_start": [
            {"period_start": "9999-12-01", "period_end": "9999-12-31"},
            {"period_start": (today - timedelta(days=6 * 366)).isoformat(), "period_end": today.isoformat()},
        ],
        "period_end": [{"period_start": today.isoformat(), "period_end": "9999-12-31"}],
    }
    for field, bodies in cases.items():
        for dates in bodies:
            r = client.put(f"{p.url}/agreement", json={**TERMS, **dates}, headers=p.mentee.auth)
            invalid(r, field)
    assert flow.state(p) == before
    ok = {"period_start": today.isoformat(), "period_end": (today + timedelta(days=5 * 365)).isoformat()}
    assert client.put(f"{p.url}/agreement", json={**TERMS, **ok}, headers=p.mentee.auth).status_code == 200


def test_every_topic_in_a_list_has_a_size_limit(client: TestClient, people: People, flow: Flow) -> None:
    """30 topics of 100,000 characters each used to be stored (over 1 MB is a 413 now, and
    inside it each topic is 200 characters at most)."""
    mentee, mentor = people.mentee(), people.mentor()
    huge = ["x" * 100_000] * 9
    before = client.get("/api/me", headers=mentee.auth).json()
    invalid(
        client.put("/api/me/profile", headers=mentee.auth, json={"mentee": {"topics": huge}}),
        "mentee.topics.0",
    )
    invalid(
        client.put("/api/me/profile", headers=mentor.auth, json={"mentor": {"topics": ["ok", "y" * 201]}}),
        "mentor.topics.1",
    )
    assert client.get("/api/me", headers=mentee.auth).json() == before
    fine = client.put("/api/me/profile", headers=mentee.auth, json={"mentee": {"topics": ["z" * 200]}})
    assert fine.status_code == 200, fine.text

    p = flow.pair("intro")
    state = flow.state(p)
    r = client.post(
        f"{p.url}/meetings", headers=p.mentee.auth, json=meeting_body(flow.clock, topics=["t" * 201])
    )
    invalid(r, "topics.0")
    assert flow.state(p) == state
