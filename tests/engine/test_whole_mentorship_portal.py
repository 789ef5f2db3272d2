"""A whole mentorship through the portal, in real Chromium, with the real engine behind it.

The mentee and the mentor each sign in in a browser context of their own and do everything
on the portal's pages: the request from the directory, the answer, both meetings, the
agreement and the certificates. The stage moves (active, closing, completed) are the
engine's: the pages show them once the lifecycle run made them. The app's clock moves past
each meeting, so nobody waits for one. At the end, the operator's view: the Prefect flow
run ``mentorship-{id}`` completed, tagged with the stage it ended in.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import count
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect
from prefect import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.objects import StateType
from prefect.settings import get_current_settings
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from api.app import create_app
from models import Mentorship, Role
from models.settings import get_settings
from services.users import create_user
from tests.engine.conftest import RunnerControl
from tests.support import Clock, serve_app

pytestmark = [pytest.mark.engine, pytest.mark.browser, pytest.mark.xdist_group("engine")]

FOLLOWS_WITHIN = 30.0  # seconds for the engine to move a stage; it usually needs about two
PASSWORD = "correct horse battery"
_numbers = count(1)


@dataclass(frozen=True)
class Member:
    id: int
    email: str
    name: str
    zone: ZoneInfo  # the time zone the portal shows and reads their times in


def member(db: Engine, clock: Clock, role: Role, name: str, *topics: str) -> Member:
    n = next(_numbers)
    with Session(db, expire_on_commit=False) as s:
        user = create_user(
            s,
            email=f"portal-e2e-{role.value}-{n}@example.org",
            password=PASSWORD,
            display_name=name,
            roles=[role],
            now=clock.now,
        )
        user.profile.mentor_topics = list(topics)
        s.commit()
        return Member(user.id, user.email, name, ZoneInfo(user.timezone))


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def portal(runner: RunnerControl, app_db: Engine, clock: Clock) -> Iterator[str]:
    """The app in front of the engine (runner and task worker), told after each commit."""
    with serve_app(create_app(get_settings(), engine=app_db, clock=clock)) as url:
        yield url


def signed_in(browser: Browser, portal: str, who: Member) -> Page:
    """A browser context of its own (its own cookies), signed in as ``who``, on the overview."""
    context = browser.new_context(locale="en-GB")
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(f"{portal}/portal")
    page.locator("#email").fill(who.email)
    page.locator("#password").fill(PASSWORD)
    page.locator("form[action='/portal/login'] button[type=submit]").click()
    page.wait_for_url(lambda url: "/portal/login" not in url)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Hello, {who.name}")
    return page


def next_step(page: Page) -> str:
    return page.locator("p.next").inner_text()


def stage_badge(page: Page) -> str:
    return page.get_by_role("heading", level=1).locator(".badge").inner_text()


def wait_for_stage(page: Page, url: str, stage: str) -> float:
    """Reload ``url`` (a mentorship page) as a person would, until it shows ``stage``; returns
    the seconds it took."""
    began = time.monotonic()
    while True:
        page.goto(url)
        if stage_badge(page) == stage:
            return time.monotonic() - began
        if time.monotonic() - began > FOLLOWS_WITHIN:
            raise AssertionError(
                f"the page still shows {stage_badge(page)!r}, not {stage!r}, after {FOLLOWS_WITHIN:.0f} s"
            )
        time.sleep(0.25)


def local_input(moment: datetime, zone: ZoneInfo) -> str:
    """What a person types into a ``datetime-local`` field: wall time in their zone."""
    return moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M")


def shown_time(moment: datetime, zone: ZoneInfo) -> str:
    """How an en-GB page shows a time: ``4 Mar 2026, 14:00``."""
    local = moment.astimezone(zone)
    return f"{local.day} {local:%b %Y, %H:%M}"


def propose_meeting(
    page: Page, starts_at: datetime, zone: ZoneInfo, *, agenda: str, topic: str, final: bool = False
) -> None:
    form = page.locator("form[action$='/meetings']")
    if not form.is_visible():
        page.get_by_text("Propose a meeting", exact=True).click()
    page.get_by_label("Date and time").fill(local_input(starts_at, zone))
    page.get_by_label("Duration (minutes)").fill("45")
    page.get_by_label("How you meet").select_option("video")
    page.get_by_label("Place or link").fill("https://meet.example.org/lena-paul")
    page.get_by_label("Agenda").fill(agenda)
    page.get_by_label(topic, exact=True).check()
    if final:
        page.get_by_label("This is the final meeting of our mentorship").check()
    page.get_by_role("button", name="Propose meeting").click()
    expect(page.get_by_role("status")).to_have_text("Your meeting proposal was sent.")


def confirm_meeting(page: Page, url: str, when: str) -> None:
    page.goto(url)
    assert next_step(page) == f"Next step — You: confirm the meeting on {when}"
    page.get_by_role("button", name="Confirm meeting").click()
    expect(page.get_by_role("status")).to_have_text("You confirmed the meeting.")


def took_part(page: Page, url: str, when: str) -> None:
    page.goto(url)
    assert re.fullmatch(
        rf"Next step — (You|Both of you): confirm participation in the meeting on {re.escape(when)}",
        next_step(page),
    ), next_step(page)
    page.get_by_role("button", name="I took part").click()
    expect(page.get_by_role("status")).to_have_text("Thank you, your answer was saved.")


def download_certificate(page: Page, portal: str) -> bytes:
    """Open "My certificates" and the one certificate's PDF; returns the PDF's bytes."""
    page.goto(f"{portal}/portal")
    page.get_by_role("navigation").get_by_role("link", name="Certificates").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My certificates")
    expect(page.locator("tbody tr")).to_have_count(1)
    with page.expect_response(lambda r: r.url.endswith(".pdf")) as opened:
        page.get_by_role("link", name="Download PDF").click()
    assert opened.value.status == 200
    assert opened.value.headers["content-type"] == "application/pdf"
    # Chromium shows an inline PDF in its viewer (no download event, and the response body is
    # the viewer's page): the bytes come from the same address, with this context's cookie.
    pdf = page.request.get(opened.value.url)
    assert pdf.status == 200
    return pdf.body()


def test_a_whole_mentorship_in_the_portal(
    browser: Browser, portal: str, app_db: Engine, clock: Clock
) -> None:
    lena = member(app_db, clock, Role.MENTEE, "Lena Vogel")
    paul = member(app_db, clock, Role.MENTOR, "Paul Richter", "leadership")
    mentee, mentor = signed_in(browser, portal, lena), signed_in(browser, portal, paul)

    # The mentee finds the mentor in the directory and asks.
    mentee.get_by_role("navigation").get_by_role("link", name="Find a mentor").click()
    mentee.get_by_label("Topic").select_option(label="Leadership")
    mentee.get_by_role("button", name="Show mentors").click()
    card = mentee.get_by_role("region", name=paul.name)
    card.get_by_text(f"Ask {paul.name} to be your mentor").click()
    card.get_by_label(f"Your message to {paul.name}").fill("I would like to lead my first team.")
    card.get_by_role("button", name="Send request").click()
    expect(mentee.get_by_role("status")).to_have_text("Your request was sent.")
    assert stage_badge(mentee) == "Requested"
    page_of_it = mentee.url.split("?")[0]
    assert re.fullmatch(rf"{re.escape(portal)}/portal/mentorships/\d+", page_of_it), page_of_it
    mid = int(page_of_it.rsplit("/", 1)[1])

    # The mentor sees the request on the overview and accepts it.
    mentor.goto(f"{portal}/portal")
    row = mentor.get_by_role("row", name=lena.name)
    expect(row).to_contain_text("You: answer the request")
    row.get_by_role("link", name=lena.name).click()
    expect(mentor.get_by_text("I would like to lead my first team.")).to_be_visible()
    mentor.get_by_role("button", name="Accept request").click()
    expect(mentor.get_by_role("status")).to_have_text("You accepted the request.")
    assert stage_badge(mentor) == "Getting to know each other"

    # The get-to-know-you meeting: proposed, confirmed, held (the clock moves past it).
    mentee.goto(page_of_it)
    assert next_step(mentee) == "Next step — You: propose the get-to-know-you meeting"
    intro_at = (clock.now + timedelta(minutes=30)).replace(second=0)
    intro = shown_time(intro_at, lena.zone)
    propose_meeting(mentee, intro_at, lena.zone, agenda="Get to know each other; goals.", topic="Leadership")
    expect(mentee.locator("article.meeting")).to_contain_text(f"Get-to-know-you meeting · {intro}")
    confirm_meeting(mentor, page_of_it, shown_time(intro_at, paul.zone))
    clock.advance(minutes=31)
    took_part(mentee, page_of_it, intro)
    took_part(mentor, page_of_it, shown_time(intro_at, paul.zone))
    meeting_card = mentor.locator("article.meeting")
    expect(meeting_card).to_contain_text("Held")
    expect(meeting_card).to_contain_text(f"You: took part · {lena.name}: took part")
    assert next_step(mentor) == f"Next step — {lena.name}: write and submit the agreement"

    # The mentee writes and submits the agreement; the mentor approves it.
    mentee.goto(page_of_it)
    assert next_step(mentee) == "Next step — You: write and submit the agreement"
    mentee.get_by_role("link", name="Open the agreement").click()
    expect(mentee.get_by_role("heading", name="Write the agreement")).to_be_visible()
    today = clock.now.astimezone(lena.zone).date()
    mentee.get_by_label("Start of period").fill(today.isoformat())
    mentee.get_by_label("End of period").fill((today + timedelta(days=120)).isoformat())
    mentee.get_by_label("Planned meetings").fill("1")
    mentee.get_by_label("How often you are in touch").fill("monthly")
    mentee.get_by_label("Topic 1", exact=True).fill("Leadership")
    mentee.get_by_label("Notes on topic 1").fill("Lead my first team")
    mentee.get_by_role("button", name="Save and submit for approval").click()
    expect(mentee.get_by_role("status")).to_have_text("The agreement was submitted for approval.")
    expect(mentee.get_by_text(f"Waiting for {paul.name} to approve it.")).to_be_visible()

    mentor.goto(f"{portal}/portal")
    expect(mentor.get_by_role("row", name=lena.name)).to_contain_text("You: approve agreement v1")
    mentor.goto(f"{page_of_it}/agreement")
    expect(mentor.get_by_role("region", name="Agreement v1")).to_contain_text("Lead my first team")
    mentor.get_by_role("button", name="Approve agreement v1").click()
    expect(mentor.get_by_role("status")).to_have_text("You approved the agreement.")
    expect(mentor.get_by_role("region", name="Agreement in force")).to_contain_text("Lead my first team")

    # The engine makes it a mentorship; the mentee sees it on her page.
    activated_after = wait_for_stage(mentee, page_of_it, "Active")
    expect(mentee.get_by_text("Agreement v1 is in force.")).to_be_visible()
    expect(mentee.get_by_role("region", name="Activity")).to_contain_text("The mentorship is now: Active.")
    assert next_step(mentee) == "Next step — You: propose the next meeting"

    # The final meeting: proposed, confirmed, held.
    final_at = (clock.now + timedelta(minutes=30)).replace(second=0)
    final = shown_time(final_at, lena.zone)
    propose_meeting(
        mentee, final_at, lena.zone, agenda="Looking back; what next.", topic="Leadership", final=True
    )
    expect(mentee.get_by_role("article", name=f"Final meeting {final}")).to_contain_text("Proposed")
    confirm_meeting(mentor, page_of_it, shown_time(final_at, paul.zone))
    clock.advance(minutes=31)
    took_part(mentor, page_of_it, shown_time(final_at, paul.zone))
    took_part(mentee, page_of_it, final)

    # The engine closes it: both certificates, then completed.
    completed_after = wait_for_stage(mentor, page_of_it, "Completed")
    expect(mentor.locator("p.next")).to_have_count(0)
    expect(mentor.get_by_role("region", name="Activity")).to_contain_text(
        "A certificate of participation was issued."
    )
    print(f"\nactive {activated_after:.1f} s after the approval, completed {completed_after:.1f} s after")  # noqa: T201
    mentee.goto(f"{portal}/portal")
    row = mentee.get_by_role("row", name=paul.name)
    expect(row.locator(".badge")).to_have_text("Completed")
    row.get_by_role("link", name=paul.name).click()
    assert stage_badge(mentee) == "Completed"
    held = mentee.locator("dl.facts dt", has_text="Meetings held").locator("xpath=following-sibling::dd[1]")
    expect(held).to_have_text("2")

    # Each downloads their certificate.
    for page in (mentee, mentor):
        pdf = download_certificate(page, portal)
        assert pdf.startswith(b"%PDF-"), pdf[:20]
        assert pdf.rstrip().endswith(b"%%EOF")

    # The operator's view: the lifecycle run finished, and says in which stage.
    with Session(app_db) as s:
        run_id = s.get_one(Mentorship, mid).flow_run_id
    assert run_id is not None
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(UUID(run_id))
        task_runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id])))
    assert run.name == f"mentorship-{mid}"
    assert run.state is not None
    assert run.state.type == StateType.COMPLETED, run.state
    assert "stage:completed" in run.tags, run.tags
    names = [t.name for t in task_runs]
    for prefix in ("activate-", "begin-closing-", "complete-", "issue-certificate-to-user-"):
        assert any(name.startswith(prefix) for name in names), (prefix, sorted(names))

    # An operator finds the pair in the list, its run one click away in the Prefect UI.
    olga = member(app_db, clock, Role.OPERATOR, "Olga Operator")
    context = browser.new_context(locale="en-GB")
    operator = context.new_page()
    operator.goto(f"{portal}/portal/program/mentorships?stage=completed")
    operator.locator("#email").fill(olga.email)
    operator.locator("#password").fill(PASSWORD)
    operator.locator("form[action='/portal/login'] button[type=submit]").click()
    row = operator.get_by_role("row", name=f"{lena.name} → {paul.name}")
    expect(
        row.get_by_role("link", name=f"Flow run of {lena.name} and {paul.name} in Prefect")
    ).to_have_attribute("href", f"{get_current_settings().ui_url}/runs/flow-run/{run_id}")
    context.close()
