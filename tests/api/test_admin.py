"""Operators: every mentorship, filterable, and the program's figures."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from api.portal.session import COOKIE
from models import Mentorship
from models.settings import Settings
from services import handling
from services.events import append_event
from tests.api.helpers import Flow, Pair, invalid, problem
from tests.support import Clock, People, Person, mint_token


def ids(client: TestClient, operator: Person, query: str = "") -> list[int]:
    r = client.get(f"/api/admin/mentorships{query}", headers=operator.auth)
    assert r.status_code == 200, r.text
    return [m["id"] for m in r.json()]


def test_listing_with_stage_and_waiting_for_filters(client: TestClient, operator: Person, flow: Flow) -> None:
    requested = flow.pair("requested")
    intro = flow.pair("intro")  # waits for the mentee to propose the intro meeting
    pending = flow.pair("intro")
    flow.draft(pending)
    flow.submit(pending)  # waits for the mentor to approve v1
    ended = flow.pair("ended")

    assert ids(client, operator) == sorted([requested.id, intro.id, pending.id, ended.id], reverse=True)
    assert ids(client, operator, "?stage=requested") == [requested.id]
    assert ids(client, operator, "?stage=intro") == [pending.id, intro.id]
    assert ids(client, operator, "?stage=ended") == [ended.id]
    assert ids(client, operator, "?stage=completed") == []
    assert ids(client, operator, "?waiting_for=mentor") == [pending.id, requested.id]
    assert ids(client, operator, "?waiting_for=mentee") == [intro.id]
    assert ids(client, operator, "?waiting_for=approve_agreement") == [pending.id]
    assert ids(client, operator, "?stage=intro&waiting_for=mentor") == [pending.id]
    assert ids(client, operator, "?waiting_for=nobody") == []
    listing = client.get("/api/admin/mentorships?stage=intro", headers=operator.auth).json()
    by_id = {m["id"]: m for m in listing}
    assert by_id[pending.id]["waiting_for"]["what"] == "approve agreement v1"
    single = client.get(pending.url, headers=operator.auth).json()
    assert {k: v for k, v in by_id[pending.id].items() if k in single} == single
    assert (by_id[pending.id]["overdue"], by_id[pending.id]["flow_run_url"]) == (False, None)
    invalid(client.get("/api/admin/mentorships?stage=sleeping", headers=operator.auth), "stage")


def test_stats_count_stages_meetings_feedback_and_overdue(
    client: TestClient, operator: Person, clock: Clock, flow: Flow
) -> None:
    empty = client.get("/api/admin/stats", headers=operator.auth)
    assert empty.status_code == 200, empty.text
    assert set(empty.json()["per_stage"]) == {
        "requested",
        "intro",
        "active",
        "closing",
        "completed",
        "declined",
        "withdrawn",
        "ended",
    }
    assert sum(empty.json()["per_stage"].values()) == 0
    assert empty.json()["meetings_held"] == 0
    assert empty.json()["feedback_average"] is None

    flow.pair("requested")
    flow.pair("declined")
    working = flow.pair("intro")
    m1 = flow.held_meeting(working)
    m2 = flow.held_meeting(working)
    flow.ok("POST", f"/api/meetings/{m1['id']}/feedback", working.mentee, 201, json={"rating": 5})
    flow.ok("POST", f"/api/meetings/{m2['id']}/feedback", working.mentee, 201, json={"rating": 4})
    flow.ok("POST", f"/api/meetings/{m1['id']}/feedback", working.mentor, 201, json={"rating": 2})
    active = flow.pair("active")
    flow.draft(active, planned_meetings=9)
    flow.submit(active)  # an amendment waits for the mentor
    flow.propose(active, days=1)  # a proposal nobody confirms
    flow.confirmed(working, days=0.5)  # a meeting nobody confirms having attended

    stats = client.get("/api/admin/stats", headers=operator.auth).json()
    assert stats["per_stage"]["requested"] == 1
    assert stats["per_stage"]["declined"] == 1
    assert stats["per_stage"]["intro"] == 1
    assert stats["per_stage"]["active"] == 1
    assert stats["meetings_held"] == 2
    assert stats["feedback_count"] == 3
    # three answers, but from two people: no average that would tell what they said
    assert stats["feedback_average"] is None
    assert stats["feedback_average_by_role"] == {"mentee": None, "mentor": None}
    assert all(v == 0 for v in stats["overdue"].values()), stats["overdue"]

    clock.advance(days=4)
    overdue = client.get("/api/admin/stats", headers=operator.auth).json()["overdue"]
    assert overdue["requests_unanswered"] == 1
    assert overdue["agreements_waiting"] == 1
    assert overdue["meetings_unconfirmed"] == 1
    assert overdue["attendance_missing"] == 1


@pytest.mark.parametrize("role", ["mentee", "mentor"])
def test_only_operators(client: TestClient, people: People, role: str) -> None:
    person = people.mentee() if role == "mentee" else people.mentor()
    for url in ("/api/admin/mentorships", "/api/admin/stats", "/api/admin/mentorships?stage=intro"):
        problem(client.get(url, headers=person.auth), 403, detail="operator")


def test_set_aside_events_are_listed_for_operators_only(
    client: TestClient, operator: Person, flow: Flow, db: Engine, clock: Clock
) -> None:
    """An event whose consequences failed three times is listed with its last error; one that
    failed twice is still being tried and is not."""
    given_up, retrying = flow.pair("intro"), flow.pair("intro")
    with Session(db) as s:
        for pair, tries in ((given_up, 3), (retrying, 2)):
            mentorship = s.get_one(Mentorship, pair.id)
            event = append_event(s, mentorship, "meeting.proposed", actor_id=None, now=clock.now)
            s.flush()
            for n in range(tries):
                handling.note_failure(
                    s, pair.id, event.seq, error=f"KeyError: 'meeting_id' ({n})", now=clock.now
                )
        s.commit()

    r = client.get("/api/admin/set-aside", headers=operator.auth)

    assert r.status_code == 200, r.text
    [listed] = r.json()
    assert listed["mentorship_id"] == given_up.id
    assert (listed["type"], listed["failures"], listed["error"]) == (
        "meeting.proposed",
        3,
        "KeyError: 'meeting_id' (2)",
    )
    problem(client.get("/api/admin/set-aside", headers=given_up.mentee.auth), 403)
    with Session(db) as s:
        assert s.get_one(Mentorship, given_up.id).processed_seq == s.get_one(Mentorship, given_up.id).last_seq
        assert s.get_one(Mentorship, retrying.id).processed_seq < s.get_one(Mentorship, retrying.id).last_seq


def test_feedback_figures_appear_from_three_people_on(
    client: TestClient, operator: Person, flow: Flow
) -> None:
    """Privacy by default: an average from one or two people is not shown (it would be their
    answer); from three people on it is, for all and for each side."""
    pairs = [flow.pair("intro") for _ in range(3)]

    def rate(pair: Pair, rating: int) -> None:
        meeting = flow.held_meeting(pair)
        flow.ok("POST", f"/api/meetings/{meeting['id']}/feedback", pair.mentee, 201, json={"rating": rating})

    def stats() -> dict[str, Any]:
        body: dict[str, Any] = client.get("/api/admin/stats", headers=operator.auth).json()
        return body

    rate(pairs[0], 5)
    rate(pairs[1], 2)
    assert (stats()["feedback_count"], stats()["feedback_average"]) == (2, None)
    rate(pairs[2], 2)
    assert stats()["feedback_average"] == pytest.approx(3.0)
    assert stats()["feedback_average_by_role"] == {"mentee": pytest.approx(3.0), "mentor": None}


def test_search_by_name_or_address_overdue_filter_and_paging(
    client: TestClient, operator: Person, people: People, flow: Flow, clock: Clock
) -> None:
    jorg = flow.request(people.mentee("Jörg Übermann"), people.mentor("Ada Lovelace"))
    clock.advance(days=2)
    rest = [flow.pair("requested") for _ in range(4)]
    flow.ok("POST", f"{rest[0].url}/accept", rest[0].mentor)  # now waits for its mentee
    clock.advance(days=2)  # Jörg's request: four days unanswered; the others' two

    assert ids(client, operator, "?q=übermann") == [jorg.id]
    assert ids(client, operator, "?q=ADA") == [jorg.id]
    assert ids(client, operator, f"?q={rest[1].mentee.email}") == [rest[1].id]
    assert ids(client, operator, "?q=%25") == []  # a search is text: % matches only itself
    assert ids(client, operator, "?overdue=true") == [jorg.id]
    assert ids(client, operator, "?waiting_for=mentor&overdue=true") == [jorg.id]
    [late] = client.get("/api/admin/mentorships?overdue=true", headers=operator.auth).json()
    assert late["waiting_since"] == late["requested_at"]
    assert late["overdue"] is True

    first = client.get("/api/admin/mentorships?limit=2", headers=operator.auth)
    second = client.get("/api/admin/mentorships?limit=2&offset=2", headers=operator.auth)
    third = client.get("/api/admin/mentorships?limit=2&offset=4", headers=operator.auth)
    assert first.headers["X-Total-Count"] == "5"
    pages = [[m["id"] for m in r.json()] for r in (first, second, third)]
    assert pages == [[rest[3].id, rest[2].id], [rest[1].id, rest[0].id], [jorg.id]]
    waiting = client.get("/api/admin/mentorships?waiting_for=mentor&limit=1&offset=1", headers=operator.auth)
    assert waiting.headers["X-Total-Count"] == "4"
    assert [m["id"] for m in waiting.json()] == [rest[2].id]
    invalid(client.get("/api/admin/mentorships?limit=0", headers=operator.auth), "limit")
    invalid(client.get("/api/admin/mentorships?limit=100000", headers=operator.auth), "limit")
    invalid(client.get("/api/admin/mentorships?offset=-1", headers=operator.auth), "offset")
    invalid(client.get(f"/api/admin/mentorships?q={'x' * 201}", headers=operator.auth), "q")


def test_the_overview_says_what_is_stuck_on_whom_since_when_oldest_first(
    client: TestClient, operator: Person, flow: Flow, clock: Clock
) -> None:
    unanswered = flow.pair("requested")
    clock.advance(days=1)
    unapproved = flow.pair("intro")
    flow.draft(unapproved)
    flow.submit(unapproved)
    clock.advance(days=3.5)  # past the three days a person may take
    flow.pair("requested")  # fresh: not stuck

    body = client.get("/api/admin/overview", headers=operator.auth)

    assert body.status_code == 200, body.text
    stuck = body.json()["stuck"]
    assert [s["mentorship_id"] for s in stuck] == [unanswered.id, unapproved.id]
    oldest = stuck[0]
    assert (oldest["waiting_for"]["who"], oldest["waiting_for"]["action"]) == ("mentor", "answer_request")
    assert oldest["mentor"]["display_name"] == unanswered.mentor.name
    assert stuck[1]["waiting_for"]["what"] == "approve agreement v1"
    assert stuck[0]["since"] < stuck[1]["since"]
    assert body.json()["per_stage"]["requested"] == 2
    problem(client.get("/api/admin/overview", headers=unanswered.mentee.auth), 403)


def test_the_overview_counts_meetings_per_month_and_how_requests_are_answered(
    client: TestClient, operator: Person, flow: Flow, clock: Clock
) -> None:
    working = flow.pair("intro")  # accepted at once
    flow.held_meeting(working)
    flow.held_meeting(working)
    declined = flow.request(flow.people.mentee(), flow.people.mentor())
    clock.advance(hours=10)
    flow.ok("POST", f"{declined.url}/decline", declined.mentor, json={"reason": "no time"})
    flow.pair("requested")

    found = client.get("/api/admin/overview", headers=operator.auth).json()

    months = found["meetings_per_month"]
    assert len(months) == 12
    assert months[-1]["month"] == clock.now.strftime("%Y-%m")
    assert [m["meetings_held"] for m in months] == [0] * 11 + [2]
    requests = found["requests"]
    assert (requests["received"], requests["accepted"], requests["declined"], requests["open"]) == (
        3,
        1,
        1,
        1,
    )
    assert requests["median_hours_to_answer"] == pytest.approx(5.0, abs=0.1)  # 0 h and 10 h


def test_early_end_reasons_show_from_three_ends_on_and_feedback_figures_from_three_people(
    client: TestClient, operator: Person, flow: Flow
) -> None:
    for _ in range(2):
        flow.pair("ended")  # "moving away"
    flow.pair("declined")  # "no time"

    def ends() -> dict[str, Any]:
        found: dict[str, Any] = client.get("/api/admin/overview", headers=operator.auth).json()["early_ends"]
        return found

    assert ends()["per_stage"] == {"declined": 1, "withdrawn": 0, "ended": 2}
    assert ends()["reasons"] == []  # two people's words would be theirs
    assert ends()["other_reasons"] == 3
    flow.pair("ended")
    assert ends()["reasons"] == [{"reason": "moving away", "count": 3}]
    assert ends()["other_reasons"] == 1
    assert ends()["ended_because"] == {"goals_reached": 0, "no_time": 0, "not_a_fit": 0, "other": 3}

    figures = client.get("/api/admin/overview", headers=operator.auth).json()["feedback"]
    assert {(f["about"], f["side"]) for f in figures} == {
        ("meetings", "mentee"),
        ("meetings", "mentor"),
        ("mentorship", "mentee"),
        ("mentorship", "mentor"),
    }
    assert all(f["average"] is None for f in figures)


def parsed_csv(response: Any) -> list[dict[str, str]]:
    """What a spreadsheet reads: UTF-8 after a byte-order mark, a header row, commas."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith('attachment; filename="')
    assert response.content.startswith("\ufeff".encode())
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_csv_exports_of_mentorships_and_meetings_read_back_as_they_are(
    client: TestClient, operator: Person, people: People, flow: Flow
) -> None:
    jorg = flow.request(people.mentee("Jörg Größe"), people.mentor("=HYPERLINK(1)"))
    flow.ok("POST", f"{jorg.url}/accept", jorg.mentor)
    intro = flow.held_meeting(jorg)
    flow.approved_agreement(jorg)
    flow.activate(jorg)
    flow.held_meeting(jorg)
    waiting = flow.pair("requested")

    rows = parsed_csv(client.get("/api/admin/exports/mentorships.csv", headers=operator.auth))

    assert list(rows[0]) == [
        "id",
        "mentee",
        "mentor",
        "stage",
        "requested (Europe/Berlin)",
        "accepted (Europe/Berlin)",
        "activated (Europe/Berlin)",
        "finished (Europe/Berlin)",
        "meetings_held",
        "agreed_meetings_held",
        "meetings_planned",
        "waiting_for",
        "next_step",
        "waiting_since (Europe/Berlin)",
        "overdue",
        "fit_answered",
        "closure_answered",
    ]
    by_id = {int(r["id"]): r for r in rows}
    assert set(by_id) == {jorg.id, waiting.id}
    row = by_id[jorg.id]
    assert (row["mentee"], row["mentor"], row["stage"]) == ("Jörg Größe", "'=HYPERLINK(1)", "active")
    # held: the get-to-know-you meeting too, as the certificate counts; agreed: as the plan counts
    assert (row["meetings_held"], row["agreed_meetings_held"], row["meetings_planned"]) == ("2", "1", "6")
    assert (row["waiting_for"], row["next_step"]) == ("mentee", "propose the next meeting")
    assert by_id[waiting.id]["waiting_for"] == "mentor"
    assert by_id[waiting.id]["overdue"] == "no"
    assert len(by_id[waiting.id]["requested (Europe/Berlin)"]) == len("2026-03-02 10:00")
    only = parsed_csv(client.get("/api/admin/exports/mentorships.csv?stage=requested", headers=operator.auth))
    assert [int(r["id"]) for r in only] == [waiting.id]

    meetings = parsed_csv(client.get("/api/admin/exports/meetings.csv", headers=operator.auth))
    assert [(int(m["id"]), m["kind"], m["status"]) for m in meetings][0] == (intro["id"], "intro", "held")
    assert [m["kind"] for m in meetings] == ["intro", "regular"]
    assert {(m["mentee"], m["mentee_attended"], m["mentor_attended"]) for m in meetings} == {
        ("Jörg Größe", "yes", "yes")
    }
    for url in ("/api/admin/exports/mentorships.csv", "/api/admin/exports/meetings.csv"):
        problem(client.get(url, headers=jorg.mentee.auth), 403)


@pytest.mark.parametrize(
    "read",
    [
        "/api/admin/mentorships?waiting_for=confirm_attendance",
        "/api/admin/overview",
        "/api/admin/stats",
        "/portal/program",
        "/portal/program/mentorships?waiting=both",
    ],
)
def test_an_operators_read_stores_the_next_steps_the_clock_changed(
    client: TestClient, operator: Person, clock: Clock, flow: Flow, db: Engine, settings: Settings, read: str
) -> None:
    """A meeting's start changes who must act without a fact; the first operator read works it
    out and keeps it, so the next read (and the list's SQL filter) need not, sweep or no sweep."""
    pair = flow.pair("intro")
    flow.confirmed(pair, days=1)
    clock.advance(days=1, minutes=1)  # the meeting has started: both must say they took part

    def stored_action() -> str | None:
        with Session(db) as s:
            return s.get_one(Mentorship, pair.id).next_action

    assert stored_action() == "meet"
    if read.startswith("/portal"):
        client.cookies.set(COOKIE, mint_token(db, settings, operator.id, now=clock.now), path="/portal")
    r = client.get(read, headers=operator.auth)
    client.cookies.clear()
    assert r.status_code == 200, r.text
    assert stored_action() == "confirm_attendance"
    assert ids(client, operator, "?waiting_for=confirm_attendance") == [pair.id]
