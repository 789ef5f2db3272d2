"""Moving a meeting in the portal, walked by both sides in two browsers: the mentee moves a
confirmed meeting, the mentor (in German, on a phone) sees the new time waiting for them and
confirms it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from models import Meeting, User
from services import meetings
from services.meetings import MeetingPlan
from tests.support import Clock, Journey, People, Person

pytestmark = pytest.mark.browser
SignIn = Callable[[Page, Person], None]


def test_the_mentee_moves_a_meeting_and_the_mentor_confirms_the_new_time(
    open_page: Callable[..., Page], sign_in: SignIn, live_url: str, people: People, db: Engine, clock: Clock
) -> None:
    tara, mira = people.mentee("Tara Mentee"), people.mentor("Mira Mentor")
    journey = Journey(db, clock, tara, mira).request().accept()
    plan = MeetingPlan(starts_at=clock.now + timedelta(days=3), duration_minutes=60, mode="phone")
    with Session(db) as s:
        meeting = meetings.propose(s, s.get_one(User, tara.id), journey.mentorship_id, plan, now=clock.now)
        meetings.confirm(s, s.get_one(User, mira.id), meeting.id, now=clock.now)
        s.commit()
        meeting_id, zone = meeting.id, ZoneInfo(s.get_one(User, tara.id).timezone)
    new_start = (clock.now + timedelta(days=4)).astimezone(zone).replace(hour=15, minute=30)
    url = f"{live_url}/portal/meetings/{meeting_id}"

    mentee = open_page()
    sign_in(mentee, tara)
    mentee.goto(url)
    mentee.get_by_text("Move this meeting").click()
    expect(mentee.get_by_text("Mira Mentor is told and confirms the new time again.")).to_be_visible()
    mentee.get_by_label("Date and time").fill(new_start.strftime("%Y-%m-%dT%H:%M"))
    mentee.get_by_label("How you meet").select_option("in_person")
    mentee.get_by_label("Place or link").fill("Café Mitte")
    mentee.get_by_role("button", name="Move meeting").click()
    expect(mentee.get_by_role("status")).to_have_text("You moved the meeting.")
    expect(mentee.get_by_role("heading", level=1)).to_contain_text("Proposed")
    expect(mentee.get_by_text("Café Mitte")).to_be_visible()

    mentor = open_page("de-DE")  # Mira reads German, on a phone
    mentor.set_viewport_size({"width": 390, "height": 844})
    sign_in(mentor, mira)
    mentor.goto(url)
    expect(mentor.locator("dl.facts")).to_contain_text("15:30")
    mentor.get_by_text("Dieses Treffen verschieben").click()
    expect(mentor.get_by_text("Die neue Zeit und der neue Ort gelten als bestätigt")).to_be_visible()
    assert mentor.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0
    mentor.get_by_role("button", name="Treffen bestätigen").click()
    expect(mentor.get_by_role("status")).to_have_text("Sie haben das Treffen bestätigt.")
    expect(mentor.get_by_role("heading", level=1)).to_contain_text("Bestätigt")

    with Session(db) as s:
        moved = s.get_one(Meeting, meeting_id)
        assert (moved.status, moved.mode, moved.location) == ("confirmed", "in_person", "Café Mitte")
        assert moved.starts_at == new_start
    # once it has started, nobody is offered to move it
    clock.advance(days=5)
    mentee.goto(url)
    expect(mentee.get_by_role("heading", level=1)).to_be_visible()
    expect(mentee.get_by_text("Move this meeting")).to_have_count(0)
