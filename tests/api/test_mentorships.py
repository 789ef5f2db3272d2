"""Mentorship requests and the decisions on them, for every role and stage that matters."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from models import Role
from tests.api.helpers import Flow, invalid, problem
from tests.support import Clock, People, Person


def test_a_mentee_requests_a_mentorship(client: TestClient, people: People, woken: list[int]) -> None:
    mentee, mentor = people.mentee("Mia"), people.mentor("Max")
    r = client.post(
        "/api/mentorships", json={"mentor_id": mentor.id, "message": "Hello Max"}, headers=mentee.auth
    )
    assert r.status_code == 201, r.text
    m = r.json()
    assert m["stage"] == "requested"
    assert m["mentee"] == {"id": mentee.id, "display_name": "Mia", "deactivated_at": None}
    assert m["mentor"] == {"id": mentor.id, "display_name": "Max", "deactivated_at": None}
    assert m["request_message"] == "Hello Max"
    assert m["waiting_for"]["who"] == "mentor"
    assert m["agreement"] is None
    assert m["next_meeting"] is None
    assert m["meetings_held"] == 0
    assert isinstance(m["version"], int)
    assert "flow_run_id" in m
    assert woken == [m["id"]]
    assert client.get(f"/api/mentorships/{m['id']}", headers=mentor.auth).json() == m
    events = client.get(f"/api/mentorships/{m['id']}/events", headers=mentee.auth).json()
    assert [(e["seq"], e["type"], e["actor_id"]) for e in events] == [(1, "mentorship.requested", mentee.id)]


def _nothing_requested(client: TestClient, *people_: Person) -> None:
    for p in people_:
        assert client.get("/api/mentorships", headers=p.auth).json() == []


def test_requesting_oneself_is_refused(client: TestClient, people: People, woken: list[int]) -> None:
    both = people.add(Role.MENTEE, Role.MENTOR)
    r = client.post("/api/mentorships", json={"mentor_id": both.id, "message": "Hi me"}, headers=both.auth)
    problem(r, 409, detail="own mentor")
    _nothing_requested(client, both)
    assert woken == []


@pytest.mark.parametrize("target", ["another mentee", "an operator", "unknown id"])
def test_requesting_someone_who_is_no_mentor_is_invalid(
    client: TestClient, people: People, target: str, woken: list[int]
) -> None:
    """The mentor_id names no mentor: invalid input (422), the same answer whether the id
    exists or not, so the request does not reveal who has an account."""
    mentee = people.mentee()
    other = {"another mentee": people.mentee, "an operator": people.operator}.get(target)
    mentor_id = other().id if other else 999_999
    r = client.post("/api/mentorships", json={"mentor_id": mentor_id, "message": "Hi"}, headers=mentee.auth)
    body = problem(r, 422, detail="no mentor")
    assert str(mentor_id) in body["detail"]
    invalid(r, "mentor_id")
    _nothing_requested(client, mentee)
    assert woken == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"message": "Hi"}, "mentor_id"),
        ({"mentor_id": "abc", "message": "Hi"}, "mentor_id"),
        ({"mentor_id": 1}, "message"),
        ({"mentor_id": 1, "message": "   "}, "message"),
        ({"mentor_id": 1, "message": "Hi", "urgent": True}, "urgent"),
    ],
    ids=["no mentor", "mentor not a number", "no message", "blank message", "unknown field"],
)
def test_invalid_requests_name_the_field(
    client: TestClient, people: People, body: dict[str, object], field: str
) -> None:
    mentee = people.mentee()
    invalid(client.post("/api/mentorships", json=body, headers=mentee.auth), field)
    _nothing_requested(client, mentee)


def test_a_second_open_request_to_the_same_mentor_is_a_conflict(
    client: TestClient, people: People, flow: Flow
) -> None:
    mentee, mentor = people.mentee(), people.mentor(capacity=5)
    first = flow.request(mentee, mentor)
    r = client.post(
        "/api/mentorships", json={"mentor_id": mentor.id, "message": "again"}, headers=mentee.auth
    )
    problem(r, 409, detail="already")
    flow.ok("POST", f"{first.url}/accept", mentor)
    problem(
        client.post(
            "/api/mentorships", json={"mentor_id": mentor.id, "message": "again"}, headers=mentee.auth
        ),
        409,
    )
    assert [m["id"] for m in client.get("/api/mentorships", headers=mentee.auth).json()] == [first.id]
    # once the first one is over, the pair may start again
    flow.ok("POST", f"{first.url}/end", mentee, json={"reason_code": "other", "reason": "restart"})
    assert flow.request(mentee, mentor).id != first.id


def test_a_mentor_without_free_capacity_cannot_be_requested(
    client: TestClient, people: People, flow: Flow
) -> None:
    full, busy = people.mentor(capacity=0), people.mentor(capacity=1)
    flow.request(people.mentee(), busy)
    mentee = people.mentee()
    for mentor in (full, busy):
        r = client.post(
            "/api/mentorships", json={"mentor_id": mentor.id, "message": "Hi"}, headers=mentee.auth
        )
        problem(r, 409, detail="capacity")
    _nothing_requested(client, mentee, full)


@pytest.mark.parametrize("role", [Role.MENTOR, Role.OPERATOR])
def test_only_mentees_request(client: TestClient, people: People, role: Role) -> None:
    asker, mentor = people.add(role), people.mentor()
    r = client.post("/api/mentorships", json={"mentor_id": mentor.id, "message": "Hi"}, headers=asker.auth)
    problem(r, 403, detail="mentee")
    _nothing_requested(client, asker, mentor)


# --- decisions: accept, decline, withdraw, end ----------------------------------------------

STAGES = ["requested", "intro", "active", "closing", "declined", "withdrawn", "ended"]
ACTIONS = {
    # action: (who may, stages it is allowed in, stage afterwards, body)
    "accept": ("mentor", {"requested"}, "intro", None),
    "decline": ("mentor", {"requested"}, "declined", {"reason": "no time, sorry"}),
    "withdraw": ("mentee", {"requested"}, "withdrawn", None),
    # DESIGN says "not finished"; the rules read that as intro/active: a request is withdrawn
    # or declined instead, and in closing the final meeting was already held.
    "end": ("either", {"intro", "active"}, "ended", {"reason_code": "goals_reached", "reason": "done"}),
}


@pytest.mark.parametrize("stage", STAGES)
def test_decisions_by_role_and_stage(
    client: TestClient, people: People, flow: Flow, woken: list[int], stage: str
) -> None:
    """For each decision in ``stage``: strangers get 404, operators 403, the wrong side or
    stage 409 naming who may or why, and nothing changes; then each decision allowed in
    ``stage`` is made by its side (on a fresh pair each): 200 and the stage moves in the same
    request."""
    p = flow.pair(stage)
    before = flow.brief_state(p)
    strangers = [people.mentee(), people.mentor()]
    operator = people.operator()
    sides = {"mentee": p.mentee, "mentor": p.mentor}
    woken.clear()
    for action, (who, allowed_in, _, body) in ACTIONS.items():
        expected = [(s, 404, "no such mentorship") for s in strangers] + [(operator, 403, None)]
        for side, person in sides.items():
            if who not in (side, "either"):
                expected.append((person, 409, f"only the {who}"))
            elif stage not in allowed_in:
                expected.append((person, 409, stage))
        for person, status, detail in expected:
            r = client.post(f"{p.url}/{action}", json=body, headers=person.auth)
            assert r.status_code == status, (action, person.name, r.text)
            problem(r, status, detail=detail)
    assert flow.brief_state(p) == before, stage
    assert woken == []

    allowed = [a for a, rule in ACTIONS.items() if stage in rule[1]]
    for n, action in enumerate(allowed):
        who, _, after, body = ACTIONS[action]
        if n > 0:
            p = flow.pair(stage)
            before = flow.brief_state(p)
            woken.clear()
        actor = {"mentee": p.mentee, "mentor": p.mentor, "either": p.mentor}[who]
        r = client.post(f"{p.url}/{action}", json=body, headers=actor.auth)
        assert r.status_code == 200, (action, r.text)
        m = r.json()
        assert m["stage"] == after
        assert m["version"] > before[0]["version"]
        if after == "intro":
            assert m["waiting_for"]["who"] == "mentee"
            assert m["accepted_at"] is not None
        else:
            assert m["waiting_for"] is None
            assert m["finished_at"] is not None
        if body:
            assert m["closing_reason"] == body["reason"]
        assert woken == [p.id]
        events = flow.events(p)
        assert len(events) == len(before[1]) + 1
        last = events[-1]
        assert last["type"] == f"mentorship.{after if action != 'accept' else 'accepted'}"
        assert last["actor_id"] == actor.id
        assert last["payload"] == (body or {})
        # a decision is made once
        problem(client.post(f"{p.url}/{action}", json=body, headers=actor.auth), 409)


def test_ending_by_the_mentee_works_too(client: TestClient, flow: Flow) -> None:
    p = flow.pair("intro")
    r = client.post(
        f"{p.url}/end", json={"reason_code": "other", "reason": "I found a job"}, headers=p.mentee.auth
    )
    assert r.status_code == 200, r.text
    assert r.json()["stage"] == "ended"
    assert r.json()["finished_at"] is not None


def test_ending_needs_a_reason_from_the_list_and_words_are_optional(client: TestClient, flow: Flow) -> None:
    p = flow.pair("intro")
    before = flow.state(p)
    invalid(client.post(f"{p.url}/end", json={}, headers=p.mentee.auth), "reason_code")
    invalid(client.post(f"{p.url}/end", json={"reason": "bored"}, headers=p.mentee.auth), "reason_code")
    invalid(client.post(f"{p.url}/end", json={"reason_code": "bored"}, headers=p.mentor.auth), "reason_code")
    invalid(
        client.post(
            f"{p.url}/end", json={"reason_code": "other", "reason": "x" * 2001}, headers=p.mentor.auth
        ),
        "reason",
    )
    assert flow.state(p) == before
    r = client.post(f"{p.url}/end", json={"reason_code": "goals_reached"}, headers=p.mentor.auth)
    assert r.status_code == 200, r.text
    assert (r.json()["stage"], r.json()["closing_code"], r.json()["closing_reason"]) == (
        "ended",
        "goals_reached",
        "",
    )
    [event] = [e for e in flow.events(p) if e["type"] == "mentorship.ended"]
    assert event["payload"]["reason_code"] == "goals_reached"


def test_decline_reason_is_optional(client: TestClient, flow: Flow) -> None:
    p = flow.pair("requested")
    r = client.post(f"{p.url}/decline", json={}, headers=p.mentor.auth)
    assert r.status_code == 200, r.text
    assert r.json()["stage"] == "declined"


def test_the_mentor_may_accept_with_a_message_for_the_mentee(client: TestClient, flow: Flow) -> None:
    p = flow.pair("requested")
    before = flow.state(p)
    r = client.post(f"{p.url}/accept", json={"message": "x" * 2001}, headers=p.mentor.auth)
    invalid(r, "message")
    assert flow.state(p) == before

    r = client.post(
        f"{p.url}/accept", json={"message": "  Gladly. Bring your questions!  "}, headers=p.mentor.auth
    )
    assert r.status_code == 200, r.text
    assert (r.json()["stage"], r.json()["acceptance_message"]) == ("intro", "Gladly. Bring your questions!")
    seen = client.get(p.url, headers=p.mentee.auth).json()
    assert seen["acceptance_message"] == "Gladly. Bring your questions!"
    accepted = flow.events(p)[-1]
    assert (accepted["type"], accepted["payload"]) == (
        "mentorship.accepted",
        {"message": seen["acceptance_message"]},
    )
    # without words, as before: no body at all, or an empty message
    for body in (None, {}, {"message": ""}):
        q = flow.pair("requested")
        r = client.post(f"{q.url}/accept", json=body, headers=q.mentor.auth)
        assert (r.status_code, r.json()["acceptance_message"]) == (200, None), r.text


@pytest.mark.parametrize("action", list(ACTIONS))
def test_deciding_on_an_unknown_mentorship_is_not_found(
    client: TestClient, people: People, action: str
) -> None:
    body = ACTIONS[action][3]
    for person in (people.mentee(), people.mentor(), people.operator()):
        problem(client.post(f"/api/mentorships/999999/{action}", json=body, headers=person.auth), 404)


# --- reads ------------------------------------------------------------------------------------


def test_each_participant_lists_only_own_mentorships_newest_first(
    client: TestClient, people: People, flow: Flow
) -> None:
    mentee, mentor = people.mentee(), people.mentor(capacity=5)
    a = flow.request(mentee, mentor)
    b = flow.request(mentee, people.mentor())
    c = flow.request(people.mentee(), mentor)
    flow.request(people.mentee(), people.mentor())  # someone else's

    def ids(person: Person) -> list[int]:
        r = client.get("/api/mentorships", headers=person.auth)
        assert r.status_code == 200, r.text
        return [m["id"] for m in r.json()]

    assert ids(mentee) == [b.id, a.id]
    assert ids(mentor) == [c.id, a.id]
    assert ids(people.mentee()) == []
    # the operator is a participant of nothing; the admin listing is where operators look
    assert ids(people.operator()) == []


def test_participants_and_operators_read_a_mentorship(client: TestClient, people: People, flow: Flow) -> None:
    p = flow.pair("intro")
    seen = [client.get(p.url, headers=x.auth) for x in (p.mentee, p.mentor, people.operator())]
    assert [r.status_code for r in seen] == [200, 200, 200]
    assert seen[0].json() == seen[1].json() == seen[2].json()
    body = seen[0].json()
    for key in (
        "id",
        "mentee",
        "mentor",
        "stage",
        "waiting_for",
        "agreement",
        "meetings_held",
        "next_meeting",
        "flow_run_id",
        "version",
    ):
        assert key in body
    assert body["stage"] == "intro"
    assert body["waiting_for"]["who"] == "mentee"
    problem(client.get(p.url, headers=people.mentee().auth), 404)
    problem(client.get("/api/mentorships/999999", headers=p.mentee.auth), 404)
    invalid(client.get("/api/mentorships/abc", headers=p.mentee.auth), "mentorship_id")


def test_events_are_oldest_first_with_consecutive_seq(client: TestClient, people: People, flow: Flow) -> None:
    p = flow.pair("intro")
    flow.held_meeting(p)
    flow.approved_agreement(p)
    flow.ok("POST", f"{p.url}/end", p.mentor, json={"reason_code": "other", "reason": "moving"})
    for viewer in (p.mentee, p.mentor, people.operator()):
        r = client.get(f"{p.url}/events", headers=viewer.auth)
        assert r.status_code == 200, r.text
        events = r.json()
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        assert [e["occurred_at"] for e in events] == sorted(e["occurred_at"] for e in events)
        assert all(e["mentorship_id"] == p.id for e in events)
    assert [e["type"] for e in events] == [
        "mentorship.requested",
        "mentorship.accepted",
        "meeting.proposed",
        "meeting.confirmed",
        "meeting.attendance",
        "meeting.attendance",
        "meeting.held",
        "agreement.draft_saved",
        "agreement.submitted",
        "agreement.approved",
        "mentorship.ended",
    ]
    assert events[0]["actor_id"] == p.mentee.id
    assert events[1]["actor_id"] == p.mentor.id
    assert events[6]["actor_id"] is None  # the system concluded it
    assert events[-1]["payload"] == {"reason_code": "other", "reason": "moving"}
    problem(client.get(f"{p.url}/events", headers=people.mentor().auth), 404)


def test_the_agreed_period_elapsed_is_read_as_the_readers_calendar_stands(
    client: TestClient, flow: Flow, clock: Clock
) -> None:
    p = flow.pair("intro")
    assert flow.get(p.url, p.mentee)["period"] is None  # no agreement yet
    flow.approved_agreement(p)  # 5 March to 30 September 2026: 210 days; today is 2 March
    body = flow.get(p.url, p.mentee)
    assert body["period"] == {
        "starts_on": "2026-03-05",
        "ends_on": "2026-09-30",
        "days": 210,
        "days_elapsed": 0,
        "status": "not_started",
    }
    assert (body["agreed_meetings_held"], body["meetings_planned"]) == (0, 6)

    clock.now = datetime(2026, 3, 4, 23, 30, tzinfo=UTC)  # already 5 March in Berlin (their zone)
    period = flow.get(p.url, p.mentor)["period"]
    assert (period["status"], period["days_elapsed"]) == ("under_way", 1)

    clock.now = datetime(2026, 4, 13, 12, 0, tzinfo=UTC)
    listed = client.get("/api/mentorships", headers=p.mentee.auth).json()
    assert (listed[0]["period"]["status"], listed[0]["period"]["days_elapsed"]) == ("under_way", 40)

    clock.now = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
    period = flow.get(p.url, p.mentee)["period"]
    assert (period["status"], period["days_elapsed"]) == ("ended", 210)
