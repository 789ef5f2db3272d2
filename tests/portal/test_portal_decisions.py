"""Saying no and calling things off through the portal: declining a request, a meeting and an
agreement (each with a reason), cancelling a meeting, rating one, ending early, withdrawing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from models import AgreementVersion, Feedback, Meeting, Mentorship, User
from services import agreements, meetings
from services.agreements import AgreementTerms
from services.meetings import MeetingPlan
from tests.support import TERMS, Clock, Journey, People, Person

pytestmark = pytest.mark.browser
SignIn = Callable[[Page, Person], None]


def propose(db: Engine, clock: Clock, journey: Journey, *, days: int, confirm: bool = False) -> int:
    plan = MeetingPlan(starts_at=clock.now + timedelta(days=days), duration_minutes=60, mode="phone")
    with Session(db) as s:
        meeting = meetings.propose(
            s, s.get_one(User, journey.mentee_id), journey.mentorship_id, plan, now=clock.now
        )
        if confirm:
            meetings.confirm(s, s.get_one(User, journey.mentor_id), meeting.id, now=clock.now)
        s.commit()
        return meeting.id


def submit_agreement(db: Engine, clock: Clock, journey: Journey) -> None:
    with Session(db) as s:
        mentee = s.get_one(User, journey.mentee_id)
        agreements.save_draft(s, mentee, journey.mentorship_id, AgreementTerms(**TERMS), now=clock.now)
        agreements.submit(s, mentee, journey.mentorship_id, now=clock.now)
        s.commit()


def test_the_mentor_declines_a_request_a_meeting_and_an_agreement_with_reasons(
    page: Page, sign_in: SignIn, live_url: str, people: People, db: Engine, clock: Clock, woken: list[int]
) -> None:
    mira = people.mentor("Mira Mentor")
    tara = Journey(db, clock, people.mentee("Tara Mentee"), mira).request()
    uma = Journey(db, clock, people.mentee("Uma Mentee"), mira).request().accept()
    meeting_id = propose(db, clock, uma, days=3)
    submit_agreement(db, clock, uma)
    sign_in(page, mira)

    page.get_by_role("link", name="Tara Mentee").click()
    page.get_by_label("Reason for declining (optional)").fill("My topics do not fit yours.")
    page.get_by_role("button", name="Decline request").click()
    expect(page.get_by_role("status")).to_have_text("You declined the request.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Declined")
    expect(page.get_by_text("My topics do not fit yours.")).to_be_visible()

    page.goto(f"{live_url}/portal/mentorships/{uma.mentorship_id}")
    page.locator("article.meeting").get_by_label("Reason for declining (optional)").fill(
        "Travelling that week"
    )
    page.get_by_role("button", name="Decline meeting").click()
    expect(page.get_by_role("status")).to_have_text("You declined the meeting.")
    expect(page.locator("article.meeting")).to_contain_text("Declined")
    expect(page.locator("article.meeting")).to_contain_text("Reason: Travelling that week")

    page.get_by_role("link", name="Open the agreement").click()
    page.get_by_text("Ask for changes").click()
    page.get_by_label("What should change?").fill("Please add networking.")
    page.get_by_role("button", name="Reject agreement v1").click()
    expect(page.get_by_role("status")).to_have_text("You asked for changes to the agreement.")
    history = page.get_by_role("region", name="History")
    expect(history.locator("#v1")).to_contain_text("Rejected")
    expect(history.locator("#v1 blockquote")).to_have_text("Please add networking.")

    with Session(db) as s:
        declined = s.get_one(Mentorship, tara.mentorship_id)
        assert (declined.stage, declined.closing_reason) == ("declined", "My topics do not fit yours.")
        meeting = s.get_one(Meeting, meeting_id)
        assert (meeting.status, meeting.reason) == ("declined", "Travelling that week")
        version = s.scalars(select(AgreementVersion)).one()
        assert (version.status, version.rejection_reason) == ("rejected", "Please add networking.")
    assert woken == [tara.mentorship_id, uma.mentorship_id, uma.mentorship_id]


def test_the_mentee_rates_cancels_ends_and_withdraws(
    page: Page, sign_in: SignIn, live_url: str, people: People, db: Engine, clock: Clock
) -> None:
    tara, mira = people.mentee("Tara Mentee"), people.mentor("Mira Mentor")
    journey = Journey(db, clock, tara, mira).request().accept()
    held = journey.hold_meeting()
    upcoming = propose(db, clock, journey, days=2, confirm=True)
    asked = Journey(db, clock, tara, people.mentor("Otto Other")).request()
    page.goto(f"{live_url}/portal/meetings/{held}")
    sign_in(page, tara)

    page.get_by_label("4").check()
    page.get_by_label("Comment (optional)").fill("Clear next steps.")
    page.get_by_role("button", name="Send feedback").click()
    expect(page.get_by_role("status")).to_have_text("Thank you, your feedback was saved.")
    expect(page.get_by_text("★★★★☆ — Clear next steps.")).to_be_visible()

    page.goto(f"{live_url}/portal/mentorships/{journey.mentorship_id}")
    card = page.get_by_role("article", name="Meeting", exact=False).filter(has_text="Confirmed")
    card.get_by_text("Cancel this meeting").click()
    card.get_by_label("Reason for cancelling (optional)").fill("Sick")
    card.get_by_role("button", name="Cancel meeting").click()
    expect(page.get_by_role("status")).to_have_text("You cancelled the meeting.")

    page.get_by_text("End the mentorship early").click()
    page.get_by_label("Why does it end?").select_option(label="No time")
    page.get_by_label("In your words (optional)").fill("I changed jobs.")
    page.get_by_role("button", name="End mentorship").click()
    expect(page.get_by_role("status")).to_have_text("You ended the mentorship.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Ended early")
    expect(page.locator("dl.facts")).to_contain_text("Why it endedNo time")
    expect(page.get_by_text("Propose a meeting")).to_have_count(0)

    page.goto(f"{live_url}/portal/mentorships/{asked.mentorship_id}")
    page.get_by_role("button", name="Withdraw request").click()
    expect(page.get_by_role("status")).to_have_text("You withdrew your request.")

    with Session(db) as s:
        assert s.scalars(select(Feedback.rating)).all() == [4]
        assert s.get_one(Meeting, upcoming).status == "cancelled"
        ended = s.get_one(Mentorship, journey.mentorship_id)
        assert (ended.stage, ended.closing_reason) == ("ended", "I changed jobs.")
        assert s.get_one(Mentorship, asked.mentorship_id).stage == "withdrawn"
