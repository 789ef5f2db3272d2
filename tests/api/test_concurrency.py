"""Conflicting writes at the same moment, through a real server and real threads, on SQLite
and PostgreSQL: exactly one winner, and a state that adds up."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from tests.api.helpers import Flow, Pair, problem
from tests.support import People, Person

ROUNDS = 2


Call = tuple[str, str, Person, Any, dict[str, str]]


def at_once(live_url: str, calls: list[Call]) -> list[httpx.Response]:
    """Send ``calls`` (method, url, who, json, extra headers) from one thread each, released
    together by a barrier."""
    barrier = threading.Barrier(len(calls))
    headers = [{**who.auth, **extra} for _, _, who, _, extra in calls]  # tokens before the race

    def send(i: int) -> httpx.Response:
        method, url, _, body, _ = calls[i]
        with httpx.Client(base_url=live_url, timeout=60) as http:
            barrier.wait()
            return http.request(method, url, json=body, headers=headers[i])

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(send, range(len(calls))))


def statuses(responses: list[httpx.Response]) -> Counter[int]:
    for r in responses:
        assert r.status_code < 500, r.text
        if r.status_code >= 400:
            problem(r, r.status_code)
    return Counter(r.status_code for r in responses)


def events_of(live_url: str, p: Pair) -> list[dict[str, Any]]:
    r = httpx.get(f"{live_url}{p.url}/events", headers=p.mentee.auth)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def agreement_of(live_url: str, p: Pair) -> dict[str, Any]:
    r = httpx.get(f"{live_url}{p.url}/agreement", headers=p.mentee.auth)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def rounds(test: Callable[[int], None]) -> None:
    for n in range(ROUNDS):
        test(n)


def test_two_approvals_of_the_same_version(live_url: str, flow: Flow) -> None:
    def one(_: int) -> None:
        p = flow.pair("intro")
        flow.draft(p)
        flow.submit(p)
        call: Call = ("POST", f"{p.url}/agreement/approve", p.mentor, {"number": 1}, {})
        responses = at_once(live_url, [call, call])
        assert statuses(responses) == Counter({200: 1, 409: 1})
        loser = next(r for r in responses if r.status_code == 409)
        assert "approved" in loser.json()["detail"]
        events = events_of(live_url, p)
        assert [e["type"] for e in events].count("agreement.approved") == 1
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        state = agreement_of(live_url, p)
        assert state["current"]["number"] == 1
        assert state["pending"] is None

    rounds(one)


def test_approve_and_reject_at_once(live_url: str, flow: Flow) -> None:
    p = flow.pair("intro")
    flow.draft(p)
    flow.submit(p)
    responses = at_once(
        live_url,
        [
            ("POST", f"{p.url}/agreement/approve", p.mentor, {"number": 1}, {}),
            ("POST", f"{p.url}/agreement/reject", p.mentor, {"number": 1, "reason": "no"}, {}),
        ],
    )
    assert statuses(responses) == Counter({200: 1, 409: 1})
    winner = next(r for r in responses if r.status_code == 200).json()
    state = agreement_of(live_url, p)
    assert [v["status"] for v in state["history"]] == [winner["status"]]
    decided = [e for e in events_of(live_url, p) if e["type"] in ("agreement.approved", "agreement.rejected")]
    assert len(decided) == 1


def test_approve_and_a_new_submission_at_once(live_url: str, flow: Flow) -> None:
    """The mentor approves v1 while the mentee submits v2, which would supersede v1. Either
    the approval wins (v1 approved, then v2 waits as an amendment) or the submission wins
    (v1 superseded, the approval of v1 refused); never both a superseded and approved v1."""
    outcomes = set()

    def one(_: int) -> None:
        p = flow.pair("intro")
        flow.draft(p)
        flow.submit(p)
        flow.draft(p, planned_meetings=3)  # v2, the mentee's draft
        approve, submit = at_once(
            live_url,
            [
                ("POST", f"{p.url}/agreement/approve", p.mentor, {"number": 1}, {}),
                ("POST", f"{p.url}/agreement/submit", p.mentee, None, {}),
            ],
        )
        statuses([approve, submit])
        assert submit.status_code == 200, submit.text
        state = agreement_of(live_url, p)
        history = [(v["number"], v["status"]) for v in state["history"]]
        types = [e["type"] for e in events_of(live_url, p)]
        if approve.status_code == 200:
            outcomes.add("approval first")
            assert history == [(1, "approved"), (2, "pending")]
            assert state["current"]["number"] == 1
            assert types[-2:] == ["agreement.approved", "agreement.submitted"]
        else:
            outcomes.add("submission first")
            problem(approve, 409, detail="superseded")
            assert history == [(1, "superseded"), (2, "pending")]
            assert state["current"] is None
            assert "agreement.approved" not in types
        assert state["pending"]["number"] == 2
        assert len([v for v in state["history"] if v["status"] == "pending"]) == 1

    rounds(one)
    assert outcomes  # which one wins depends on timing; both are consistent


def test_many_mentees_ask_a_mentor_with_one_free_place(live_url: str, people: People, flow: Flow) -> None:
    mentor = people.mentor(capacity=1)
    mentees = [people.mentee() for _ in range(6)]
    responses = at_once(
        live_url,
        [("POST", "/api/mentorships", m, {"mentor_id": mentor.id, "message": "me!"}, {}) for m in mentees],
    )
    assert statuses(responses) == Counter({201: 1, 409: 5})
    for r in responses:
        if r.status_code == 409:
            assert "capacity" in r.json()["detail"]
    listing = httpx.get(f"{live_url}/api/mentorships", headers=mentor.auth).json()
    assert len(listing) == 1
    directory = httpx.get(f"{live_url}/api/mentors", headers=mentees[0].auth).json()
    assert [m["free_capacity"] for m in directory if m["id"] == mentor.id] == [0]


def test_the_same_request_twice_with_one_key_at_once(live_url: str, people: People) -> None:
    """One mentorship; the twin either replays the first answer or is told to retry (409),
    and asking again with the key then replays the first answer."""
    mentee, mentor = people.mentee(), people.mentor(capacity=3)
    call: Call = (
        "POST",
        "/api/mentorships",
        mentee,
        {"mentor_id": mentor.id, "message": "Hi"},
        {"Idempotency-Key": "double-click"},
    )
    responses = at_once(live_url, [call, call])
    counts = statuses(responses)
    assert counts[201] >= 1, counts
    assert counts[201] + counts[409] == 2, counts
    created = [r.json() for r in responses if r.status_code == 201]
    assert all(c == created[0] for c in created)
    listing = httpx.get(f"{live_url}/api/mentorships", headers=mentee.auth).json()
    assert [m["id"] for m in listing] == [created[0]["id"]]
    with httpx.Client(base_url=live_url) as http:
        again = http.post("/api/mentorships", json=call[3], headers={**mentee.auth, **call[4]})
    assert (again.status_code, again.json()) == (201, created[0])
    assert again.headers["idempotent-replayed"] == "true"


def test_both_sides_end_at_once(live_url: str, flow: Flow) -> None:
    p = flow.pair("intro")
    responses = at_once(
        live_url,
        [
            ("POST", f"{p.url}/end", p.mentee, {"reason_code": "other", "reason": "mentee"}, {}),
            ("POST", f"{p.url}/end", p.mentor, {"reason_code": "other", "reason": "mentor"}, {}),
        ],
    )
    assert statuses(responses) == Counter({200: 1, 409: 1})
    types = [e["type"] for e in events_of(live_url, p)]
    assert types.count("mentorship.ended") == 1


def test_both_attendances_at_once_make_the_meeting_held_once(live_url: str, flow: Flow) -> None:
    p = flow.pair("intro")
    m = flow.started(p)
    url = f"/api/meetings/{m['id']}/attendance"
    responses = at_once(
        live_url,
        [
            ("POST", url, p.mentee, {"attended": True}, {}),
            ("POST", url, p.mentor, {"attended": True}, {}),
        ],
    )
    assert statuses(responses) == Counter({200: 2})
    types = [e["type"] for e in events_of(live_url, p)]
    assert types.count("meeting.attendance") == 2
    assert types.count("meeting.held") == 1
    held = httpx.get(f"{live_url}/api/meetings/{m['id']}", headers=p.mentor.auth).json()
    assert held["status"] == "held"


def test_more_requests_at_once_than_the_server_has_threads(live_url: str, flow: Flow) -> None:
    """FastAPI runs requests in 40 threads. With more at once, the threads all waited for the
    database (SQLite's write lock, PostgreSQL's pooled connections) held by requests that
    waited for a thread, until a 30 s timeout answered 500 (found by benchmarks/api_load.py)."""
    p = flow.pair("intro")
    call: Call = ("GET", p.url, p.mentee, None, {})
    responses = at_once(live_url, [call] * 100)
    assert statuses(responses) == Counter({200: 100})  # before: 500s after 30 s


def test_one_persons_two_attendance_answers_at_once_count_once(live_url: str, flow: Flow) -> None:
    """Two tabs: the mentee answers "attended" in one and "did not attend" in the other."""
    p = flow.pair("intro")
    m = flow.started(p)
    url = f"/api/meetings/{m['id']}/attendance"
    yes, no = at_once(
        live_url,
        [("POST", url, p.mentee, {"attended": True}, {}), ("POST", url, p.mentee, {"attended": False}, {})],
    )
    assert statuses([yes, no]) == Counter({200: 1, 409: 1})
    loser = yes if yes.status_code == 409 else no
    problem(loser, 409, detail="already answered")
    events = events_of(live_url, p)
    assert [e["type"] for e in events].count("meeting.attendance") == 1
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
