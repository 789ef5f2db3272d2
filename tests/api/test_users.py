"""Users, profiles, the mentor directory and the topic catalogue."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from models import OutgoingEmail, User
from models.settings import Settings
from tasks.mail import enqueue_password_link
from tests.api.helpers import Flow, invalid, problem
from tests.support import Clock, People, Person

NEW_USER = {
    "email": "Nina.New@Example.org",
    "password": "a long password",
    "display_name": "  Nina New ",
    "roles": ["mentee", "mentor"],
}


def test_operator_creates_a_user_who_can_sign_in(client: TestClient, operator: Person) -> None:
    r = client.post("/api/users", json=NEW_USER, headers=operator.auth)
    assert r.status_code == 201, r.text
    user = r.json()
    assert isinstance(user["id"], int)
    assert user["email"] == "nina.new@example.org"
    assert user["display_name"] == "Nina New"
    assert user["roles"] == ["mentee", "mentor"]
    assert user["profile"]["mentee"] is not None
    assert user["profile"]["mentor"] is not None
    assert "password" not in r.text
    token = client.post(
        "/api/auth/token", data={"username": "nina.new@example.org", "password": "a long password"}
    )
    assert token.status_code == 200, token.text
    me = client.get("/api/me", headers={"Authorization": f"Bearer {token.json()['access_token']}"})
    assert me.json() == user


def test_a_duplicate_email_is_a_conflict_in_any_case(client: TestClient, operator: Person) -> None:
    assert client.post("/api/users", json=NEW_USER, headers=operator.auth).status_code == 201
    again = {**NEW_USER, "email": "nina.new@example.ORG", "display_name": "Other"}
    problem(client.post("/api/users", json=again, headers=operator.auth), 409, detail="email")
    # the first account is untouched: its password still works, the name is the first one
    token = client.post(
        "/api/auth/token", data={"username": "nina.new@example.org", "password": "a long password"}
    )
    assert token.status_code == 200


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"password": "short"}, "password"),
        ({"roles": []}, "roles"),
        ({"roles": ["admin"]}, "roles.0"),
        ({"display_name": ""}, "display_name"),
        ({"nickname": "typo"}, "nickname"),
    ],
    ids=["email", "short password", "no roles", "unknown role", "empty name", "unknown field"],
)
def test_invalid_users_are_refused_field_by_field(
    client: TestClient, operator: Person, change: dict[str, object], field: str
) -> None:
    invalid(client.post("/api/users", json={**NEW_USER, **change}, headers=operator.auth), field)
    token = client.post(
        "/api/auth/token", data={"username": NEW_USER["email"], "password": NEW_USER["password"]}
    )
    assert token.status_code == 401  # nobody was created


def test_only_operators_create_users(client: TestClient, people: People) -> None:
    for person in (people.mentee(), people.mentor()):
        problem(client.post("/api/users", json=NEW_USER, headers=person.auth), 403)
    r = client.post("/api/auth/token", data={"username": NEW_USER["email"], "password": NEW_USER["password"]})
    assert r.status_code == 401


def test_a_mentee_updates_bio_and_the_mentee_part(client: TestClient, people: People) -> None:
    mentee = people.mentee()
    body = {"bio": "Student of physics", "mentee": {"goals": "Find a job", "topics": ["career"]}}
    r = client.put("/api/me/profile", json=body, headers=mentee.auth)
    assert r.status_code == 200, r.text
    assert r.json()["profile"]["bio"] == "Student of physics"
    assert r.json()["profile"]["mentee"] == {"goals": "Find a job", "topics": ["career"]}
    # a partial update keeps what it does not name
    r = client.put("/api/me/profile", json={"mentee": {"goals": "Find a good job"}}, headers=mentee.auth)
    assert r.json()["profile"] == {
        "bio": "Student of physics",
        "mentee": {"goals": "Find a good job", "topics": ["career"]},
        "mentor": None,
    }
    assert client.get("/api/me", headers=mentee.auth).json()["profile"] == r.json()["profile"]


def test_a_mentor_updates_offer_topics_and_capacity(client: TestClient, people: People) -> None:
    mentor = people.mentor(capacity=1)
    body = {"mentor": {"offer": "Career advice", "topics": ["career", "leadership"], "capacity": 4}}
    r = client.put("/api/me/profile", json=body, headers=mentor.auth)
    assert r.status_code == 200, r.text
    assert r.json()["profile"]["mentor"] == {
        "offer": "Career advice",
        "topics": ["career", "leadership"],
        "capacity": 4,
    }


@pytest.mark.parametrize("role", ["mentee", "mentor", "operator"])
def test_the_profile_part_of_another_role_is_forbidden_and_changes_nothing(
    client: TestClient, people: People, role: str
) -> None:
    person = {"mentee": people.mentee, "mentor": people.mentor, "operator": people.operator}[role]()
    before = client.get("/api/me", headers=person.auth).json()
    parts = {"mentee": {"goals": "x"}, "mentor": {"capacity": 3}}
    for part, value in parts.items():
        if part == role:
            continue
        r = client.put("/api/me/profile", json={"bio": "changed", part: value}, headers=person.auth)
        problem(r, 403, detail=part)
    assert client.get("/api/me", headers=person.auth).json() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"mentor": {"capacity": -1}}, "mentor.capacity"),
        ({"mentor": {"capacity": 51}}, "mentor.capacity"),
        ({"mentor": {"capacity": "many"}}, "mentor.capacity"),
        ({"mentor": {"topics": "career"}}, "mentor.topics"),
        ({"mentor": {"rate": 5}}, "mentor.rate"),
    ],
    ids=[
        "negative capacity",
        "capacity too large",
        "capacity not a number",
        "topics not a list",
        "unknown field",
    ],
)
def test_invalid_profiles_are_refused(
    client: TestClient, people: People, body: dict[str, object], field: str
) -> None:
    mentor = people.mentor(capacity=2)
    invalid(client.put("/api/me/profile", json=body, headers=mentor.auth), field)
    assert client.get("/api/me", headers=mentor.auth).json()["profile"]["mentor"]["capacity"] == 2


@pytest.mark.parametrize("capacity", [0, 50])
def test_capacity_bounds_are_accepted(client: TestClient, people: People, capacity: int) -> None:
    mentor = people.mentor()
    r = client.put("/api/me/profile", json={"mentor": {"capacity": capacity}}, headers=mentor.auth)
    assert r.status_code == 200, r.text
    assert r.json()["profile"]["mentor"]["capacity"] == capacity


def test_mentor_directory_filters_by_topic_and_counts_free_capacity(
    client: TestClient, people: People, flow: Flow
) -> None:
    anna, ben = people.mentor("Anna", capacity=2), people.mentor("Ben", capacity=1)
    people.mentee("Mia")
    people.operator()
    client.put(
        "/api/me/profile",
        headers=anna.auth,
        json={"mentor": {"offer": "Careers", "topics": ["Career", "python"]}},
    )
    client.put("/api/me/profile", headers=ben.auth, json={"mentor": {"topics": ["leadership"]}})

    def directory(query: str = "") -> dict[str, dict[str, object]]:
        r = client.get(f"/api/mentors{query}", headers=people.mentee().auth)
        assert r.status_code == 200, r.text
        return {m["display_name"]: m for m in r.json()}

    listing = directory()
    assert set(listing) == {"Anna", "Ben"}  # mentors only
    assert listing["Anna"]["id"] == anna.id
    assert listing["Anna"]["offer"] == "Careers"
    assert listing["Anna"]["topics"] == ["Career", "python"]
    assert (listing["Anna"]["free_capacity"], listing["Ben"]["free_capacity"]) == (2, 1)

    assert set(directory("?topic=career")) == {"Anna"}  # case does not matter
    assert set(directory("?topic=leadership")) == {"Ben"}
    assert directory("?topic=knitting") == {}

    first = flow.request(people.mentee(), anna)
    assert directory()["Anna"]["free_capacity"] == 1
    flow.ok("POST", f"{first.url}/accept", anna)
    assert directory()["Anna"]["free_capacity"] == 1  # an accepted mentorship still counts
    flow.request(people.mentee(), anna)
    assert directory()["Anna"]["free_capacity"] == 0
    flow.ok("POST", f"{first.url}/end", anna, json={"reason_code": "other", "reason": "done"})
    assert directory()["Anna"]["free_capacity"] == 1  # a finished one frees the place
    assert directory()["Ben"]["free_capacity"] == 1


def test_topics_cover_at_least_twelve_subjects_with_three_questions_each(
    client: TestClient, people: People
) -> None:
    r = client.get("/api/topics", headers=people.mentee().auth)
    assert r.status_code == 200, r.text
    topics = r.json()
    assert len(topics) >= 12
    assert len({t["slug"] for t in topics}) == len(topics)
    for t in topics:
        assert t["title"].strip(), t
        assert len(t["questions"]) >= 3, t
        assert all(q.strip() for q in t["questions"]), t


def test_a_person_chooses_language_and_time_zone_and_mails_follow(
    client: TestClient, people: People, db: Engine, clock: Clock, settings: Settings
) -> None:
    anna = people.mentee("Anna Schmidt")
    assert client.get("/api/me", headers=anna.auth).json()["locale"] == ""  # not chosen yet

    r = client.put(
        "/api/me/profile", headers=anna.auth, json={"locale": "de", "timezone": "America/New_York"}
    )

    assert r.status_code == 200, r.text
    assert (r.json()["locale"], r.json()["timezone"]) == ("de", "America/New_York")
    with Session(db) as s:
        user = s.get_one(User, anna.id)
        enqueue_password_link(s, user, "reset", settings=settings, now=clock.now)
        s.commit()
        [mail] = s.scalars(select(OutgoingEmail).where(OutgoingEmail.user_id == anna.id)).all()
    assert "Passwort" in mail.subject  # German from now on
    assert client.put("/api/me/profile", headers=anna.auth, json={"locale": ""}).json()["locale"] == ""


def test_an_unknown_language_or_time_zone_is_refused_and_changes_nothing(
    client: TestClient, people: People
) -> None:
    anna = people.mentee("Anna Schmidt")
    invalid(client.put("/api/me/profile", headers=anna.auth, json={"locale": "fr"}), "locale")
    invalid(client.put("/api/me/profile", headers=anna.auth, json={"timezone": "Mars/Olympus"}), "timezone")
    invalid(client.put("/api/me/profile", headers=anna.auth, json={"timezone": "x" * 61}), "timezone")
    me = client.get("/api/me", headers=anna.auth).json()
    assert (me["locale"], me["timezone"]) == ("", "Europe/Berlin")
