"""Passwords by mail: an operator's invitation and reset, and "forgot your password" (issues 10
and 11). Mails go through the real outbox and a real SMTP server."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from models.settings import Settings
from tests.api.helpers import invalid, problem
from tests.consequences.support import SmtpServer, password_link_in_last_mail
from tests.support import Clock, People


def sign_in(client: TestClient, email: str, password: str) -> int:
    status: int = client.post("/api/auth/token", data={"username": email, "password": password}).status_code
    return status


def test_an_invited_person_chooses_a_password_with_the_mailed_link_once(
    client: TestClient, people: People, mail_server: SmtpServer, db: Engine, settings: Settings
) -> None:
    operator = people.operator()
    r = client.post(
        "/api/admin/invitations",
        headers=operator.auth,
        json={"email": "Nia@Example.org", "display_name": "Nia Neu", "roles": ["mentor"]},
    )
    assert r.status_code == 201, r.text
    assert sign_in(client, "nia@example.org", "") in (401, 422)

    token = password_link_in_last_mail(mail_server, db, settings, "nia@example.org", "invitation")
    first = client.post("/api/auth/set-password", json={"token": token, "password": "my own choice"})

    assert first.status_code == 200, first.text
    me = client.get("/api/me", headers={"Authorization": f"Bearer {first.json()['access_token']}"}).json()
    assert (me["email"], me["roles"]) == ("nia@example.org", ["mentor"])
    assert sign_in(client, "nia@example.org", "my own choice") == 200
    again = client.post("/api/auth/set-password", json={"token": token, "password": "someone else's"})
    invalid(again, "token")  # used up: setting the password changed what the link was signed with
    assert sign_in(client, "nia@example.org", "my own choice") == 200


def test_an_operator_reset_ends_everything_at_once_and_mails_a_link(
    client: TestClient, people: People, mail_server: SmtpServer, db: Engine, settings: Settings
) -> None:
    operator, mentee = people.operator(), people.mentee()
    stolen = mentee.auth

    r = client.post(f"/api/admin/users/{mentee.id}/reset-password", headers=operator.auth)

    assert r.status_code == 200, r.text
    problem(client.get("/api/me", headers=stolen), 401)
    assert sign_in(client, mentee.email, mentee.password) == 401
    token = password_link_in_last_mail(mail_server, db, settings, mentee.email, "password_reset")
    chosen = client.post("/api/auth/set-password", json={"token": token, "password": "fresh start"})
    assert chosen.status_code == 200, chosen.text
    assert sign_in(client, mentee.email, "fresh start") == 200
    own = {"Authorization": f"Bearer {chosen.json()['access_token']}"}
    problem(client.post(f"/api/admin/users/{mentee.id}/reset-password", headers=own), 403)


def test_forgot_password_answers_alike_and_signs_nobody_out_by_asking(
    client: TestClient, people: People, mail_server: SmtpServer, db: Engine, settings: Settings, clock: Clock
) -> None:
    mentee = people.mentee()
    session = mentee.auth
    known = client.post("/api/auth/forgot-password", json={"email": mentee.email})
    unknown = client.post("/api/auth/forgot-password", json={"email": "nobody@example.org"})
    assert (known.status_code, unknown.status_code) == (202, 202)
    assert known.json() == unknown.json()
    assert client.get("/api/me", headers=session).status_code == 200  # asking changes nothing

    token = password_link_in_last_mail(mail_server, db, settings, mentee.email, "password_reset")
    assert mail_server.inbox.to("nobody@example.org") == []
    clock.advance(hours=2)  # a reset link works for two hours
    invalid(client.post("/api/auth/set-password", json={"token": token, "password": "too late now"}), "token")
    assert client.get("/api/me", headers=session).status_code == 200
    assert sign_in(client, mentee.email, mentee.password) == 200
