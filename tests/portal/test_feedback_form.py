"""The feedback form behind the link in a feedback-request mail, in real Chromium: it looks like
the portal (the program's name in the header), speaks its reader's language and links back."""

from __future__ import annotations

from datetime import datetime

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from models import Event, Feedback, User
from models.settings import Settings
from services import program
from services.feedback_links import feedback_path
from tests.support import Clock, Journey, People

pytestmark = pytest.mark.browser


@pytest.fixture
def held(db: Engine, clock: Clock, people: People) -> tuple[Journey, int]:
    journey = Journey(db, clock, people.mentee("Tara Mentee"), people.mentor("Mira Mentor"))
    meeting_id = journey.request().accept().hold_meeting()
    return journey, meeting_id


def link(settings: Settings, live_url: str, meeting_id: int, user_id: int, requested_at: datetime) -> str:
    return live_url + feedback_path(
        settings.secret_key,
        target="meeting",
        target_id=meeting_id,
        user_id=user_id,
        requested_at=requested_at,
    )


def test_a_participant_rates_a_meeting_from_the_mail_link(
    page: Page, live_url: str, settings: Settings, held: tuple[Journey, int], db: Engine, woken: list[int]
) -> None:
    journey, meeting_id = held
    page.goto(link(settings, live_url, meeting_id, journey.mentee_id, journey.clock.now))
    expect(page.get_by_role("heading")).to_have_text("Your feedback")
    expect(page.get_by_text("How was your meeting on 3 Mar 2026, 10:00?")).to_be_visible()  # her zone
    expect(page.get_by_text("Tara Mentee & Mira Mentor")).to_be_visible()
    expect(page.get_by_role("navigation", name="Portal").get_by_role("link")).to_have_text("mentorflow")
    page.get_by_label("4").check()
    page.get_by_label("Comment (optional)").fill("Very helpful, thank you!")
    page.get_by_role("button", name="Send feedback").click()
    expect(page.get_by_role("status")).to_contain_text("Thank you, Tara Mentee!")
    expect(page.get_by_role("link", name="Open your mentorship")).to_have_attribute(
        "href", f"/portal/mentorships/{journey.mentorship_id}"
    )

    with Session(db) as s:
        saved = s.scalars(select(Feedback)).all()
        assert [(f.author_id, f.meeting_id, f.rating, f.comment) for f in saved] == [
            (journey.mentee_id, meeting_id, 4, "Very helpful, thank you!")
        ]
        assert s.scalar(select(Event.type).order_by(Event.id.desc()).limit(1)) == "feedback.given"
    assert woken == [journey.mentorship_id]

    # the same link again: the rules refuse a second answer, and say so
    page.goto(link(settings, live_url, meeting_id, journey.mentee_id, journey.clock.now))
    page.get_by_label("5").check()
    page.get_by_role("button", name="Send feedback").click()
    expect(page.get_by_role("alert")).to_contain_text("You already gave feedback on this meeting.")
    with Session(db) as s:
        assert len(s.scalars(select(Feedback)).all()) == 1


def test_a_german_reader_gets_the_page_in_german_under_the_programs_name(
    page: Page, live_url: str, settings: Settings, held: tuple[Journey, int], db: Engine, people: People
) -> None:
    journey, meeting_id = held
    with Session(db) as s:
        operator = s.get_one(User, people.operator().id)
        program.change(s, operator, name="Mentoring Nord", contact_email="", now=journey.clock.now)
        s.get_one(User, journey.mentor_id).locale = "de"  # her profile says German; the browser, English
        s.commit()

    page.goto(link(settings, live_url, meeting_id, journey.mentor_id, journey.clock.now))

    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.get_by_role("navigation", name="Portal").get_by_role("link")).to_have_text("Mentoring Nord")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ihr Feedback")
    expect(page.get_by_text("Wie war Ihr Treffen am 03.03.2026, 10:00?")).to_be_visible()
    expect(page.get_by_role("link", name="Zum Mentoring")).to_have_attribute(
        "href", f"/portal/mentorships/{journey.mentorship_id}"
    )


def test_a_tampered_link_is_refused(
    page: Page, live_url: str, settings: Settings, held: tuple[Journey, int], db: Engine
) -> None:
    journey, meeting_id = held
    forged = link(settings, live_url, meeting_id, journey.mentee_id, journey.clock.now).replace(
        f"token={journey.mentee_id}.", f"token={journey.mentor_id}."
    )
    response = page.goto(forged)
    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("alert")).to_contain_text("This feedback link is not valid")
    with Session(db) as s:
        assert s.scalars(select(Feedback)).all() == []


def test_a_participant_rates_the_mentorship_from_an_inactivity_mail(
    page: Page, live_url: str, settings: Settings, held: tuple[Journey, int], db: Engine
) -> None:
    journey, _meeting_id = held
    path = feedback_path(
        settings.secret_key,
        target="mentorship",
        target_id=journey.mentorship_id,
        user_id=journey.mentor_id,
        requested_at=journey.clock.now,
    )
    page.goto(live_url + path)
    expect(page.get_by_text("How is your mentorship going?")).to_be_visible()
    page.get_by_label("5").check()
    page.get_by_role("button", name="Send feedback").click()
    expect(page.get_by_role("status")).to_contain_text("Thank you, Mira Mentor!")
    with Session(db) as s:
        saved = s.scalars(select(Feedback)).all()
        assert [(f.author_id, f.meeting_id, f.rating) for f in saved] == [(journey.mentor_id, None, 5)]
    # a link signed for the mentorship does not open a meeting's form
    response = page.goto(live_url + path.replace(f"/mentorships/{journey.mentorship_id}/", "/meetings/1/"))
    assert response is not None
    assert response.status == 404


def test_a_link_works_for_thirty_days_then_sends_you_to_the_portal(
    page: Page, live_url: str, settings: Settings, held: tuple[Journey, int], db: Engine
) -> None:
    journey, meeting_id = held
    url = link(settings, live_url, meeting_id, journey.mentee_id, journey.clock.now)
    journey.clock.advance(days=30, seconds=-1)  # the default lifetime
    page.goto(url)
    expect(page.get_by_role("button", name="Send feedback")).to_be_visible()

    journey.clock.advance(seconds=1)
    response = page.goto(url)

    assert response is not None
    assert response.status == 410
    expect(page.get_by_role("alert")).to_have_text("This feedback link has expired.")
    expect(
        page.get_by_role("link", name="Sign in to the portal to give your feedback there.")
    ).to_be_visible()
    answer = page.request.post(url.split("?")[0], form={"token": url.split("token=")[1], "rating": "5"})
    assert answer.status == 410
    with Session(db) as s:
        assert s.scalars(select(Feedback)).all() == []
