"""The mentor directory comes in pages of twenty: a program's thousand mentors on one page took
most of a second to build and no one could read it. The topic filter keeps its pages."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from models import User
from tests.support import People, Person

pytestmark = pytest.mark.browser


def test_a_mentee_pages_through_the_mentors_and_filters_them_by_topic(
    page: Page, sign_in: Callable[[Page, Person], None], live_url: str, people: People, db: Engine
) -> None:
    tara = people.mentee("Tara Mentee")
    mentors = [people.mentor(f"Mentor {n:02d}") for n in range(1, 24)]
    with Session(db) as s:
        for mentor in mentors[-2:]:
            s.get_one(User, mentor.id).profile.mentor_topics = ["job-applications"]
        s.commit()
    cards = page.locator("main section.card")

    page.goto(f"{live_url}/portal/mentors")
    sign_in(page, tara)
    expect(page.get_by_text("23 mentors · page 1 of 2")).to_be_visible()
    expect(cards).to_have_count(20)
    expect(cards.first.get_by_role("heading")).to_have_text("Mentor 01")
    expect(page.get_by_role("link", name="Previous page")).to_have_count(0)

    page.get_by_role("link", name="Next page").click()
    expect(page.get_by_text("23 mentors · page 2 of 2")).to_be_visible()
    expect(cards.get_by_role("heading")).to_have_text(["Mentor 21", "Mentor 22", "Mentor 23"])
    expect(page.get_by_role("link", name="Next page")).to_have_count(0)
    page.get_by_text("Ask Mentor 23 to be your mentor").click()
    page.get_by_label("Your message to Mentor 23").fill("Hello from page two")
    page.get_by_role("button", name="Send request").click()
    expect(page.get_by_role("heading", name="Mentorship with Mentor 23")).to_be_visible()

    page.goto(f"{live_url}/portal/mentors")
    page.get_by_label("Topic").select_option(label="Job applications")
    page.get_by_role("button", name="Show mentors").click()
    expect(page.get_by_text("2 mentors", exact=True)).to_be_visible()
    expect(cards.get_by_role("heading")).to_have_text(["Mentor 22", "Mentor 23"])
    expect(page.get_by_role("navigation", name="Pages").get_by_role("link")).to_have_count(0)
