"""The proposal form offers the catalogue's questions, those of the pair's topics first; a
picked question lands in the meeting's agenda."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from models import Meeting, User
from tests.support import Clock, Journey, People, Person

pytestmark = pytest.mark.browser
SignIn = Callable[[Page, Person], None]
QUESTION = "How do I write a cover letter that does not just repeat my CV?"


def test_a_picked_question_lands_in_the_meetings_agenda(
    page: Page,
    sign_in: Callable[[Page, Person], None],
    live_url: str,
    people: People,
    db: Engine,
    clock: Clock,
) -> None:
    tara = people.mentee("Tara Mentee")
    with Session(db) as s:
        s.get_one(User, tara.id).profile.mentee_topics = ["job-applications"]
        s.commit()
    mid = Journey(db, clock, tara, people.mentor("Mira Mentor")).request().accept().mentorship_id
    page.goto(f"{live_url}/portal/mentorships/{mid}")
    sign_in(page, tara)

    topic = page.locator(".checks > span", has=page.get_by_label("Job applications", exact=True))
    expect(topic).to_contain_text("fits you")
    page.get_by_text("Suggested questions for the agenda").click()
    expect(page.locator("#suggested-questions fieldset legend").first).to_have_text("Job applications")
    page.get_by_label(QUESTION).check()
    page.get_by_label("Agenda").fill("Getting to know each other")
    page.get_by_role("button", name="Propose meeting").click()
    expect(page.get_by_role("status")).to_contain_text("Your meeting proposal was sent.")

    with Session(db) as s:
        meeting = s.scalars(select(Meeting).where(Meeting.mentorship_id == mid)).one()
        assert meeting.agenda == f"Getting to know each other\n- {QUESTION}"
        assert meeting.topics == ["job-applications"]
    page.goto(f"{live_url}/portal/meetings/{meeting.id}")
    expect(page.locator("dd", has_text=QUESTION)).to_contain_text("Getting to know each other")
    expect(page.locator("dd .badge")).to_have_text("Job applications")
