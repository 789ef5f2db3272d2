"""Signing in: the token endpoint, bearer tokens on every operation, ``GET /api/me``."""

from __future__ import annotations

import httpx
import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from api.tokens import issue_token
from models import OutgoingEmail, User
from models.settings import Settings
from tasks.mail import enqueue_password_link
from tests.api.helpers import CONTRACT, EXTRA, Flow, Operation, invalid, problem
from tests.support import Clock, People, Person


def token_form(email: str, password: str) -> dict[str, str]:
    return {"username": email, "password": password}


def test_token_for_the_right_password_signs_in(client: TestClient, people: People) -> None:
    mentee = people.mentee("Mia Mentee")
    r = client.post("/api/auth/token", data=token_form(mentee.email, mentee.password))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] > 0
    me = client.get("/api/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200, me.text
    assert me.json()["id"] == mentee.id
    assert me.json()["email"] == mentee.email


def test_token_accepts_the_email_in_any_case(client: TestClient, people: People) -> None:
    mentee = people.mentee()
    r = client.post("/api/auth/token", data=token_form(mentee.email.upper(), mentee.password))
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("case", ["wrong password", "unknown email", "empty password"])
def test_token_refuses_wrong_credentials_alike(client: TestClient, people: People, case: str) -> None:
    mentee = people.mentee()
    form = {
        "wrong password": token_form(mentee.email, "wrong horse"),
        "unknown email": token_form("nobody@example.org", mentee.password),
        "empty password": token_form(mentee.email, ""),
    }[case]
    r = client.post("/api/auth/token", data=form)
    if case == "empty password" and r.status_code == 422:
        invalid(r, "password")  # the OAuth2 form requires a password
        return
    body = problem(r, 401, detail="wrong email or password")
    assert "access_token" not in body
    assert r.headers["www-authenticate"].lower().startswith("bearer")


def test_signing_in_keeps_the_clients_language_until_the_person_chooses_one(
    client: TestClient, people: People, db: Engine, clock: Clock, settings: Settings
) -> None:
    anna, ben = people.mentee("Anna Schmidt"), people.mentee("Ben Brown")
    german = {"Accept-Language": "de-DE,de;q=0.9,en;q=0.8"}

    def sign_in(person: Person, headers: dict[str, str]) -> str:
        r = client.post("/api/auth/token", data=token_form(person.email, person.password), headers=headers)
        assert r.status_code == 200, r.text
        me = client.get("/api/me", headers={"Authorization": f"Bearer {r.json()['access_token']}"})
        return str(me.json()["locale"])

    assert sign_in(anna, {}) == ""  # no header: nothing to go by, still no choice
    assert sign_in(anna, german) == "de"  # kept: mails follow from now on
    with Session(db) as s:
        enqueue_password_link(s, s.get_one(User, anna.id), "reset", settings=settings, now=clock.now)
        s.commit()
        subject = s.scalars(select(OutgoingEmail.subject).where(OutgoingEmail.user_id == anna.id)).one()
    assert "Passwort" in subject
    assert sign_in(anna, {"Accept-Language": "en-GB"}) == "de"  # kept once, not flipped by each device

    assert client.put("/api/me/profile", headers=ben.auth, json={"locale": "en"}).status_code == 200
    assert sign_in(ben, german) == "en"  # an explicit choice stays


def test_token_without_form_fields_is_invalid(client: TestClient) -> None:
    invalid(client.post("/api/auth/token", data={}), "username", "password")


def _bad_tokens(people: People, clock: Clock, settings: Settings) -> dict[str, dict[str, str]]:
    person = people.mentee()
    old = person.token
    clock.advance(seconds=settings.token_lifetime.total_seconds() + 1)
    forged = jwt.encode(
        {"sub": str(person.id), "exp": int(clock.now.timestamp()) + 600},
        "another-secret-key-of-sufficient-length",
        algorithm="HS256",
    )
    return {
        "missing": {},
        "garbled": {"Authorization": "Bearer not.a.token"},
        "expired": {"Authorization": f"Bearer {old}"},
        "not bearer": {"Authorization": f"Basic {person.token}"},
        "forged": {"Authorization": f"Bearer {forged}"},
        "unknown user": {"Authorization": f"Bearer {issue_token(settings, 999_999, 'none', now=clock.now)}"},
        # well signed, for a real person, but of a sign-in that never was (or was deleted)
        "no sign-in": {"Authorization": f"Bearer {issue_token(settings, person.id, 'none', now=clock.now)}"},
        "no sub": {
            "Authorization": "Bearer "
            + jwt.encode({"exp": int(clock.now.timestamp()) + 600}, settings.secret_key, algorithm="HS256")
        },
    }


def _refused(r: httpx.Response, case: str) -> None:
    body = problem(r, 401)
    assert r.headers["www-authenticate"].lower().startswith("bearer"), case
    assert "sign in" in body["detail"].lower(), (case, body)


@pytest.mark.parametrize("op", CONTRACT + EXTRA, ids=str)
def test_every_operation_needs_a_valid_token(
    client: TestClient, people: People, clock: Clock, settings: Settings, op: Operation
) -> None:
    """401 problem for a missing, garbled or expired token, before anything else is looked at
    (ids that do not exist, bodies)."""
    tokens = _bad_tokens(people, clock, settings)
    for case in ("missing", "garbled", "expired"):
        _refused(client.request(op.method, op.url(), headers=tokens[case], json=op.body), case)


def test_every_kind_of_bad_token_is_refused_and_writes_nothing(
    client: TestClient, people: People, clock: Clock, settings: Settings, flow: Flow
) -> None:
    p = flow.pair("requested")
    before = flow.state(p)
    for case, headers in _bad_tokens(people, clock, settings).items():
        _refused(client.get("/api/me", headers=headers), case)
        _refused(client.post(f"{p.url}/accept", headers=headers), case)
        _refused(
            client.post(
                "/api/mentorships", headers=headers, json={"mentor_id": p.mentor.id, "message": "again"}
            ),
            case,
        )
    assert flow.state(p) == before
    assert len(client.get("/api/admin/mentorships", headers=people.operator().auth).json()) == 1


def test_an_expired_token_stops_working_while_a_fresh_one_works(
    client: TestClient, people: People, clock: Clock, settings: Settings
) -> None:
    mentee = people.mentee()
    headers = mentee.auth
    assert client.get("/api/me", headers=headers).status_code == 200
    clock.advance(seconds=settings.token_lifetime.total_seconds() - 60)
    assert client.get("/api/me", headers=headers).status_code == 200
    clock.advance(seconds=61)
    problem(client.get("/api/me", headers=headers), 401)
    assert client.get("/api/me", headers=mentee.auth).status_code == 200


def test_me_shows_roles_and_the_profile_parts_of_those_roles(client: TestClient, people: People) -> None:
    mentee, mentor, operator = people.mentee("Mia"), people.mentor("Max", capacity=3), people.operator()
    body = client.get("/api/me", headers=mentee.auth).json()
    assert body["roles"] == ["mentee"]
    assert body["display_name"] == "Mia"
    assert body["profile"]["mentee"] == {"goals": "", "topics": []}
    assert body["profile"]["mentor"] is None
    assert "password" not in str(body).lower()

    body = client.get("/api/me", headers=mentor.auth).json()
    assert body["roles"] == ["mentor"]
    assert body["profile"]["mentee"] is None
    assert body["profile"]["mentor"]["capacity"] == 3

    body = client.get("/api/me", headers=operator.auth).json()
    assert body["roles"] == ["operator"]
    assert body["profile"]["mentee"] is None
    assert body["profile"]["mentor"] is None
