"""The agreement: drafts, submission, approval or rejection by the other side, amendments."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.helpers import TERMS, Flow, Pair, invalid, problem
from tests.support import People, Person


def agreement(client: TestClient, p: Pair, viewer: Person) -> dict[str, Any]:
    r = client.get(f"{p.url}/agreement", headers=viewer.auth)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_the_mentee_writes_v1_and_only_the_author_sees_the_draft(
    client: TestClient, people: People, flow: Flow, woken: list[int]
) -> None:
    p = flow.pair("intro")
    assert agreement(client, p, p.mentee) == {"current": None, "pending": None, "draft": None, "history": []}
    woken.clear()
    r = client.put(f"{p.url}/agreement", json=TERMS, headers=p.mentee.auth)
    assert r.status_code == 200, r.text
    draft = r.json()
    assert (draft["number"], draft["status"], draft["author_id"]) == (1, "draft", p.mentee.id)
    assert draft["period_start"] == TERMS["period_start"]
    assert draft["contact_modes"] == ["video", "email"]
    assert draft["content_plan"] == TERMS["content_plan"]
    assert draft["submitted_at"] is None
    assert woken == [p.id]

    assert agreement(client, p, p.mentee)["draft"] == draft
    assert agreement(client, p, p.mentor) == {"current": None, "pending": None, "draft": None, "history": []}
    # replacing the draft keeps its number and bumps its version
    r = client.put(f"{p.url}/agreement", json={**TERMS, "planned_meetings": 3}, headers=p.mentee.auth)
    assert r.status_code == 200, r.text
    assert (r.json()["number"], r.json()["planned_meetings"]) == (1, 3)
    assert r.json()["version"] > draft["version"]
    assert [e["type"] for e in flow.events(p)][-2:] == ["agreement.draft_saved"] * 2


def test_the_mentor_cannot_write_before_an_agreement_was_approved(client: TestClient, flow: Flow) -> None:
    p = flow.pair("intro")
    before = flow.state(p, p.mentor)
    r = client.put(f"{p.url}/agreement", json=TERMS, headers=p.mentor.auth)
    problem(r, 409, detail="mentee writes the first agreement")
    assert flow.state(p, p.mentor) == before
    assert agreement(client, p, p.mentee)["draft"] is None


def test_submit_and_approve_the_first_version(client: TestClient, people: People, flow: Flow) -> None:
    p = flow.pair("intro")
    problem(client.post(f"{p.url}/agreement/submit", headers=p.mentee.auth), 409, detail="no draft")
    flow.draft(p)
    problem(client.post(f"{p.url}/agreement/submit", headers=p.mentor.auth), 409, detail="no draft")
    r = client.post(f"{p.url}/agreement/submit", headers=p.mentee.auth)
    assert r.status_code == 200, r.text
    assert (r.json()["number"], r.json()["status"]) == (1, "pending")
    assert r.json()["submitted_at"] is not None
    m = client.get(p.url, headers=p.mentor.auth).json()
    assert m["waiting_for"]["who"] == "mentor"
    assert m["waiting_for"]["what"] == "approve agreement v1"
    state = agreement(client, p, p.mentor)
    assert state["pending"]["number"] == 1
    assert state["draft"] is None
    assert [v["status"] for v in state["history"]] == ["pending"]

    before = flow.state(p)
    problem(
        client.post(f"{p.url}/agreement/approve", json={"number": 1}, headers=p.mentee.auth),
        409,
        detail="other side",
    )
    problem(
        client.post(f"{p.url}/agreement/approve", json={"number": 2}, headers=p.mentor.auth),
        409,
        detail="v2",
    )
    invalid(client.post(f"{p.url}/agreement/approve", json={"number": 0}, headers=p.mentor.auth), "number")
    invalid(client.post(f"{p.url}/agreement/approve", json={}, headers=p.mentor.auth), "number")
    problem(
        client.post(f"{p.url}/agreement/approve", json={"number": 1}, headers=people.operator().auth), 403
    )
    problem(client.post(f"{p.url}/agreement/approve", json={"number": 1}, headers=people.mentor().auth), 404)
    assert flow.state(p) == before

    r = client.post(f"{p.url}/agreement/approve", json={"number": 1}, headers=p.mentor.auth)
    assert r.status_code == 200, r.text
    approved = r.json()
    assert (approved["status"], approved["decided_by_id"]) == ("approved", p.mentor.id)
    state = agreement(client, p, p.mentee)
    assert state["current"] == approved
    assert state["pending"] is None
    assert state["history"] == [{**approved, "changed_from": None, "changes": []}]
    assert client.get(p.url, headers=p.mentee.auth).json()["agreement"] == approved
    last = flow.events(p)[-1]
    assert (last["type"], last["payload"]) == ("agreement.approved", {"number": 1, "first": True})
    # approving again: it is no longer pending
    before = flow.state(p)
    problem(
        client.post(f"{p.url}/agreement/approve", json={"number": 1}, headers=p.mentor.auth),
        409,
        detail="approved",
    )
    problem(
        client.post(f"{p.url}/agreement/reject", json={"number": 1, "reason": "no"}, headers=p.mentor.auth),
        409,
        detail="approved",
    )
    assert flow.state(p) == before


def test_the_other_side_rejects_with_a_reason_and_the_mentee_tries_again(
    client: TestClient, flow: Flow
) -> None:
    p = flow.pair("intro")
    flow.draft(p)
    flow.submit(p)
    before = flow.state(p)
    invalid(client.post(f"{p.url}/agreement/reject", json={"number": 1}, headers=p.mentor.auth), "reason")
    invalid(
        client.post(f"{p.url}/agreement/reject", json={"number": 1, "reason": ""}, headers=p.mentor.auth),
        "reason",
    )
    problem(
        client.post(f"{p.url}/agreement/reject", json={"number": 1, "reason": "mine"}, headers=p.mentee.auth),
        409,
    )
    assert flow.state(p) == before

    r = client.post(
        f"{p.url}/agreement/reject",
        json={"number": 1, "reason": "Too many meetings for me"},
        headers=p.mentor.auth,
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "rejected"
    assert r.json()["rejection_reason"] == "Too many meetings for me"
    last = flow.events(p)[-1]
    assert last["type"] == "agreement.rejected"
    assert last["payload"] == {"number": 1, "reason": "Too many meetings for me"}
    state = agreement(client, p, p.mentee)
    assert state["current"] is None
    assert state["pending"] is None
    assert [v["status"] for v in state["history"]] == ["rejected"]

    v2 = flow.draft(p, planned_meetings=3)
    assert v2["number"] == 2
    flow.submit(p)
    flow.ok("POST", f"{p.url}/agreement/approve", p.mentor, json={"number": 2})
    state = agreement(client, p, p.mentor)
    assert state["current"]["number"] == 2
    assert [(v["number"], v["status"]) for v in state["history"]] == [(1, "rejected"), (2, "approved")]


@pytest.mark.parametrize("author_side", ["mentee", "mentor"])
def test_either_side_amends_after_an_approval_and_the_other_approves(
    client: TestClient, flow: Flow, author_side: str
) -> None:
    p = flow.pair("intro")
    flow.approved_agreement(p)
    author, other = (p.mentee, p.mentor) if author_side == "mentee" else (p.mentor, p.mentee)
    draft = flow.draft(p, author, planned_meetings=8)
    assert (draft["number"], draft["author_id"]) == (2, author.id)
    assert agreement(client, p, other)["draft"] is None
    assert agreement(client, p, author)["draft"]["number"] == 2
    # the other side cannot write over it, nor approve or see it as pending
    before = flow.state(p, author)
    problem(client.put(f"{p.url}/agreement", json=TERMS, headers=other.auth), 409, detail="drafting v2")
    problem(client.post(f"{p.url}/agreement/submit", headers=other.auth), 409)
    problem(
        client.post(f"{p.url}/agreement/approve", json={"number": 2}, headers=other.auth),
        409,
        detail="v2 does not exist",
    )
    assert flow.state(p, author) == before

    flow.submit(p, author)
    m = client.get(p.url, headers=other.auth).json()
    assert m["waiting_for"]["who"] == ("mentor" if author_side == "mentee" else "mentee")
    assert m["waiting_for"]["what"] == "approve agreement v2"
    problem(client.post(f"{p.url}/agreement/approve", json={"number": 2}, headers=author.auth), 409)
    r = client.post(f"{p.url}/agreement/approve", json={"number": 2}, headers=other.auth)
    assert r.status_code == 200, r.text
    state = agreement(client, p, other)
    assert (state["current"]["number"], state["current"]["planned_meetings"]) == (2, 8)
    assert flow.events(p)[-1]["payload"] == {"number": 2, "first": False}


def test_a_newer_submission_supersedes_ones_own_pending_version(client: TestClient, flow: Flow) -> None:
    p = flow.pair("intro")
    flow.draft(p)
    flow.submit(p)
    flow.draft(p, planned_meetings=2)
    r = flow.submit(p)
    assert (r["number"], r["status"]) == (2, "pending")
    state = agreement(client, p, p.mentor)
    assert state["pending"]["number"] == 2
    assert [(v["number"], v["status"]) for v in state["history"]] == [(1, "superseded"), (2, "pending")]
    problem(
        client.post(f"{p.url}/agreement/approve", json={"number": 1}, headers=p.mentor.auth),
        409,
        detail="superseded",
    )


def test_a_pending_version_of_the_other_side_must_be_answered_before_drafting(
    client: TestClient, flow: Flow
) -> None:
    p = flow.pair("intro")
    flow.approved_agreement(p)
    flow.draft(p, p.mentor)
    flow.submit(p, p.mentor)  # v2 by the mentor waits for the mentee
    before = flow.state(p)
    r = client.put(f"{p.url}/agreement", json={**TERMS, "planned_meetings": 9}, headers=p.mentee.auth)
    problem(r, 409, detail="v2 from the other side waits for your answer first")
    assert flow.state(p) == before
    # the author may still revise their own pending version: the revision replaces it
    flow.draft(p, p.mentor, planned_meetings=4)
    assert (flow.submit(p, p.mentor)["number"], agreement(client, p, p.mentee)["pending"]["number"]) == (3, 3)


def test_the_history_says_what_changed_from_the_version_before(client: TestClient, flow: Flow) -> None:
    p = flow.pair("intro")
    flow.approved_agreement(p)  # v1: TERMS
    amended: dict[str, Any] = {
        "period_end": "2026-10-31",
        "planned_meetings": 8,
        "contact_modes": ["video", "phone"],
        "content_plan": [
            {"topic": "career", "notes": "first steps"},
            {"topic": "finance", "notes": "a budget"},
        ],
        "notes": "We meet in the evening.",
    }
    flow.draft(p, p.mentor, **amended)
    flow.submit(p, p.mentor)
    history = agreement(client, p, p.mentee)["history"]
    assert [(v["number"], v["changed_from"], v["changes"]) for v in history][0] == (1, None, [])
    v2 = history[1]
    assert (v2["number"], v2["status"], v2["changed_from"]) == (2, "pending", 1)
    changes = [(c["field"], c["kind"], c["topic"], c["before"], c["after"]) for c in v2["changes"]]
    assert changes == [
        ("period", "changed", None, ["2026-03-05", "2026-09-30"], ["2026-03-05", "2026-10-31"]),
        ("planned_meetings", "changed", None, 6, 8),
        ("contact_modes", "changed", None, ["video", "email"], ["video", "phone"]),
        ("content_plan", "changed", "career", "next steps", "first steps"),
        ("content_plan", "added", "finance", None, "a budget"),
        ("notes", "changed", None, "", "We meet in the evening."),
    ]
    # v3 drops a topic and changes only the frequency besides
    flow.ok("POST", f"{p.url}/agreement/approve", p.mentee, json={"number": 2})
    flow.draft(
        p, p.mentee, **{**amended, "content_plan": amended["content_plan"][1:], "contact_frequency": "weekly"}
    )
    flow.submit(p, p.mentee)
    v3 = agreement(client, p, p.mentor)["history"][2]
    assert [(c["field"], c["kind"], c["topic"]) for c in v3["changes"]] == [
        ("contact_frequency", "changed", None),
        ("content_plan", "removed", "career"),
    ]


INVALID_TERMS: dict[str, tuple[dict[str, Any], str]] = {
    "end before start": ({"period_start": "2026-09-30", "period_end": "2026-03-05"}, "period_end"),
    "start not a date": ({"period_start": "soon"}, "period_start"),
    "no meetings": ({"planned_meetings": 0}, "planned_meetings"),
    "no contact modes": ({"contact_modes": []}, "contact_modes"),
    "unknown contact mode": ({"contact_modes": ["pigeon"]}, "contact_modes.0"),
    "no frequency": ({"contact_frequency": ""}, "contact_frequency"),
    "plan item without topic": ({"content_plan": [{"notes": "no topic"}]}, "content_plan.0.topic"),
    "unknown field": ({"signature": "x"}, "signature"),
}


def test_invalid_agreements_are_refused_naming_the_field(client: TestClient, flow: Flow) -> None:
    p = flow.pair("intro")
    before = flow.state(p)
    for case, (change, field) in INVALID_TERMS.items():
        r = client.put(f"{p.url}/agreement", json={**TERMS, **change}, headers=p.mentee.auth)
        assert r.status_code == 422, (case, r.text)
        invalid(r, field)
        assert field in r.json()["detail"], case
    assert flow.state(p) == before


def test_a_one_day_period_is_fine(client: TestClient, flow: Flow) -> None:
    p = flow.pair("intro")
    r = flow.draft(p, period_start="2026-04-01", period_end="2026-04-01")
    assert r["period_end"] == "2026-04-01"


def test_operators_see_the_whole_agreement_but_cannot_write(
    client: TestClient, people: People, flow: Flow
) -> None:
    p = flow.pair("intro")
    flow.draft(p)
    operator = people.operator()
    state = agreement(client, p, operator)
    assert state["draft"]["number"] == 1  # operators watch everything
    before = flow.state(p)
    problem(client.put(f"{p.url}/agreement", json=TERMS, headers=operator.auth), 403)
    problem(client.post(f"{p.url}/agreement/submit", headers=operator.auth), 403)
    assert flow.state(p) == before
    problem(client.get(f"{p.url}/agreement", headers=people.mentee().auth), 404)


def test_approve_and_reject_take_the_agreement_number_as_the_contract_names_it(flow: Flow) -> None:
    p = flow.pair("intro")
    flow.draft(p)
    flow.submit(p)
    rejected = flow.ok(
        "POST", f"{p.url}/agreement/reject", p.mentor, json={"number": 1, "reason": "More detail"}
    )
    assert (rejected["number"], rejected["status"]) == (1, "rejected")
    flow.draft(p)
    flow.submit(p)
    approved = flow.ok("POST", f"{p.url}/agreement/approve", p.mentor, json={"number": 2})
    assert (approved["number"], approved["status"]) == (2, "approved")


def test_a_version_is_named_by_its_number_and_version_is_the_concurrency_version(
    client: TestClient, flow: Flow
) -> None:
    """CONTRACT: ``number`` identifies a version, ``version`` is its row's concurrency version;
    the old alias (``{version: <number>}``) is gone, so passing back ``version`` is a clear 422."""
    p = flow.pair("intro")
    flow.draft(p)
    pending = flow.submit(p)
    before = flow.state(p)
    for decision, extra in (("approve", {}), ("reject", {"reason": "no"})):
        r = client.post(f"{p.url}/agreement/{decision}", json={"version": 1, **extra}, headers=p.mentor.auth)
        body = invalid(r, "number")
        assert "number" in body["detail"]
    assert flow.state(p) == before
    r = client.post(
        f"{p.url}/agreement/approve",
        json={"number": pending["number"]},
        headers={**p.mentor.auth, "If-Match": str(pending["version"])},
    )
    assert (r.status_code, r.json()["number"]) == (200, 1), r.text
