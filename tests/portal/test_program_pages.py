"""The operators' area: an operator signs in and, without documentation, finds which pairs are
stuck, on whom and since when, lists and filters every mentorship, opens one (read-only, each
participant by name) and takes the figures to a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine

from tests.support import Clock, Journey, People, Person

pytestmark = pytest.mark.browser
SignIn = Callable[[Page, Person], None]


def test_an_operator_finds_who_holds_a_pair_up_and_opens_it_read_only(
    open_page: Callable[..., Page], sign_in: SignIn, live_url: str, people: People, db: Engine, clock: Clock
) -> None:
    olga = people.operator()
    tara, mira = people.mentee("Tara Mentee"), people.mentor("Mira Mentor")
    waiting = Journey(db, clock, people.mentee("Jörg Größe"), people.mentor("Ben Busy")).request()
    working = Journey(db, clock, tara, mira).request().accept()
    working.hold_meeting()  # both took part: the mentee writes the agreement next
    clock.advance(days=4)
    Journey(db, clock, people.mentee("Fresh Face"), people.mentor("New Mentor")).request()

    page = open_page()
    page.goto(f"{live_url}/portal")
    sign_in(page, olga)

    expect(page).to_have_url(f"{live_url}/portal/program")  # an operator's start page
    stuck = page.locator("#stuck tbody tr")
    expect(stuck).to_have_count(2)
    expect(stuck.nth(0)).to_contain_text("Jörg Größe → Ben Busy")  # the longest wait first
    expect(stuck.nth(0)).to_contain_text("Ben Busy")
    expect(stuck.nth(0)).to_contain_text("answer the request")
    expect(stuck.nth(0)).to_contain_text("2 Mar 2026")  # since the request
    expect(stuck.nth(1)).to_contain_text("Tara Mentee")
    expect(stuck.nth(1)).to_contain_text("write and submit the agreement")
    expect(page.get_by_role("row", name="Requested 2")).to_be_visible()

    stuck.nth(1).get_by_role("link", name="Tara Mentee → Mira Mentor").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Mentorship of Tara Mentee and Mira Mentor")
    expect(page.get_by_label("Next step")).to_contain_text("Tara Mentee: write and submit the agreement")
    meeting = page.locator("article.meeting").first
    expect(meeting).to_contain_text("Tara Mentee: took part · Mira Mentor: took part")
    expect(page.get_by_text("You", exact=True)).to_have_count(0)
    expect(page.get_by_role("button")).to_have_count(1)  # "Sign out": operators watch, they do not act
    assert waiting.mentorship_id


def test_the_list_searches_filters_pages_and_exports_what_it_shows(
    open_page: Callable[..., Page],
    sign_in: SignIn,
    live_url: str,
    people: People,
    db: Engine,
    clock: Clock,
    tmp_path: Path,
) -> None:
    olga = people.operator()
    mentors = [people.mentor(f"Mentor {n}", capacity=30) for n in range(2)]
    for n in range(52):
        Journey(db, clock, people.mentee(f"Mentee {n:02d}"), mentors[n % 2]).request()
    umlaut = Journey(db, clock, people.mentee("Jörg Größe"), mentors[0]).request().accept()

    page = open_page()
    page.goto(f"{live_url}/portal/program/mentorships")
    sign_in(page, olga)

    expect(page.get_by_role("status")).to_contain_text("53 mentorships · page 1 of 2")
    expect(page.locator("tbody tr")).to_have_count(50)
    expect(page.locator("tbody tr").first).to_contain_text("Jörg Größe")  # the newest first
    page.get_by_role("link", name="Next page").click()
    expect(page.locator("tbody tr")).to_have_count(3)
    expect(page.get_by_role("status")).to_contain_text("page 2 of 2")

    page.get_by_label("Name or e-mail").fill("größe")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator("tbody tr")).to_contain_text("Jörg Größe: propose the get-to-know-you meeting")

    page.get_by_label("Name or e-mail").fill("")
    page.get_by_label("Stage").select_option("requested")
    page.get_by_label("Waiting for").select_option("mentor")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("status")).to_contain_text("52 mentorships")
    page.get_by_label("Only overdue").check()
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_text("No mentorship matches.")).to_be_visible()

    page.get_by_label("Only overdue").uncheck()
    page.get_by_label("Stage").select_option("intro")
    page.get_by_label("Waiting for").select_option("")
    page.get_by_role("button", name="Show").click()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download as CSV").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name.startswith("mentorships-")
    assert saved.suffix == ".csv"
    rows = list(csv.DictReader(io.StringIO(saved.read_bytes().decode("utf-8-sig"))))
    assert [(r["id"], r["mentee"], r["stage"]) for r in rows] == [
        (str(umlaut.mentorship_id), "Jörg Größe", "intro")
    ]


def test_participants_have_no_way_into_the_operators_area(
    open_page: Callable[..., Page], sign_in: SignIn, live_url: str, people: People
) -> None:
    tara = people.mentee("Tara Mentee")
    page = open_page()
    page.goto(f"{live_url}/portal")
    sign_in(page, tara)
    expect(page.get_by_role("link", name="Program")).to_have_count(0)
    for path in ("/portal/program", "/portal/program/mentorships", "/portal/program/meetings.csv"):
        answer = page.goto(f"{live_url}{path}")
        assert answer is not None
        assert answer.status == 403, path
        expect(page.get_by_text("This is for program operators.")).to_be_visible()
