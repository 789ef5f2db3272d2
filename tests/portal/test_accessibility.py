"""Every main page of the portal, participants' and operators', checked with axe-core (WCAG 2.1
A and AA rules): no serious or critical finding. Readable on a 390 px wide phone (nothing
wider than the screen), and the main way in usable by keyboard alone."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, ViewportSize, expect
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from models import Meeting
from models.settings import Settings
from services.feedback_links import Target, feedback_path
from tests.support import Clock, Journey, People, Person

pytestmark = pytest.mark.browser
SignIn = Callable[[Page, Person], None]
AXE = Axe()
WCAG_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
PHONE: ViewportSize = {"width": 390, "height": 844}


@dataclass
class Program:
    mentee: Person
    mentor: Person
    operator: Person
    mentorship_id: int
    meeting_id: int


@pytest.fixture
def program(people: People, db: Engine, clock: Clock) -> Program:
    """A mentorship under way (a meeting held, an agreement in force, a meeting to come), a
    request left waiting, and an operator."""
    tara, mira, olga = people.mentee("Tara Mentee"), people.mentor("Mira Mentor"), people.operator()
    journey = Journey(db, clock, tara, mira).request().accept()
    journey.hold_meeting()
    journey.agree().activate()
    Journey(db, clock, people.mentee("Jörg Größe"), people.mentor("Ben Busy")).request()
    with Session(db) as s:
        meeting_id = s.scalars(select(Meeting.id).where(Meeting.mentorship_id == journey.mentorship_id)).one()
    return Program(tara, mira, olga, journey.mentorship_id, meeting_id)


@pytest.fixture
def phone_page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="en-GB", viewport=PHONE)
    context.set_default_timeout(5000)
    yield context.new_page()
    context.close()


def serious_findings(page: Page) -> list[str]:
    response: dict[str, Any] = AXE.run(page, options=WCAG_AA).response
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def check(page: Page, url: str) -> list[str]:
    """What is wrong on ``url``, for a person and on a phone: axe's serious findings, and any
    element wider than the screen."""
    answer = page.goto(url)
    assert answer is not None
    assert answer.status == 200, url
    problems = serious_findings(page)
    too_wide = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    if too_wide > 0:
        problems.append(f"{too_wide} px wider than the screen")
    return [f"{url}: {p}" for p in problems]


def test_every_participants_page_passes_axe_on_a_phone(
    phone_page: Page, sign_in: SignIn, live_url: str, program: Program, settings: Settings, clock: Clock
) -> None:
    phone_page.goto(f"{live_url}/portal/login")
    found = [
        *check(phone_page, f"{live_url}/portal/login"),
        *check(phone_page, f"{live_url}/portal/password/forgot"),
    ]
    links: list[tuple[Target, int]] = [("meeting", program.meeting_id), ("fit", program.mentorship_id)]
    for target, target_id in links:
        signed = feedback_path(
            settings.secret_key,
            target=target,
            target_id=target_id,
            user_id=program.mentee.id,
            requested_at=clock.now,
        )
        found += check(phone_page, live_url + signed)  # the pages behind mail links: no sign-in
    sign_in(phone_page, program.mentee)
    m = program.mentorship_id
    for path in (
        "/portal",
        "/portal/mentors",
        f"/portal/mentorships/{m}",
        f"/portal/mentorships/{m}/agreement",
        f"/portal/meetings/{program.meeting_id}",
        "/portal/certificates",
        "/portal/account",
        "/portal/profile",
        "/portal/notifications",
    ):
        found += check(phone_page, f"{live_url}{path}")
    assert found == [], "\n".join(found)


def test_every_operators_page_passes_axe_on_a_phone(
    phone_page: Page, sign_in: SignIn, live_url: str, program: Program
) -> None:
    phone_page.goto(f"{live_url}/portal/login")
    sign_in(phone_page, program.operator)
    found: list[str] = []
    for path in (
        "/portal/program",
        "/portal/program/mentorships",
        "/portal/program/mentorships?stage=requested&waiting=mentor",
        "/portal/program/people",
        f"/portal/program/people/{program.mentee.id}",
        "/portal/program/audit",
        "/portal/program/settings",
        f"/portal/mentorships/{program.mentorship_id}",
    ):
        found += check(phone_page, f"{live_url}{path}")
    assert found == [], "\n".join(found)


def test_an_operator_signs_in_and_finds_the_stuck_pairs_by_keyboard_alone(
    open_page: Callable[..., Page], live_url: str, program: Program, clock: Clock
) -> None:
    clock.advance(days=4)  # the waiting request is late now
    page = open_page()
    page.goto(f"{live_url}/portal/login")
    expect(page.locator("#email")).to_be_focused()  # the page starts there
    page.keyboard.type(program.operator.email)
    page.keyboard.press("Tab")
    page.keyboard.type(program.operator.password)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_url}/portal/program")

    page.locator("body").focus()
    for _ in range(30):  # Tab through the page to the first stuck pair's link
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.closest('#stuck tbody') !== null"):
            break
    focused = page.evaluate("document.activeElement.textContent")
    assert focused == "Jörg Größe → Ben Busy"
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Mentorship of Jörg Größe and Ben Busy")
