"""The notifications page (linked from the header with the count of new ones), accepting with
words for the mentee, the agreement history saying what changed from version to version, and
the progress (meetings held of planned, the period elapsed) on the home and mentorship pages."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from models import User
from models.settings import Settings
from services import agreements
from services.agreements import AgreementTerms
from services.consequences import apply
from services.handling import take_next_event
from tests.support import TERMS, Clock, Journey, People, Person

pytestmark = pytest.mark.browser
SignIn = Callable[[Page, Person], None]


def settle(db: Engine, settings: Settings, clock: Clock, mentorship_id: int) -> None:
    """What the task workers do with new events: notifications (and mail) for the other side."""
    with Session(db) as s:
        while (event := take_next_event(s, mentorship_id)) is not None:
            apply(s, event, secret_key=settings.secret_key, now=clock.now)
        s.commit()


def amend(db: Engine, clock: Clock, journey: Journey, **changes: object) -> None:
    """The mentee submits v2 with ``changes`` against v1."""
    with Session(db) as s:
        mentee = s.get_one(User, journey.mentee_id)
        terms = AgreementTerms(**{**TERMS, **changes})
        agreements.save_draft(s, mentee, journey.mentorship_id, terms, now=clock.now)
        agreements.submit(s, mentee, journey.mentorship_id, now=clock.now)
        s.commit()


def test_notifications_page_acceptance_words_and_what_changed_in_the_agreement(
    page: Page, sign_in: SignIn, live_url: str, people: People, db: Engine, clock: Clock, settings: Settings
) -> None:
    mira = people.mentor("Mira Mentor")
    tara = Journey(db, clock, people.mentee("Tara Mentee"), mira).request()
    settle(db, settings, clock, tara.mentorship_id)  # Mira is told of Tara's request
    uma = Journey(db, clock, people.mentee("Uma Mentee"), mira).request().accept().agree()
    amend(db, clock, uma, planned_meetings=5, content_plan=[{"topic": "networking", "notes": "events"}])
    sign_in(page, mira)

    header = page.get_by_role("navigation", name="Portal")
    header.get_by_role("link", name="Notifications 1 new").click()
    expect(page).to_have_url(f"{live_url}/portal/notifications")
    news = page.get_by_role("listitem").filter(has_text="Tara Mentee asks you to be their mentor.")
    expect(news).to_contain_text("New")
    expect(news.locator("blockquote")).to_have_text("Hello")  # her words
    expect(page.get_by_role("button", name="Mark all as read")).to_be_visible()

    news.get_by_role("link").click()  # marks it read and leads to the request
    expect(page).to_have_url(f"{live_url}/portal/mentorships/{tara.mentorship_id}")
    expect(header.get_by_role("link", name="Notifications", exact=True)).to_be_visible()
    page.get_by_label("A message for Tara Mentee (optional)").fill("Gladly! Bring your CV.")
    page.get_by_role("button", name="Accept request").click()
    expect(page.get_by_role("status")).to_have_text("You accepted the request.")
    expect(page.locator("#acceptance-message")).to_have_text("Gladly! Bring your CV.")

    page.goto(f"{live_url}/portal/mentorships/{uma.mentorship_id}/agreement")
    pending = page.locator("section[aria-labelledby=pending]")
    expect(pending).to_contain_text("What changed from v1:")
    expect(pending.get_by_role("listitem").filter(has_text="Planned meetings")).to_have_text(
        "Planned meetings: 3 → 5"
    )
    expect(page.get_by_role("heading", name="Propose an amendment")).to_have_count(0)  # answer v2 first
    history = page.get_by_role("region", name="History")
    v2 = history.locator("#v2")
    expect(v2.get_by_role("listitem")).to_have_text(
        ["Planned meetings: 3 → 5", "Topic added: Networking — events", "Topic removed: Leadership"]
    )
    expect(history.locator("#v1")).to_contain_text("The first version.")

    # progress: agreed meetings held of planned, and the week of the agreed period (from today)
    page.goto(f"{live_url}/portal")
    row = page.get_by_role("row").filter(has_text="Uma Mentee")
    expect(row).to_contain_text("0 of 3 agreed meetings held")
    expect(row.get_by_role("progressbar", name="Week 1 of 26")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="Tara Mentee")).not_to_contain_text("agreed meetings")
    row.get_by_role("link", name="Uma Mentee").click()
    expect(page.locator("#period")).to_have_text("Week 1 of 26 (day 1 of 181)")
