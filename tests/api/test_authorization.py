"""No participant reads or changes another pair's things; operators read everything but act
on nothing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.helpers import TERMS, Flow, Pair, meeting_body, problem
from tests.support import Clock, People


@pytest.fixture
def pair_b(flow: Flow) -> tuple[Pair, dict[str, int]]:
    """Pair B, well advanced: agreement approved, one meeting held with feedback, one proposed,
    one confirmed, an amendment pending."""
    b = flow.pair("intro")
    held = flow.held_meeting(b)
    flow.ok("POST", f"/api/meetings/{held['id']}/feedback", b.mentee, 201, json={"rating": 5})
    flow.approved_agreement(b)
    confirmed = flow.confirmed(b, days=5)
    proposed = flow.propose(b, days=6)
    flow.draft(b, b.mentee, planned_meetings=9)
    flow.submit(b)
    return b, {"held": held["id"], "confirmed": confirmed["id"], "proposed": proposed["id"]}


def _reads(b: Pair, m: dict[str, int]) -> list[str]:
    return [
        b.url,
        f"{b.url}/events",
        f"{b.url}/agreement",
        *(f"/api/meetings/{i}" for i in m.values()),
    ]


def _writes(b: Pair, m: dict[str, int], clock: Clock) -> list[tuple[str, str, Any]]:
    meeting = f"/api/meetings/{m['proposed']}"
    return [
        ("POST", f"{b.url}/accept", None),
        ("POST", f"{b.url}/decline", {"reason": "x"}),
        ("POST", f"{b.url}/withdraw", None),
        ("POST", f"{b.url}/end", {"reason_code": "other", "reason": "x"}),
        ("PUT", f"{b.url}/agreement", TERMS),
        ("POST", f"{b.url}/agreement/submit", None),
        ("POST", f"{b.url}/agreement/approve", {"number": 2}),
        ("POST", f"{b.url}/agreement/reject", {"number": 2, "reason": "x"}),
        ("POST", f"{b.url}/meetings", meeting_body(clock, days=9)),
        ("POST", f"{b.url}/feedback", {"rating": 1}),
        ("POST", f"{meeting}/confirm", None),
        ("POST", f"{meeting}/decline", {"reason": "x"}),
        ("POST", f"{meeting}/cancel", {"reason": "x"}),
        ("POST", f"/api/meetings/{m['confirmed']}/cancel", {"reason": "x"}),
        ("POST", f"/api/meetings/{m['held']}/attendance", {"attended": False}),
        ("POST", f"/api/meetings/{m['held']}/feedback", {"rating": 1}),
    ]


def _everything(flow: Flow, b: Pair) -> list[dict[str, Any]]:
    return [flow.state(b, b.mentee), flow.state(b, b.mentor)]


def test_participants_of_another_pair_neither_read_nor_change_pair_b(
    client: TestClient,
    people: People,
    clock: Clock,
    flow: Flow,
    pair_b: tuple[Pair, dict[str, int]],
    woken: list[int],
) -> None:
    """The mentee and the mentor of pair A, and someone in no pair at all, get "not found"
    for everything of pair B, and B stays as it was."""
    b, m = pair_b
    a = flow.pair("intro")
    flow.held_meeting(a)
    before = _everything(flow, b)
    woken.clear()
    for who, person in (("mentee of A", a.mentee), ("mentor of A", a.mentor), ("outsider", people.mentee())):
        for url in [*_reads(b, m), f"/api/meetings/{m['confirmed']}/calendar.ics"]:
            r = client.get(url, headers=person.auth)
            assert r.status_code == 404, (who, url, r.text)
            problem(r, 404)
        for method, url, body in _writes(b, m, clock):
            r = client.request(method, url, json=body, headers=person.auth)
            assert r.status_code == 404, (who, method, url, r.text)
            problem(r, 404, detail="no such")
        # and B shows up in none of their lists
        assert b.id not in [x["id"] for x in client.get("/api/mentorships", headers=person.auth).json()]
        activity = client.get("/api/me/activity", headers=person.auth).json()
        assert b.id not in {e["mentorship_id"] for e in activity}
    assert _everything(flow, b) == before
    assert woken == []


def test_operators_read_everything_and_act_on_nothing(
    client: TestClient,
    people: People,
    clock: Clock,
    flow: Flow,
    pair_b: tuple[Pair, dict[str, int]],
    woken: list[int],
) -> None:
    b, m = pair_b
    operator = people.operator()
    before = _everything(flow, b)
    woken.clear()
    for url in _reads(b, m):
        r = client.get(url, headers=operator.auth)
        assert r.status_code == 200, (url, r.text)
        assert r.json() == client.get(url, headers=b.mentee.auth).json() or url.endswith("/agreement")
    for method, url, body in _writes(b, m, clock):
        problem(client.request(method, url, json=body, headers=operator.auth), 403)
    assert _everything(flow, b) == before
    assert woken == []
    listing = client.get("/api/admin/mentorships", headers=operator.auth).json()
    assert b.id in [x["id"] for x in listing]


def test_the_mentor_cannot_read_the_mentees_draft_of_pair_b_nor_vice_versa(
    client: TestClient, flow: Flow
) -> None:
    b = flow.pair("intro")
    flow.approved_agreement(b)
    flow.draft(b, b.mentor, notes="mentor's private thoughts")
    assert "private thoughts" not in client.get(f"{b.url}/agreement", headers=b.mentee.auth).text
    assert "private thoughts" not in client.get(f"{b.url}/events", headers=b.mentee.auth).text
    assert "private thoughts" in client.get(f"{b.url}/agreement", headers=b.mentor.auth).text
