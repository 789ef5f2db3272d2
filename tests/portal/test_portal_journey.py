"""A pair walks through the portal in real Chromium, from the request to the approved agreement.

Each step is asserted as each person sees it on their pages, and in the stored state. The app's
clock (``clock``) moves past the meeting; the engine is not running here (``woken`` records
which mentorship the portal told it about), so stages that the flow moves stay as they are.
The walk is split in two tests at the meeting (the second starts from a confirmed meeting
made through the services), to keep each test short.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from models import AgreementVersion, Meeting, Mentorship, User
from services import meetings
from services.meetings import MeetingPlan
from tests.support import Clock, Journey, People, Person

pytestmark = pytest.mark.browser
Row = TypeVar("Row")
SignIn = Callable[[Page, Person], None]


def stored(db: Engine, model: type[Row], **where: object) -> list[Row]:
    with Session(db) as s:
        return list(s.scalars(select(model).filter_by(**where)).unique())


def with_topics(db: Engine, person: Person, *topics: str) -> None:
    with Session(db) as s:
        s.get_one(User, person.id).profile.mentor_topics = list(topics)
        s.commit()


def next_step(page: Page) -> str:
    return page.locator("p.next").inner_text()


def test_a_mentee_finds_a_mentor_who_accepts_and_confirms_the_first_meeting(
    page: Page,
    open_page: Callable[..., Page],
    sign_in: SignIn,
    live_url: str,
    people: People,
    clock: Clock,
    db: Engine,
    woken: list[int],
) -> None:
    tara, mira, otto = people.mentee("Tara Mentee"), people.mentor("Mira Mentor"), people.mentor("Otto Other")
    with_topics(db, mira, "leadership")
    with_topics(db, otto, "networking")
    mentee, mentor = page, open_page()

    # The mentee signs in, finds a mentor by topic and sends a request.
    mentee.goto(f"{live_url}/portal")
    sign_in(mentee, tara)
    expect(mentee.get_by_role("heading", level=1)).to_have_text("Hello, Tara Mentee")
    expect(mentee.get_by_text("You have no mentorships yet.")).to_be_visible()
    mentee.get_by_role("navigation").get_by_role("link", name="Find a mentor").click()
    mentee.get_by_label("Topic").select_option(label="Leadership")
    mentee.get_by_role("button", name="Show mentors").click()
    expect(mentee.get_by_role("heading", name="Mira Mentor")).to_be_visible()
    expect(mentee.get_by_role("heading", name="Otto Other")).to_have_count(0)
    expect(mentee.get_by_text("2 free places")).to_be_visible()
    mentee.get_by_text("Ask Mira Mentor to be your mentor").click()
    mentee.get_by_label("Your message to Mira Mentor").fill("I would like to grow into a team lead role.")
    mentee.get_by_role("button", name="Send request").click()
    expect(mentee.get_by_role("status")).to_have_text("Your request was sent.")
    expect(mentee.get_by_role("heading", level=1)).to_contain_text("Mentorship with Mira Mentor")
    expect(mentee.get_by_role("heading", level=1)).to_contain_text("Requested")
    assert next_step(mentee) == "Next step — Mira Mentor: answer the request"
    (m,) = stored(db, Mentorship)
    assert (m.mentee_id, m.mentor_id, m.stage) == (tara.id, mira.id, "requested")
    assert m.request_message == "I would like to grow into a team lead role."
    assert woken == [m.id]

    # The mentor sees it waiting on the dashboard and accepts.
    mentor.goto(f"{live_url}/portal")
    sign_in(mentor, mira)
    row = mentor.get_by_role("row", name="Tara Mentee")
    expect(row).to_contain_text("You: answer the request")
    expect(row).to_contain_text("You are the mentor")
    row.get_by_role("link", name="Tara Mentee").click()
    expect(mentor.get_by_text("I would like to grow into a team lead role.")).to_be_visible()
    expect(mentor.get_by_role("button", name="Withdraw request")).to_have_count(0)
    mentor.get_by_role("button", name="Accept request").click()
    expect(mentor.get_by_role("status")).to_have_text("You accepted the request.")
    expect(mentor.get_by_role("heading", level=1)).to_contain_text("Getting to know each other")
    assert next_step(mentor) == "Next step — Tara Mentee: propose the get-to-know-you meeting"
    assert stored(db, Mentorship)[0].stage == "intro"

    # The mentee proposes the get-to-know-you meeting, in her time zone (Europe/Berlin).
    mentee.reload()
    assert next_step(mentee) == "Next step — You: propose the get-to-know-you meeting"
    expect(mentee.get_by_text("Your time zone: Central European Standard Time")).to_be_visible()
    mentee.get_by_label("Date and time").fill("2026-03-04T14:00")
    mentee.get_by_label("Duration (minutes)").fill("45")
    mentee.get_by_label("How you meet").select_option("video")
    mentee.get_by_label("Place or link").fill("https://meet.example.org/tara-mira")
    mentee.get_by_label("Agenda").fill("Get to know each other; goals.")
    mentee.get_by_label("Leadership", exact=True).check()  # not a question that names leadership
    mentee.get_by_role("button", name="Propose meeting").click()
    expect(mentee.get_by_role("status")).to_have_text("Your meeting proposal was sent.")
    card = mentee.locator("article.meeting")
    expect(card).to_contain_text("Get-to-know-you meeting · 4 Mar 2026, 14:00")
    expect(card).to_contain_text("Proposed")
    expect(card).to_contain_text("45 min · Video call · https://meet.example.org/tara-mira")
    (meeting,) = stored(db, Meeting)
    assert meeting.starts_at.astimezone(UTC) == datetime(2026, 3, 4, 13, 0, tzinfo=UTC)
    assert (meeting.is_intro, meeting.duration_minutes, meeting.mode, meeting.topics) == (
        True,
        45,
        "video",
        ["leadership"],
    )

    # The mentor confirms it and can add it to a calendar.
    mentor.reload()
    assert next_step(mentor) == "Next step — You: confirm the meeting on 4 Mar 2026, 14:00"
    mentor.get_by_role("button", name="Confirm meeting").click()
    expect(mentor.get_by_role("status")).to_have_text("You confirmed the meeting.")
    expect(mentor.locator("article.meeting")).to_contain_text("Confirmed")
    invite = mentor.request.get(f"{live_url}/portal/meetings/{meeting.id}/calendar.ics")
    assert invite.status == 200
    assert invite.headers["content-type"].startswith("text/calendar")
    assert "DTSTART;TZID=Europe/Berlin:20260304T140000" in invite.text()  # in the reader's zone
    assert stored(db, Meeting)[0].status == "confirmed"
    assert woken == [m.id] * 4  # request, accept, propose, confirm


def confirmed_intro_meeting(db: Engine, clock: Clock, journey: Journey) -> int:
    """Tomorrow 14:00 Berlin time (13:00 UTC), proposed by the mentee, confirmed by the mentor."""
    plan = MeetingPlan(starts_at=datetime(2026, 3, 3, 13, 0, tzinfo=UTC), duration_minutes=60, mode="video")
    with Session(db) as s:
        mentee, mentor = s.get_one(User, journey.mentee_id), s.get_one(User, journey.mentor_id)
        meeting = meetings.propose(s, mentee, journey.mentorship_id, plan, now=clock.now)
        meetings.confirm(s, mentor, meeting.id, now=clock.now)
        s.commit()
        return meeting.id


def test_after_the_meeting_both_confirm_it_and_agree_on_the_agreement(
    page: Page,
    open_page: Callable[..., Page],
    sign_in: SignIn,
    live_url: str,
    people: People,
    clock: Clock,
    db: Engine,
    woken: list[int],
) -> None:
    tara, mira = people.mentee("Tara Mentee"), people.mentor("Mira Mentor")
    journey = Journey(db, clock, tara, mira).request().accept()
    meeting_id, mid = confirmed_intro_meeting(db, clock, journey), journey.mentorship_id
    mentee, mentor = page, open_page()
    mentee.goto(f"{live_url}/portal")
    sign_in(mentee, tara)
    expect(mentee.get_by_role("row", name="Mira Mentor")).to_contain_text(
        "Both of you: meet on 3 Mar 2026, 14:00"
    )

    # The meeting takes place; the session cookies (12 h) have expired meanwhile.
    clock.advance(days=1, hours=5)
    mentee.goto(f"{live_url}/portal/meetings/{meeting_id}")
    assert "/portal/login?next=%2Fportal%2Fmeetings%2F" in mentee.url
    sign_in(mentee, tara)
    assert mentee.url == f"{live_url}/portal/meetings/{meeting_id}"
    mentee.get_by_role("button", name="I took part").click()
    expect(mentee.get_by_role("status")).to_have_text("Thank you, your answer was saved.")
    expect(mentee.get_by_text("You: took part · Mira Mentor: not answered yet")).to_be_visible()

    mentor.goto(f"{live_url}/portal/mentorships/{mid}")
    sign_in(mentor, mira)
    assert next_step(mentor) == "Next step — You: confirm participation in the meeting on 3 Mar 2026, 14:00"
    mentor.get_by_role("button", name="I took part").click()
    expect(mentor.get_by_role("status")).to_have_text("Thank you, your answer was saved.")
    expect(mentor.locator("article.meeting")).to_contain_text("Held")
    expect(mentor.locator("article.meeting")).to_contain_text("You: took part · Tara Mentee: took part")
    assert next_step(mentor) == "Next step — Tara Mentee: write and submit the agreement"
    assert stored(db, Meeting)[0].status == "held"

    # The mentee drafts and submits the agreement.
    mentee.goto(f"{live_url}/portal/mentorships/{mid}")
    mentee.get_by_role("link", name="Open the agreement").click()
    expect(mentee.get_by_role("heading", name="Write the agreement")).to_be_visible()
    mentee.get_by_label("Start of period").fill("2026-03-09")
    mentee.get_by_label("End of period").fill("2026-08-31")
    mentee.get_by_label("Planned meetings").fill("4")
    mentee.get_by_label("Phone").check()
    mentee.get_by_label("How often you are in touch").fill("every two weeks")
    mentee.get_by_label("Topic 1", exact=True).fill("Leadership")
    mentee.get_by_label("Notes on topic 1").fill("Lead my first team")
    mentee.get_by_role("button", name="Save and submit for approval").click()
    expect(mentee.get_by_role("status")).to_have_text("The agreement was submitted for approval.")
    expect(mentee.get_by_text("Waiting for Mira Mentor to approve it.")).to_be_visible()
    expect(mentee.get_by_role("heading", name="Write the agreement")).to_have_count(0)
    (version,) = stored(db, AgreementVersion)
    assert (version.number, version.status, version.author_id) == (1, "pending", tara.id)
    assert version.contact_modes == ["video", "phone"]
    assert version.content_plan == [{"topic": "Leadership", "notes": "Lead my first team"}]
    assert str(version.period_start) == "2026-03-09"

    # The mentor approves it.
    mentor.goto(f"{live_url}/portal")
    expect(mentor.get_by_role("row", name="Tara Mentee")).to_contain_text("You: approve agreement v1")
    mentor.goto(f"{live_url}/portal/mentorships/{mid}/agreement")
    pending = mentor.locator("section[aria-labelledby=pending]")  # the history has its terms too
    expect(pending.get_by_text("Every two weeks", exact=False)).to_be_visible()
    mentor.get_by_role("button", name="Approve agreement v1").click()
    expect(mentor.get_by_role("status")).to_have_text("You approved the agreement.")
    expect(mentor.get_by_role("region", name="Agreement in force")).to_contain_text("Lead my first team")
    assert stored(db, AgreementVersion)[0].status == "approved"

    mentee.goto(f"{live_url}/portal/mentorships/{mid}")
    expect(mentee.get_by_text("Agreement v1 is in force.")).to_be_visible()
    activity = mentee.get_by_role("region", name="Activity")
    expect(activity).to_contain_text("Mira Mentor approved agreement v1.")
    expect(activity).to_contain_text("You confirmed taking part in a meeting.")  # her own, to her
    assert woken == [mid] * 4  # 2 × attendance, save and submit, approve
