"""What the portal pages show: refusals of the rules (and that they change nothing), German
pages for a German browser, notifications and achievements, certificates."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from models import AgreementVersion, Meeting, Mentorship, Notification, User
from models.settings import Settings
from services import certificates, meetings, mentorships
from services.consequences import apply
from services.handling import take_next_event
from services.lifecycle import Fact
from services.meetings import MeetingPlan
from tests.support import Clock, Journey, People, Person

pytestmark = pytest.mark.browser
SignIn = Callable[[Page, Person], None]


def count(db: Engine, model: type) -> int:
    with Session(db) as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def posted(page: Page, click: Callable[[], None]) -> int:
    """Click a form's button; the status of the POST's answer."""
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        click()
    return answer.value.status


def mentee_on_an_accepted_mentorship(
    page: Page, sign_in: SignIn, live_url: str, people: People, db: Engine, clock: Clock
) -> int:
    """Tara's request was accepted; she is signed in on the mentorship's page. Its id."""
    tara = people.mentee("Tara Mentee")
    mid = Journey(db, clock, tara, people.mentor("Mira Mentor")).request().accept().mentorship_id
    page.goto(f"{live_url}/portal/mentorships/{mid}")
    sign_in(page, tara)
    return mid


def test_a_refused_action_shows_the_reason_and_changes_nothing(
    page: Page, sign_in: SignIn, live_url: str, people: People, db: Engine, clock: Clock, woken: list[int]
) -> None:
    mid = mentee_on_an_accepted_mentorship(page, sign_in, live_url, people, db, clock)

    # a meeting in the past: the rules refuse it; the form keeps what was typed
    page.get_by_label("Date and time").fill("2026-03-01T10:00")
    page.get_by_label("Agenda").fill("Goals for the year")
    assert posted(page, page.get_by_role("button", name="Propose meeting").click) == 409
    expect(page.get_by_role("alert")).to_have_text("A meeting must start in the future.")
    expect(page.get_by_label("Agenda")).to_have_value("Goals for the year")
    expect(page.get_by_label("Date and time")).to_have_value("2026-03-01T10:00")
    assert count(db, Meeting) == 0

    # the first meeting is the get-to-know-you meeting: the form says so and offers no
    # "final" (the rules refuse a final meeting before an approved agreement: the API's tests)
    expect(page.get_by_text("Propose the get-to-know-you meeting", exact=True)).to_be_visible()
    expect(page.get_by_text("Your first meeting is for getting to know each other")).to_be_visible()
    expect(page.get_by_label("This is the final meeting of our mentorship")).to_have_count(0)

    # input that does not fit the form: the fields are named
    page.goto(f"{live_url}/portal/mentorships/{mid}/agreement")
    page.get_by_label("Start of period").fill("2026-06-01")
    page.get_by_label("End of period").fill("2026-03-01")
    page.get_by_label("How often you are in touch").fill("monthly")
    assert posted(page, page.get_by_role("button", name="Save draft").click) == 422
    expect(page.get_by_role("alert")).to_have_text("The end of the period must not be before its start.")
    expect(page.get_by_label("How often you are in touch")).to_have_value("monthly")
    assert count(db, AgreementVersion) == 0
    assert woken == []


def test_a_stale_page_gets_the_rules_answer(
    page: Page, sign_in: SignIn, live_url: str, people: People, db: Engine, clock: Clock, woken: list[int]
) -> None:
    tara, mira = people.mentee("Tara Mentee"), people.mentor("Mira Mentor")
    mid = Journey(db, clock, tara, mira).request().mentorship_id
    page.goto(f"{live_url}/portal/mentorships/{mid}")
    sign_in(page, mira)
    expect(page.get_by_role("button", name="Accept request")).to_be_visible()

    with Session(db) as s:  # meanwhile, the mentee takes the request back
        mentorships.decide(s, s.get_one(User, tara.id), mid, Fact.WITHDRAW, now=clock.now)
        s.commit()

    assert posted(page, page.get_by_role("button", name="Accept request").click) == 409
    expect(page.get_by_role("alert")).to_have_text(
        "You cannot accept the request while the mentorship is withdrawn."
    )
    expect(page.get_by_role("heading", level=1)).to_contain_text("Withdrawn")
    expect(page.get_by_role("button", name="Accept request")).to_have_count(0)
    with Session(db) as s:
        assert s.scalar(select(Mentorship.stage)) == "withdrawn"
    assert woken == []


def test_a_form_posted_twice_states_the_fact_once(
    page: Page, sign_in: SignIn, live_url: str, people: People, db: Engine, clock: Clock, woken: list[int]
) -> None:
    """A double click, or a browser sending the form again: the same form, posted twice at once."""
    mid = mentee_on_an_accepted_mentorship(page, sign_in, live_url, people, db, clock)
    page.get_by_label("Date and time").fill("2026-03-20T10:00")
    page.get_by_label("Agenda").fill("Goals for the year")

    answers = page.evaluate(
        """async () => {
            const form = document.querySelector('form[action$="/meetings"]');
            const post = () => fetch(form.action, {method: "POST", body: new FormData(form)});
            const answers = await Promise.all([post(), post()]);
            return answers.map((a) => [a.status, new URL(a.url).pathname]);
        }"""
    )

    assert answers == [[200, f"/portal/mentorships/{mid}"]] * 2  # both land on the mentorship
    assert count(db, Meeting) == 1
    assert woken == [mid]  # the engine is told about one fact
    page.reload()
    expect(page.get_by_text("Cancel this meeting")).to_have_count(1)  # one upcoming meeting


def test_a_german_browser_gets_german_pages_and_times(
    open_page: Callable[..., Page], sign_in: SignIn, live_url: str, people: People, db: Engine, clock: Clock
) -> None:
    tara = people.mentee("Tara Mentee")
    journey = Journey(db, clock, tara, people.mentor("Mira Mentor")).request().accept()
    plan = MeetingPlan(starts_at=datetime(2026, 3, 4, 13, 0, tzinfo=UTC), duration_minutes=60, mode="video")
    with Session(db) as s:
        meetings.propose(s, s.get_one(User, tara.id), journey.mentorship_id, plan, now=clock.now)
        s.commit()
    page = open_page(locale="de-DE")

    page.goto(f"{live_url}/portal")
    expect(page.get_by_role("heading", name="Anmelden")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "de")
    sign_in(page, tara)
    expect(page.get_by_role("heading", level=1)).to_have_text("Hallo, Tara Mentee")
    expect(page.get_by_role("row", name="Mira Mentor")).to_contain_text(
        "Mira Mentor: das Treffen am 04.03.2026, 14:00 bestätigen"
    )
    page.get_by_role("link", name="Mira Mentor").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Mentoring mit Mira Mentor")
    expect(page.locator("article.meeting")).to_contain_text("Kennenlerntreffen · 04.03.2026, 14:00")
    expect(page.locator("article.meeting")).to_contain_text("Vorgeschlagen")

    page.get_by_text("Ein Treffen vorschlagen").click()
    expect(page.get_by_text("Ihre Zeitzone: Mitteleuropäische Normalzeit")).to_be_visible()
    page.get_by_label("Datum und Uhrzeit").fill("2026-03-01T10:00")
    page.get_by_role("button", name="Treffen vorschlagen").click()
    expect(page.get_by_role("alert")).to_have_text("Ein Treffen muss in der Zukunft beginnen.")


def settle(db: Engine, settings: Settings, clock: Clock, mentorship_id: int) -> None:
    """What the lifecycle flow does with new events: notifications and achievements."""
    with Session(db) as s:
        while (event := take_next_event(s, mentorship_id)) is not None:
            apply(s, event, secret_key=settings.secret_key, now=clock.now)
        s.commit()


def test_notifications_can_be_marked_read_and_achievements_show(
    page: Page,
    sign_in: SignIn,
    live_url: str,
    people: People,
    db: Engine,
    clock: Clock,
    settings: Settings,
) -> None:
    tara = people.mentee("Tara Mentee")
    mid = Journey(db, clock, tara, people.mentor("Mira Mentor")).request().accept().mentorship_id
    settle(db, settings, clock, mid)
    sign_in(page, tara)

    news = page.get_by_role("region", name="Notifications")
    expect(news.get_by_role("listitem")).to_have_count(1)
    expect(news).to_contain_text("New Mira Mentor accepted your request.")
    with Session(db) as s:
        notice_id = s.scalars(select(Notification.id).filter_by(user_id=tara.id)).one()
    expect(news.get_by_role("link", name="Mira Mentor accepted your request.")).to_have_attribute(
        "href",
        f"/portal/notifications/{notice_id}",  # marks it read on the way to the mentorship
    )
    expect(page.get_by_role("region", name="My achievements")).to_contain_text("Sent a mentorship request")

    news.get_by_role("button", name="Mark as read").click()
    expect(page.get_by_role("status")).to_have_text("Marked as read.")
    expect(news.get_by_text("New", exact=True)).to_have_count(0)
    expect(news.get_by_role("button", name="Mark as read")).to_have_count(0)
    with Session(db) as s:
        read = s.execute(select(Notification.kind, Notification.read_at).filter_by(user_id=tara.id)).one()
        assert read.kind == "request_accepted"
        assert read.read_at is not None


def test_a_notification_clears_when_its_link_is_followed_or_its_mentorship_acted_on(
    page: Page, sign_in: SignIn, live_url: str, people: People, db: Engine, clock: Clock, settings: Settings
) -> None:
    tara, mira = people.mentee("Tara Mentee"), people.mentor("Mira Mentor")
    mid = Journey(db, clock, tara, mira).request().mentorship_id
    settle(db, settings, clock, mid)
    page.goto(f"{live_url}/portal")
    sign_in(page, mira)
    news = page.get_by_role("region", name="Notifications")
    expect(news.get_by_text("New", exact=True)).to_have_count(1)

    news.get_by_role("link").first.click()  # "Tara Mentee asks you to be her mentor" or the like
    expect(page).to_have_url(f"{live_url}/portal/mentorships/{mid}")
    page.goto(f"{live_url}/portal")
    expect(news.get_by_text("New", exact=True)).to_have_count(0)

    with Session(db) as s:  # a second notice about the same pair, unread
        s.add(
            Notification(
                user_id=mira.id,
                mentorship_id=mid,
                kind="reminder_request",
                params={},
                dedupe_key="x",
                created_at=clock.now,
            )
        )
        s.commit()
    page.reload()
    expect(news.get_by_text("New", exact=True)).to_have_count(1)
    page.goto(f"{live_url}/portal/mentorships/{mid}")
    page.get_by_role("button", name="Accept request").click()  # acting on the pair
    page.goto(f"{live_url}/portal")
    expect(news.get_by_text("New", exact=True)).to_have_count(0)

    with Session(db) as s:  # two more, about nothing to act on: "mark all as read"
        for key in ("y", "z"):
            s.add(
                Notification(
                    user_id=mira.id, kind="reminder_request", params={}, dedupe_key=key, created_at=clock.now
                )
            )
        s.commit()
    page.reload()
    news.get_by_role("button", name="Mark all as read").click()
    expect(page.get_by_role("status")).to_have_text("Every notification is marked as read.")
    expect(news.get_by_text("New", exact=True)).to_have_count(0)


def test_certificates_download_and_verify(
    page: Page, sign_in: SignIn, live_url: str, people: People, db: Engine, clock: Clock
) -> None:
    tara, mira = people.mentee("Tara Mentee"), people.mentor("Mira Mentor")
    journey = Journey(db, clock, tara, mira).request().accept()
    journey.hold_meeting()
    pdf = b"%PDF-1.4\n% a stand-in for the rendered certificate\n"
    with Session(db) as s:
        facts = certificates.certificate_facts(s, journey.mentorship_id, tara.id)
        cert = certificates.store_certificate(
            s,
            mentorship_id=journey.mentorship_id,
            user_id=tara.id,
            role="mentee",
            verification_code="Code-for-Tara-1",
            pdf=pdf,
            facts=facts,
            now=clock.now,
        )
        s.commit()
        cert_id = cert.id
    sign_in(page, tara)

    page.get_by_role("navigation").get_by_role("link", name="Certificates").click()
    row = page.get_by_role("row", name="Code-for-Tara-1")
    expect(row).to_contain_text("Mentee")
    download = page.request.get(
        live_url + (row.get_by_role("link", name="Download PDF").get_attribute("href") or "")
    )
    assert download.status == 200
    assert download.headers["content-type"] == "application/pdf"
    assert download.body() == pdf

    row.get_by_role("link", name="Verification page").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Certificate verification")
    expect(page.get_by_text("Tara Mentee")).to_be_visible()

    page.goto(f"{live_url}/portal")
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, mira)  # someone else's certificate is not found
    assert page.request.get(f"{live_url}/portal/certificates/{cert_id}.pdf").status == 404
