"""The participants' portal in German on a 390 px phone, as a German walk found it: the
browser's language kept at sign-in (so mails follow), a compact header, the survey and
notifications pages, the reader's own acts in the second person, a draft saved twice shown
once, and a finished mentorship's agreement in the past tense. Nothing wider than the screen
(``check``: axe's serious findings and the page's width)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from models import User
from models.settings import Settings
from services import agreements, mentorships
from services.consequences import apply
from services.feedback_links import feedback_path
from services.handling import take_next_event
from services.lifecycle import Fact
from tests.portal.test_accessibility import PHONE, check
from tests.support import Clock, Journey, People, Person

pytestmark = pytest.mark.browser
SignIn = Callable[[Page, Person], None]
LONG_ADDRESS = "malte.mentor-mit-langem-namen@werkstatt-gruendung.example.org"

#: The header's rows: its links and button grouped by where their boxes are (8 px apart or less
#: is one row).
HEADER_ROWS = """() => {
  const tops = [...document.querySelectorAll('header.bar a, header.bar button')]
    .map(e => Math.round(e.getBoundingClientRect().top + e.getBoundingClientRect().height / 2))
    .sort((a, b) => a - b);
  return tops.filter((t, i) => i === 0 || t - tops[i - 1] > 8).length;
}"""

#: The lines an element's text is laid out in (characters grouped by their box's top).
TEXT_LINES = """(element) => {
  const lines = [];
  let top = null;
  const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (let i = 0; i < node.length; i++) {
      const range = document.createRange();
      range.setStart(node, i); range.setEnd(node, i + 1);
      const box = range.getBoundingClientRect();
      if (top === null || Math.abs(box.top - top) > 4) { lines.push(''); top = box.top; }
      lines[lines.length - 1] += node.data[i];
    }
  }
  return lines;
}"""


@pytest.fixture
def german_phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="de-DE", viewport=PHONE)
    context.set_default_timeout(5000)
    yield context.new_page()
    context.close()


def settle(db: Engine, settings: Settings, clock: Clock, mentorship_id: int) -> None:
    """What the task workers do with new events: notifications for the other side."""
    with Session(db) as s:
        while (event := take_next_event(s, mentorship_id)) is not None:
            apply(s, event, secret_key=settings.secret_key, now=clock.now)
        s.commit()


def locale_of(db: Engine, person: Person) -> str:
    with Session(db) as s:
        return s.get_one(User, person.id).locale


def test_a_german_phone_keeps_german_at_sign_in_and_reads_survey_and_notifications(
    german_phone: Page,
    sign_in: SignIn,
    live_url: str,
    people: People,
    db: Engine,
    clock: Clock,
    settings: Settings,
) -> None:
    page = german_phone
    jonas, malte = people.mentee("Jonas Mentee"), people.mentor("Malte Mentor")
    journey = Journey(db, clock, jonas, malte).request().accept()
    journey.hold_meeting()  # the get-to-know-you meeting: the fit question is asked
    settle(db, settings, clock, journey.mentorship_id)
    survey = feedback_path(
        settings.secret_key,
        target="fit",
        target_id=journey.mentorship_id,
        user_id=jonas.id,
        requested_at=clock.now,
    )
    assert check(page, live_url + survey) == []  # the survey page behind the mail's link
    expect(page.get_by_role("heading", level=1)).to_have_text("Möchten Sie gemeinsam weitermachen?")
    assert locale_of(db, jonas) == ""  # never chosen

    sign_in(page, jonas)

    assert locale_of(db, jonas) == "de"  # the browser's, kept: mails and certificates follow
    assert page.evaluate(HEADER_ROWS) <= 2
    assert check(page, f"{live_url}/portal/notifications") == []
    expect(
        page.get_by_role("listitem").filter(has_text="Malte Mentor hat Ihre Anfrage angenommen.")
    ).to_be_visible()
    assert check(page, f"{live_url}/portal/profile") == []
    expect(page.get_by_label("Sprache", exact=True)).to_have_value("de")  # what is stored, shown
    expect(page.get_by_role("option", name="Deutsch")).to_have_count(1)

    page.goto(f"{live_url}/portal/mentorships/{journey.mentorship_id}")
    fit = page.get_by_role("region", name="Möchten Sie gemeinsam weitermachen?")
    fit.get_by_label("Noch nicht sicher").check()
    fit.get_by_role("button", name="Antwort senden").click()
    expect(page.get_by_role("status")).to_have_text(
        "Danke, Ihre Antwort wurde gespeichert. Nur Sie können sie sehen."
    )
    activity = page.get_by_role("region", name="Verlauf")
    expect(activity).to_contain_text("Sie haben eine Befragung beantwortet.")
    expect(activity).not_to_contain_text("Jonas Mentee hat")  # the reader's own acts: "Sie"
    expect(activity).to_contain_text("Malte Mentor hat die Anfrage angenommen.")  # the other's by name


def test_a_german_phone_shows_a_draft_once_and_a_finished_agreement_in_the_past(
    german_phone: Page, sign_in: SignIn, live_url: str, people: People, db: Engine, clock: Clock
) -> None:
    page = german_phone
    jonas, malte = people.mentee("Jonas Mentee"), people.mentor("Malte Mentor")
    journey = Journey(db, clock, jonas, malte).request().accept()
    journey.hold_meeting()
    with Session(db) as s:
        s.get_one(User, malte.id).email = LONG_ADDRESS  # a long one, to see where it breaks
        s.commit()
    sign_in(page, jonas)
    m = journey.mentorship_id

    assert check(page, f"{live_url}/portal/mentorships/{m}/agreement") == []
    page.locator("#contact_frequency").fill("alle drei Wochen")
    page.get_by_role("button", name="Entwurf speichern").click()
    expect(page.get_by_role("status")).to_have_text("Ihr Entwurf wurde gespeichert.")
    page.get_by_role("button", name="Speichern und zur Bestätigung einreichen").click()
    expect(page.get_by_role("status")).to_have_text("Die Vereinbarung wurde zur Bestätigung eingereicht.")

    assert check(page, f"{live_url}/portal/mentorships/{m}") == []
    activity = page.get_by_role("region", name="Verlauf")
    expect(activity.get_by_text("Sie haben einen Entwurf von Vereinbarung v1 gespeichert.")).to_have_count(1)
    expect(activity.get_by_text("Sie haben Vereinbarung v1 eingereicht.")).to_have_count(1)
    expect(page.get_by_text("Vereinbarung v1 wartet auf Bestätigung.")).to_be_visible()
    address = page.get_by_role("link", name=LONG_ADDRESS)
    lines = address.evaluate(TEXT_LINES)
    assert "".join(lines) == LONG_ADDRESS
    assert all(line[0] in "@." for line in lines[1:]), lines  # broken before "@" or ".", not mid-word

    # Malte approves, and later Jonas ends the mentorship: the agreement applied, in the past.
    with Session(db) as s:
        agreements.decide(s, s.get_one(User, malte.id), m, number=1, approve=True, now=clock.now)
        s.commit()
    page.goto(f"{live_url}/portal/mentorships/{m}")
    expect(page.get_by_text("Vereinbarung v1 gilt.")).to_be_visible()
    with Session(db) as s:
        mentorships.decide(s, s.get_one(User, jonas.id), m, Fact.END, reason_code="no_time", now=clock.now)
        s.commit()

    assert check(page, f"{live_url}/portal/mentorships/{m}") == []
    agreement = page.get_by_role("region", name="Vereinbarung", exact=True)
    expect(agreement).to_contain_text("Vereinbarung v1 galt bis zum Ende des Mentorings.")
    expect(agreement).not_to_contain_text("gilt")
    assert check(page, f"{live_url}/portal/mentorships/{m}/agreement") == []
    expect(page.get_by_role("heading", name="Zuletzt geltende Vereinbarung")).to_be_visible()
    assert page.evaluate(HEADER_ROWS) <= 2
