"""Answering the fit question on the mentorship page, after the get-to-know-you meeting: the
answer is saved once, and the other side's page shows that it was given, never what."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from models import SurveyAnswer
from tests.support import Clock, Journey, People, Person

pytestmark = pytest.mark.browser
SignIn = Callable[[Page, Person], None]


def test_a_participant_answers_the_fit_question_and_only_they_see_it(
    open_page: Callable[..., Page], sign_in: SignIn, live_url: str, people: People, db: Engine, clock: Clock
) -> None:
    mia, max_ = people.mentee("Mia Mentee"), people.mentor("Max Mentor")
    journey = Journey(db, clock, mia, max_).request().accept()
    journey.hold_meeting()  # the get-to-know-you meeting
    page = open_page()
    sign_in(page, mia)

    page.goto(f"{live_url}/portal/mentorships/{journey.mentorship_id}")
    survey = page.get_by_role("region", name="Do you want to continue together?")
    survey.get_by_label("Not sure yet").check()
    survey.get_by_label("Comment (optional)").fill("Let us see after one more talk.")
    survey.get_by_role("button", name="Send answer").click()

    expect(page.get_by_role("status")).to_have_text("Thank you, your answer was saved. Only you can see it.")
    expect(page.get_by_role("region", name="Do you want to continue together?")).to_have_count(0)
    with Session(db) as s:
        answers = s.scalars(select(SurveyAnswer).where(SurveyAnswer.mentorship_id == journey.mentorship_id))
        assert [(a.author_id, a.fit, a.comment) for a in answers] == [
            (mia.id, "not_sure", "Let us see after one more talk.")
        ]

    theirs = open_page()
    sign_in(theirs, max_)
    theirs.goto(f"{live_url}/portal/mentorships/{journey.mentorship_id}")
    expect(theirs.get_by_text("Mia Mentee answered a survey.")).to_be_visible()
    expect(theirs.get_by_role("region", name="Do you want to continue together?")).to_be_visible()
    assert "one more talk" not in theirs.content()
