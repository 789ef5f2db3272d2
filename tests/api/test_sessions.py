"""Sessions that end and sign-ins that cannot be guessed: signing out, changing one's password,
and throttling per account and per address (issue 11)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi.testclient import TestClient

from models.settings import Settings, get_settings
from tests.api.helpers import Flow, invalid, problem
from tests.support import People

# small budgets, so that a test spends them in a few requests; the window is the real clock's
LIMITS = {"sign_in_limit_per_account": "3 per 1 minute", "sign_in_limit_per_address": "6 per 1 minute"}


@pytest.fixture
def settings() -> Settings:
    return get_settings().model_copy(update=LIMITS)


def sign_in(client: TestClient | httpx.Client, email: str, password: str) -> httpx.Response:
    return client.post("/api/auth/token", data={"username": email, "password": password})


def bearer(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


# --- signing out --------------------------------------------------------------------------------


def test_signing_out_ends_that_token_and_no_other(client: TestClient, people: People) -> None:
    mentee = people.mentee()
    laptop = bearer(sign_in(client, mentee.email, mentee.password))
    phone = bearer(sign_in(client, mentee.email, mentee.password))
    assert client.get("/api/me", headers=laptop).status_code == 200

    assert client.post("/api/auth/logout", headers=laptop).status_code == 204

    problem(client.get("/api/me", headers=laptop), 401)
    problem(client.post("/api/auth/logout", headers=laptop), 401)  # over is over
    assert client.get("/api/me", headers=phone).status_code == 200


# --- changing one's password ----------------------------------------------------------------------


def test_a_new_password_ends_every_sign_in_of_the_person(client: TestClient, people: People) -> None:
    mentee, mentor = people.mentee(), people.mentor()
    laptop = bearer(sign_in(client, mentee.email, mentee.password))
    phone = bearer(sign_in(client, mentee.email, mentee.password))
    others = mentor.auth

    r = client.post(
        "/api/auth/password",
        headers=laptop,
        json={"current_password": mentee.password, "new_password": "a much better one"},
    )

    fresh = bearer(r)
    for ended in (laptop, phone):
        problem(client.get("/api/me", headers=ended), 401)
    assert client.get("/api/me", headers=fresh).json()["id"] == mentee.id
    assert client.get("/api/me", headers=others).status_code == 200  # someone else's: untouched
    problem(sign_in(client, mentee.email, mentee.password), 401)
    assert sign_in(client, mentee.email, "a much better one").status_code == 200


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"current_password": "not the one", "new_password": "a much better one"}, "current_password"),
        ({"new_password": "short"}, "new_password"),
    ],
    ids=["wrong current password", "too short"],
)
def test_a_refused_password_change_changes_nothing(
    client: TestClient, people: People, change: dict[str, str], field: str
) -> None:
    mentee = people.mentee()
    headers = bearer(sign_in(client, mentee.email, mentee.password))
    body = {"current_password": mentee.password, **change}

    invalid(client.post("/api/auth/password", headers=headers, json=body), field)

    assert client.get("/api/me", headers=headers).status_code == 200
    assert sign_in(client, mentee.email, mentee.password).status_code == 200


# --- throttling ------------------------------------------------------------------------------------


def test_guessing_one_account_is_stopped_even_before_the_right_password(
    client: TestClient, people: People
) -> None:
    mentee = people.mentee()
    for _ in range(3):
        problem(sign_in(client, mentee.email, "guess"), 401)

    r = sign_in(client, mentee.email, mentee.password)

    problem(r, 429, detail="too many sign-in attempts")
    assert 1 <= int(r.headers["retry-after"]) <= 60
    assert "access_token" not in r.text


def test_an_unknown_account_is_throttled_alike(client: TestClient, people: People) -> None:
    """The answers tell nothing about which accounts exist: the same statuses, in the same
    order, for a real account and an invented one."""
    mentee = people.mentee()
    real = [sign_in(client, mentee.email, "guess").status_code for _ in range(4)]
    invented = [sign_in(client, "nobody@example.org", "guess").status_code for _ in range(2)]
    assert real == [401, 401, 401, 429]
    assert invented == [401, 401]  # the address budget (6) is what remains here


def test_one_address_guessing_many_accounts_is_stopped(client: TestClient, people: People) -> None:
    victims = [people.mentee() for _ in range(4)]
    answers = [sign_in(client, v.email, "guess").status_code for v in victims for _ in range(2)]
    assert answers == [401] * 6 + [429] * 2
    problem(sign_in(client, victims[0].email, victims[0].password), 429)


def test_signing_in_correctly_gives_the_account_its_budget_back(client: TestClient, people: People) -> None:
    mentee = people.mentee()
    for _ in range(2):
        for _ in range(2):
            problem(sign_in(client, mentee.email, "typo"), 401)
        assert sign_in(client, mentee.email, mentee.password).status_code == 200


def test_parallel_guesses_cannot_slip_past_the_budget(live_url: str, people: People) -> None:
    """Twenty guesses at once against a real server: three are checked, the rest refused."""
    mentee = people.mentee()
    with httpx.Client(base_url=live_url) as http, ThreadPoolExecutor(10) as pool:
        statuses = list(pool.map(lambda _: sign_in(http, mentee.email, "guess").status_code, range(20)))
    assert sorted(statuses) == [401] * 3 + [429] * 17


def test_the_budget_comes_back_when_the_window_moves_on(
    db: object, clock: object, woken: list[int], people: People
) -> None:
    from api.app import create_app

    quick = get_settings().model_copy(update={"sign_in_limit_per_account": "2 per 2 seconds"})
    app = create_app(quick, engine=db, clock=clock, on_fact=woken.append)  # type: ignore[arg-type]
    mentee = people.mentee()
    with TestClient(app) as client:
        for _ in range(2):
            problem(sign_in(client, mentee.email, "guess"), 401)
        refused = sign_in(client, mentee.email, mentee.password)
        problem(refused, 429)
        time.sleep(int(refused.headers["retry-after"]) + 0.2)
        assert sign_in(client, mentee.email, mentee.password).status_code == 200


# --- deactivation by an operator -----------------------------------------------------------------


def test_a_deactivated_person_is_signed_out_at_once_and_cannot_sign_in(
    client: TestClient, people: People, flow: Flow
) -> None:
    operator = people.operator()
    pair = flow.pair("intro")
    mentor = pair.mentor
    session = bearer(sign_in(client, mentor.email, mentor.password))

    r = client.post(f"/api/admin/users/{mentor.id}/deactivate", headers=operator.auth)

    assert r.status_code == 200, r.text
    assert r.json()["deactivated_at"] is not None
    problem(client.get("/api/me", headers=session), 401)
    problem(sign_in(client, mentor.email, mentor.password), 401, detail="wrong email or password")
    seen_by_mentee = client.get(pair.url, headers=pair.mentee.auth).json()
    assert seen_by_mentee["mentor"]["deactivated_at"] is not None  # the pair's page says so
    assert seen_by_mentee["mentee"]["deactivated_at"] is None

    assert client.post(f"/api/admin/users/{mentor.id}/reactivate", headers=operator.auth).status_code == 200
    problem(client.get("/api/me", headers=session), 401)  # ended sessions stay ended
    assert sign_in(client, mentor.email, mentor.password).status_code == 200


def test_only_operators_deactivate_and_never_themselves(client: TestClient, people: People) -> None:
    operator, mentee, mentor = people.operator(), people.mentee(), people.mentor()
    problem(client.post(f"/api/admin/users/{mentor.id}/deactivate", headers=mentee.auth), 403)
    problem(client.post(f"/api/admin/users/{operator.id}/deactivate", headers=operator.auth), 409)
    problem(client.post("/api/admin/users/999999/deactivate", headers=operator.auth), 404)
    assert client.get("/api/me", headers=mentor.auth).json()["deactivated_at"] is None
    assert client.get("/api/me", headers=operator.auth).status_code == 200
