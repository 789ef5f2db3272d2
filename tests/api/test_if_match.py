"""``If-Match`` with the ``version`` a client read: a stale one is refused with 412 and
changes nothing; the right one goes through; a malformed one is invalid."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.helpers import TERMS, Flow, invalid, problem


def test_a_stale_version_is_refused_and_the_current_one_accepted(
    client: TestClient, flow: Flow, woken: list[int]
) -> None:
    p = flow.pair("requested")
    read = client.get(p.url, headers=p.mentor.auth).json()
    version = read["version"]
    before = flow.state(p)
    woken.clear()
    r = client.post(f"{p.url}/accept", headers={**p.mentor.auth, "If-Match": str(version - 1)})
    problem(r, 412, detail="reload")
    assert str(version) in r.json()["detail"]
    problem(client.post(f"{p.url}/accept", headers={**p.mentor.auth, "If-Match": str(version + 1)}), 412)
    assert flow.state(p) == before
    assert woken == []
    r = client.post(f"{p.url}/accept", headers={**p.mentor.auth, "If-Match": str(version)})
    assert r.status_code == 200, r.text
    assert r.json()["version"] > version


@pytest.mark.parametrize("form", ['"{v}"', 'W/"{v}"', " {v} "])
def test_quoted_and_weak_etag_forms_are_understood(client: TestClient, flow: Flow, form: str) -> None:
    p = flow.pair("requested")
    version = client.get(p.url, headers=p.mentor.auth).json()["version"]
    r = client.post(f"{p.url}/accept", headers={**p.mentor.auth, "If-Match": form.format(v=version)})
    assert r.status_code == 200, r.text


def test_a_malformed_if_match_is_invalid_and_changes_nothing(client: TestClient, flow: Flow) -> None:
    p = flow.pair("requested")
    before = flow.state(p)
    for value in ("abc", "-1", "1.5", '"v1"'):
        r = client.post(f"{p.url}/accept", headers={**p.mentor.auth, "If-Match": value})
        assert r.status_code == 422, (value, r.text)
        problem(r, 422, detail="if-match")
        invalid(r, "if-match")
    assert flow.state(p) == before


def test_a_concurrent_edit_of_the_draft_is_caught(client: TestClient, flow: Flow) -> None:
    p = flow.pair("intro")
    draft = flow.draft(p)
    # a second tab saves first
    flow.draft(p, planned_meetings=2)
    before = flow.state(p)
    r = client.put(
        f"{p.url}/agreement",
        json={**TERMS, "planned_meetings": 9},
        headers={**p.mentee.auth, "If-Match": str(draft["version"])},
    )
    problem(r, 412)
    assert flow.state(p) == before
    assert flow.state(p)["agreement"]["draft"]["planned_meetings"] == 2
    current = before["agreement"]["draft"]["version"]
    r = client.put(
        f"{p.url}/agreement",
        json={**TERMS, "planned_meetings": 9},
        headers={**p.mentee.auth, "If-Match": str(current)},
    )
    assert r.status_code == 200, r.text
    assert r.json()["planned_meetings"] == 9
    # a new draft has nothing to match yet: any If-Match but 0 is stale
    p2 = flow.pair("intro")
    problem(client.put(f"{p2.url}/agreement", json=TERMS, headers={**p2.mentee.auth, "If-Match": "1"}), 412)
    assert flow.state(p2)["agreement"]["draft"] is None


def test_approval_with_the_pending_versions_version(client: TestClient, flow: Flow) -> None:
    p = flow.pair("intro")
    flow.draft(p)
    pending = flow.submit(p)
    before = flow.state(p)
    problem(
        client.post(
            f"{p.url}/agreement/approve",
            json={"number": 1},
            headers={**p.mentor.auth, "If-Match": str(pending["version"] + 5)},
        ),
        412,
    )
    assert flow.state(p) == before
    r = client.post(
        f"{p.url}/agreement/approve",
        json={"number": 1},
        headers={**p.mentor.auth, "If-Match": str(pending["version"])},
    )
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("action", ["confirm", "decline", "cancel"])
def test_meeting_writes_check_the_meetings_version(client: TestClient, flow: Flow, action: str) -> None:
    p = flow.pair("intro")
    m = flow.propose(p)
    url = f"/api/meetings/{m['id']}/{action}"
    body = None if action == "confirm" else {"reason": "x"}
    before = flow.state(p)
    problem(client.post(url, json=body, headers={**p.mentor.auth, "If-Match": str(m["version"] + 1)}), 412)
    assert flow.state(p) == before
    r = client.post(url, json=body, headers={**p.mentor.auth, "If-Match": str(m["version"])})
    assert r.status_code == 200, r.text


def test_attendance_checks_the_meetings_version(client: TestClient, flow: Flow) -> None:
    p = flow.pair("intro")
    m = flow.started(p)
    url = f"/api/meetings/{m['id']}/attendance"
    flow.ok("POST", url, p.mentee, json={"attended": True})
    before = flow.state(p)
    problem(
        client.post(url, json={"attended": True}, headers={**p.mentor.auth, "If-Match": str(m["version"])}),
        412,
    )
    assert flow.state(p) == before
    current = client.get(f"/api/meetings/{m['id']}", headers=p.mentor.auth).json()["version"]
    r = client.post(url, json={"attended": True}, headers={**p.mentor.auth, "If-Match": str(current)})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "held"
