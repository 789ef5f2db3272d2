"""Who gets in: sign-in with ``?next=``, no open redirect, other pairs' pages are not found,
the session cookie's flags, CSRF on every form, signing out."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from models import Mentorship
from tests.support import Clock, Journey, People, Person

pytestmark = pytest.mark.browser
SignIn = Callable[[Page, Person], None]


def test_a_page_that_needs_sign_in_comes_back_after_it(
    page: Page, sign_in: SignIn, live_url: str, people: People, db: Engine, clock: Clock
) -> None:
    tara, mira = people.mentee("Tara Mentee"), people.mentor("Mira Mentor")
    mid = Journey(db, clock, tara, mira).request().mentorship_id

    response = page.goto(f"{live_url}/portal/mentorships/{mid}/agreement")
    assert response is not None
    assert page.url == f"{live_url}/portal/login?next=%2Fportal%2Fmentorships%2F{mid}%2Fagreement"
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()

    page.get_by_label("Email").fill(tara.email)
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    assert "mentorflow_session" not in {c["name"] for c in page.context.cookies()}

    sign_in(page, tara)
    assert page.url == f"{live_url}/portal/mentorships/{mid}/agreement"
    expect(page.get_by_role("heading", level=1)).to_have_text("Mentorship agreement")
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "mentorflow_session"]
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (True, "Lax", "/portal")

    # signing out ends the session: pages send you to the login page again
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto(f"{live_url}/portal")
    assert "/portal/login?next=%2Fportal" in page.url


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/portal", "/\\evil.example"])
def test_next_never_leaves_the_site(
    page: Page, sign_in: SignIn, live_url: str, people: People, target: str
) -> None:
    page.goto(f"{live_url}/portal/login?next={target}")
    sign_in(page, people.mentee("Tara Mentee"))
    assert page.url == f"{live_url}/portal"


def test_a_participant_cannot_open_another_pairs_pages(
    page: Page, sign_in: SignIn, live_url: str, people: People, db: Engine, clock: Clock
) -> None:
    journey = (
        Journey(db, clock, people.mentee("Tara Mentee"), people.mentor("Mira Mentor")).request().accept()
    )
    meeting_id = journey.hold_meeting()
    sign_in(page, people.mentee("Nosy Neighbour"))

    for path, message in [
        (f"/portal/mentorships/{journey.mentorship_id}", "No such mentorship."),
        (f"/portal/mentorships/{journey.mentorship_id}/agreement", "No such mentorship."),
        (f"/portal/meetings/{meeting_id}", "No such mentorship."),
        (f"/portal/meetings/{meeting_id}/calendar.ics", "No such mentorship."),
        ("/portal/mentorships/999999", "No such mentorship."),
    ]:
        response = page.goto(live_url + path)
        assert response is not None
        assert response.status == 404, path
        expect(page.get_by_role("alert")).to_have_text(message)
        expect(page.get_by_text("Tara Mentee")).to_have_count(0)


def test_a_forged_post_is_refused_and_changes_nothing(
    page: Page, sign_in: SignIn, live_url: str, people: People, db: Engine, clock: Clock
) -> None:
    mira = people.mentor("Mira Mentor")
    mid = Journey(db, clock, people.mentee("Tara Mentee"), mira).request().mentorship_id
    page.goto(f"{live_url}/portal/mentorships/{mid}")
    sign_in(page, mira)
    accept = f"{live_url}/portal/mentorships/{mid}/accept"

    # the signed-in mentor's own cookie, but not the page's token: as a forged form would send it
    forged: list[dict[str, str | float | bool]] = [{}, {"csrf_token": "forged"}]
    for form in forged:
        answer = page.request.post(accept, form=form, max_redirects=0)
        assert answer.status == 403
        assert "This form has expired or did not come from this site." in answer.text()

    # a token from another session does not fit this one either
    other = page.context.browser.new_context()  # type: ignore[union-attr]
    other_page = other.new_page()
    sign_in(other_page, people.mentee("Olli Other"))
    foreign_token = other_page.locator("input[name=csrf_token]").first.get_attribute("value")
    other.close()
    assert page.request.post(accept, form={"csrf_token": foreign_token or ""}, max_redirects=0).status == 403

    with Session(db) as s:
        assert s.scalar(select(Mentorship.stage)) == "requested"

    # the page's own form goes through
    page.get_by_role("button", name="Accept request").click()
    expect(page.get_by_role("status")).to_have_text("You accepted the request.")


def test_a_copy_of_the_cookie_opens_nothing_after_signing_out(
    page: Page, open_page: Callable[..., Page], sign_in: SignIn, live_url: str, people: People
) -> None:
    """Signing out ends the session on the server, not only in this browser: a stolen copy of
    the cookie, in another browser or as a bearer token, is refused."""
    tara = people.mentee("Tara Mentee")
    sign_in(page, tara)
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "mentorflow_session"]
    thief = open_page()
    thief.context.add_cookies(
        [{"name": cookie["name"], "value": cookie["value"], "domain": cookie["domain"], "path": "/portal"}]
    )
    thief.goto(f"{live_url}/portal")
    expect(thief.get_by_role("heading", level=1)).not_to_have_text("Sign in")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()

    thief.goto(f"{live_url}/portal")
    assert "/portal/login" in thief.url
    me = httpx.get(f"{live_url}/api/me", headers={"Authorization": f"Bearer {cookie['value']}"})
    assert me.status_code == 401


def test_guessing_a_password_on_the_login_page_is_throttled(
    page: Page, sign_in: SignIn, live_url: str, people: People
) -> None:
    tara = people.mentee("Tara Mentee")
    page.goto(f"{live_url}/portal/login")
    for _ in range(10):  # the default budget per account: 10 tries in 15 minutes
        page.get_by_label("Email").fill(tara.email)
        page.get_by_label("Password").fill("a guess")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")

    page.get_by_label("Email").fill(tara.email)
    page.get_by_label("Password").fill(tara.password)
    with page.expect_response(f"{live_url}/portal/login") as answer:
        page.get_by_role("button", name="Sign in").click()
    assert answer.value.status == 429
    assert int(answer.value.headers["retry-after"]) > 0
    expect(page.get_by_role("alert")).to_have_text("Too many sign-in attempts. Try again in 15 minutes.")
    assert "mentorflow_session" not in {c["name"] for c in page.context.cookies()}
