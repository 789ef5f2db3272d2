"""``/portal/account``: a participant changes their password, signs out everywhere, downloads
their data and erases it, in Chromium (issue 11)."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine

from tests.support import Clock, Journey, People, Person

pytestmark = pytest.mark.browser
SignIn = Callable[[Page, Person], None]
OpenPage = Callable[..., Page]


def signed_in_twice(open_page: OpenPage, sign_in: SignIn, person: Person) -> tuple[Page, Page]:
    """Two browsers (a laptop and a phone, say), the same person signed in on each."""
    laptop, phone = open_page(), open_page()
    for page in (laptop, phone):
        sign_in(page, person)
    return laptop, phone


def test_a_new_password_keeps_this_browser_and_signs_out_the_other(
    open_page: OpenPage, sign_in: SignIn, live_url: str, people: People
) -> None:
    tara = people.mentee("Tara Mentee")
    laptop, phone = signed_in_twice(open_page, sign_in, tara)
    laptop.get_by_role("link", name="Tara Mentee").click()
    expect(laptop.get_by_role("heading", level=1)).to_have_text("Your account")

    laptop.get_by_label("Current password").fill("not it")
    laptop.get_by_label("New password").fill("a better secret")
    laptop.get_by_label("The same again").fill("a better secret")
    laptop.get_by_role("button", name="Change password").click()
    expect(laptop.get_by_role("alert")).to_have_text("That is not your current password.")
    phone.goto(f"{live_url}/portal")
    assert "/portal/login" not in phone.url  # a refused change ended nothing

    laptop.get_by_label("Current password").fill(tara.password)
    laptop.get_by_label("New password").fill("a better secret")
    laptop.get_by_label("The same again").fill("a better secret")
    laptop.get_by_role("button", name="Change password").click()

    expect(laptop.get_by_role("status")).to_have_text(
        "Your password was changed; you were signed out everywhere else."
    )
    phone.goto(f"{live_url}/portal")
    assert "/portal/login" in phone.url
    laptop.goto(f"{live_url}/portal")
    assert "/portal/login" not in laptop.url
    new = httpx.post(
        f"{live_url}/api/auth/token", data={"username": tara.email, "password": "a better secret"}
    )
    assert new.status_code == 200


def test_sign_out_everywhere_ends_every_browser(
    open_page: OpenPage, sign_in: SignIn, live_url: str, people: People
) -> None:
    laptop, phone = signed_in_twice(open_page, sign_in, people.mentee("Tara Mentee"))
    laptop.goto(f"{live_url}/portal/account")
    laptop.get_by_role("button", name="Sign out everywhere").click()
    expect(laptop.get_by_role("heading", name="Sign in")).to_be_visible()
    phone.goto(f"{live_url}/portal")
    assert "/portal/login" in phone.url


def test_a_participant_downloads_her_data_then_erases_it_once_nothing_is_under_way(
    page: Page, sign_in: SignIn, live_url: str, people: People, db: Engine, clock: Clock
) -> None:
    tara, mira = people.mentee("Tara Mentee"), people.mentor("Mira Mentor")
    journey = Journey(db, clock, tara, mira).request().accept()
    sign_in(page, tara)
    page.goto(f"{live_url}/portal/account")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download everything stored about you (JSON)").click()
    data = json.loads(download.value.path().read_text())
    assert data["account"]["email"] == tara.email
    assert [m["id"] for m in data["mentorships"]] == [journey.mentorship_id]

    page.get_by_label("Your password, to confirm").fill(tara.password)
    page.get_by_role("button", name="Erase my data").click()
    expect(page.get_by_role("alert")).to_contain_text("End your mentorships that are still under way first")

    end = httpx.post(
        f"{live_url}/api/mentorships/{journey.mentorship_id}/end",
        headers=tara.auth,
        json={"reason_code": "other", "reason": "moving"},
    )
    assert end.status_code == 200, end.text
    page.get_by_label("Your password, to confirm").fill(tara.password)
    page.get_by_role("button", name="Erase my data").click()

    expect(page.get_by_role("status")).to_have_text("Your data was erased. Goodbye, and thank you.")
    again = httpx.post(f"{live_url}/api/auth/token", data={"username": tara.email, "password": tara.password})
    assert again.status_code == 401
    mentorship = httpx.get(f"{live_url}/api/mentorships/{journey.mentorship_id}", headers=mira.auth).json()
    assert mentorship["mentee"]["display_name"] == "Erased participant"


def test_a_participant_chooses_german_and_her_time_zone_on_the_profile_page(
    open_page: Callable[..., Page], sign_in: SignIn, live_url: str, people: People, db: Engine, clock: Clock
) -> None:
    tara, mira = people.mentee("Tara Mentee"), people.mentor("Mira Mentor")
    journey = Journey(db, clock, tara, mira).request().accept()
    journey.hold_meeting()
    page = open_page("en-GB")  # an English browser
    page.goto(f"{live_url}/portal/profile")
    sign_in(page, tara)
    page.get_by_label("What you want to reach").fill("Lead a team of five")
    page.get_by_role("group", name="Topics you want to work on").get_by_label("Leadership").check()
    page.get_by_label("Language", exact=True).select_option("de")
    page.get_by_label("Time zone", exact=True).select_option("America/New_York")
    page.get_by_role("button", name="Save my profile").click()

    expect(page.get_by_role("status").first).to_have_text("Ihr Profil wurde gespeichert.")
    expect(page.get_by_label("Was Sie erreichen wollen")).to_have_value("Lead a team of five")
    page.goto(f"{live_url}/portal/mentorships/{journey.mentorship_id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Mentoring mit Mira Mentor")
    # the meeting at 10:00 Berlin time shows at 04:00 in New York
    expect(page.locator("article.meeting").first).to_contain_text("04:00")

    page.goto(f"{live_url}/portal/profile")
    expect(page.get_by_label("Sprache", exact=True)).to_have_value("de")  # her choice, shown
    page.get_by_label("Sprache", exact=True).select_option("en")
    page.get_by_label("Zeitzone", exact=True).select_option("Europe/Berlin")
    page.get_by_role("button", name="Mein Profil speichern").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My profile")  # English again
