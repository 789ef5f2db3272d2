"""Operators and people: the list of everyone, roles, and the audit log of operators' actions."""

from __future__ import annotations

import io
from typing import Any

import pypdf
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from models.settings import Settings
from services.certificates import certificate_facts
from tasks.certificate import render_certificate_pdf
from tests.api.helpers import Flow, invalid, problem
from tests.consequences.support import SmtpServer, password_link_in_last_mail
from tests.support import Clock, Journey, People, Person


def audit(client: TestClient, operator: Person, query: str = "") -> list[dict[str, Any]]:
    r = client.get(f"/api/admin/audit{query}", headers=operator.auth)
    assert r.status_code == 200, r.text
    entries: list[dict[str, Any]] = r.json()
    return entries


def test_an_operator_sets_roles_and_the_audit_log_says_who_changed_what(
    client: TestClient, operator: Person, people: People, flow: Flow
) -> None:
    tara = people.mentee("Tara Mentee")

    r = client.put(
        f"/api/admin/users/{tara.id}/roles", headers=operator.auth, json={"roles": ["mentee", "mentor"]}
    )

    assert r.status_code == 200, r.text
    assert r.json()["roles"] == ["mentee", "mentor"]
    [entry] = audit(client, operator)
    assert (entry["action"], entry["operator"]["id"], entry["subject"]["id"]) == (
        "person.roles_set",
        operator.id,
        tara.id,
    )
    assert entry["details"] == {"from": ["mentee"], "to": ["mentee", "mentor"]}
    same = client.put(
        f"/api/admin/users/{tara.id}/roles", headers=operator.auth, json={"roles": ["mentor", "mentee"]}
    )
    assert same.status_code == 200
    assert len(audit(client, operator)) == 1  # nothing changed, nothing logged


def test_roles_cannot_lock_out_an_operator_or_pull_someone_out_of_a_mentorship(
    client: TestClient, operator: Person, people: People, flow: Flow
) -> None:
    pair = flow.pair("intro")

    own = client.put(
        f"/api/admin/users/{operator.id}/roles", headers=operator.auth, json={"roles": ["mentee"]}
    )
    problem(own, 409, detail="own account")
    busy = client.put(
        f"/api/admin/users/{pair.mentor.id}/roles", headers=operator.auth, json={"roles": ["mentee"]}
    )
    problem(busy, 409, detail="mentorship under way")
    invalid(
        client.put(f"/api/admin/users/{pair.mentee.id}/roles", headers=operator.auth, json={"roles": []}),
        "roles",
    )
    invalid(
        client.put(
            f"/api/admin/users/{pair.mentee.id}/roles", headers=operator.auth, json={"roles": ["king"]}
        ),
        "roles.0",
    )
    problem(
        client.put("/api/admin/users/999999/roles", headers=operator.auth, json={"roles": ["mentee"]}), 404
    )
    problem(
        client.put(
            f"/api/admin/users/{pair.mentee.id}/roles", headers=pair.mentee.auth, json={"roles": ["operator"]}
        ),
        403,
    )
    mentor = client.get(f"/api/admin/users?q={pair.mentor.email}", headers=operator.auth).json()
    assert [m["roles"] for m in mentor] == [["mentor"]]  # unchanged
    assert audit(client, operator) == []


def test_people_are_listed_by_name_searched_filtered_and_paged(
    client: TestClient, operator: Person, people: People
) -> None:
    people.mentee("Zoë Zimmermann")
    people.mentor("Ärzte Anna")
    people.mentee("Bert Bauer")

    def names(query: str = "") -> list[str]:
        r = client.get(f"/api/admin/users{query}", headers=operator.auth)
        assert r.status_code == 200, r.text
        return [u["display_name"] for u in r.json()]

    assert names() == ["Ärzte Anna", "Bert Bauer", "Olga Operator", "Zoë Zimmermann"] or names()[:3] == [
        "Bert Bauer",
        "Olga Operator",
        "Zoë Zimmermann",
    ]  # by name; where "Ä" goes is the database's collation
    assert names("?q=zoë") == ["Zoë Zimmermann"]
    assert names("?q=ÄRZTE") == ["Ärzte Anna"]
    assert names("?role=mentee") == ["Bert Bauer", "Zoë Zimmermann"]
    r = client.get("/api/admin/users?limit=2&offset=2", headers=operator.auth)
    assert r.headers["X-Total-Count"] == "4"
    assert len(r.json()) == 2
    problem(client.get("/api/admin/users", headers=people.mentee().auth), 403)


def test_every_action_on_a_person_is_in_the_audit_log(
    client: TestClient, operator: Person, people: People
) -> None:
    invited = client.post(
        "/api/admin/invitations",
        headers=operator.auth,
        json={"email": "new.mentor@example.org", "display_name": "New Mentor", "roles": ["mentor"]},
    ).json()
    made = client.post(
        "/api/users",
        headers=operator.auth,
        json={
            "email": "made@example.org",
            "password": "long enough 1",
            "display_name": "Made",
            "roles": ["mentee"],
        },
    ).json()
    for step in ("deactivate", "reactivate", "reset-password", "erase"):
        r = client.post(f"/api/admin/users/{made['id']}/{step}", headers=operator.auth)
        assert r.status_code == 200, (step, r.text)

    actions = [(e["action"], e["subject"]["id"]) for e in audit(client, operator)]

    assert actions == [
        ("person.erased", made["id"]),
        ("person.password_reset", made["id"]),
        ("person.reactivated", made["id"]),
        ("person.deactivated", made["id"]),
        ("person.created", made["id"]),
        ("person.invited", invited["id"]),
    ]
    assert [e["action"] for e in audit(client, operator, f"?subject_id={invited['id']}")] == [
        "person.invited"
    ]
    assert audit(client, operator, "?limit=1")[0]["details"] == {}
    problem(client.get("/api/admin/audit", headers=people.mentor().auth), 403)


def test_the_program_named_by_an_operator_is_on_mails_and_certificates(
    client: TestClient,
    operator: Person,
    people: People,
    db: Engine,
    clock: Clock,
    mail_server: SmtpServer,
    settings: Settings,
) -> None:
    assert client.get("/api/admin/program", headers=operator.auth).json() == {"name": "", "contact_email": ""}
    r = client.put(
        "/api/admin/program",
        headers=operator.auth,
        json={"name": "Mentoring at Müller & Söhne", "contact_email": "Mentoring@Example.org"},
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"name": "Mentoring at Müller & Söhne", "contact_email": "mentoring@example.org"}
    assert client.get("/api/admin/program", headers=operator.auth).json() == r.json()
    [entry] = audit(client, operator)
    assert (entry["action"], entry["details"]) == (
        "program.settings_changed",
        {"changed": ["name", "contact_email"]},
    )

    client.post(
        "/api/admin/invitations",
        headers=operator.auth,
        json={"email": "nia@example.org", "display_name": "Nia Neu", "roles": ["mentor"]},
    )
    password_link_in_last_mail(mail_server, db, settings, "nia@example.org", "invitation")
    [mail] = mail_server.inbox.to("nia@example.org")
    text, html = (mail.get_body(preferencelist=(kind,)) for kind in ("plain", "html"))
    assert text is not None
    assert html is not None
    assert "Mentoring at Müller & Söhne" in text.get_content()
    assert "Questions? Write to mentoring@example.org." in text.get_content()
    assert "Mentoring at Müller &amp; Söhne" in html.get_content()

    tara = people.mentee("Tara Mentee")
    journey = Journey(db, clock, tara, people.mentor()).request().accept()
    with Session(db) as s:
        facts = certificate_facts(s, journey.mentorship_id, tara.id)
    assert facts.program_name == "Mentoring at Müller & Söhne"
    rendered = render_certificate_pdf(facts, "https://m.example.org/verify/abc", locale="en")
    pdf = pypdf.PdfReader(io.BytesIO(rendered))
    assert pdf.metadata is not None
    assert pdf.metadata.author == "Mentoring at Müller & Söhne"
    heading = pdf.pages[0].extract_text().replace(" ", "")  # the name in spaced capitals
    assert "MENTORINGATMÜLLER&SÖHNE" in heading

    invalid(client.put("/api/admin/program", headers=operator.auth, json={"name": ""}), "name")
    invalid(
        client.put("/api/admin/program", headers=operator.auth, json={"name": "x", "contact_email": "no"}),
        "contact_email",
    )
    problem(client.put("/api/admin/program", headers=people.mentor().auth, json={"name": "Mine"}), 403)
    assert (
        client.get("/api/admin/program", headers=operator.auth).json()["name"]
        == "Mentoring at Müller & Söhne"
    )
