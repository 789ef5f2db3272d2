"""Operators and people in the portal: an invitation through the real SMTP sink to a first
sign-in, roles, a deactivation that ends a live session, and the audit log of it all."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine

from models.settings import Settings
from tests.consequences.support import SmtpServer, password_link_in_last_mail
from tests.support import Clock, Journey, People, Person

pytestmark = pytest.mark.browser
SignIn = Callable[[Page, Person], None]


def test_an_operator_invites_a_mentor_who_signs_in_from_the_mail(
    open_page: Callable[..., Page],
    sign_in: SignIn,
    live_url: str,
    people: People,
    mail_server: SmtpServer,
    db: Engine,
    settings: Settings,
) -> None:
    olga = people.operator()
    page = open_page()
    page.goto(f"{live_url}/portal/program/people")
    sign_in(page, olga)

    page.get_by_label("Name", exact=True).fill("Nia Neu")
    page.get_by_label("E-mail address").fill("nia@example.org")
    page.get_by_role("group", name="Roles").get_by_label("Mentor").check()
    page.get_by_role("button", name="Send the invitation").click()

    expect(page.get_by_role("status").first).to_contain_text("The invitation is on its way")
    row = page.get_by_role("row", name="Nia Neu")
    expect(row).to_contain_text("nia@example.org")
    expect(row).to_contain_text("no password yet")
    token = password_link_in_last_mail(mail_server, db, settings, "nia@example.org", "invitation")

    nia = open_page()
    nia.goto(f"{live_url}/portal/password?token={token}")
    nia.get_by_label("New password").fill("my own choice")
    nia.get_by_label("The same again").fill("my own choice")
    nia.get_by_role("button", name="Set password and sign in").click()
    expect(nia.get_by_role("heading", name="Hello, Nia Neu")).to_be_visible()

    page.goto(f"{live_url}/portal/program/audit")
    expect(page.get_by_role("row", name="Olga Operator invited Nia Neu")).to_be_visible()

    # the same address again: refused, nothing changed, the form keeps what was typed
    page.goto(f"{live_url}/portal/program/people")
    page.get_by_label("Name", exact=True).fill("Nia Again")
    page.get_by_label("E-mail address").fill("NIA@example.org")
    page.get_by_role("group", name="Roles").get_by_label("Mentee").check()
    page.get_by_role("button", name="Send the invitation").click()
    expect(page.get_by_role("alert")).to_have_text("A user with this email already exists.")
    expect(page.get_by_label("Name", exact=True)).to_have_value("Nia Again")
    expect(page.get_by_role("row", name="Nia Again")).to_have_count(0)


def test_a_deactivation_ends_the_persons_live_session_and_shows_in_their_mentorships(
    open_page: Callable[..., Page], sign_in: SignIn, live_url: str, people: People, db: Engine, clock: Clock
) -> None:
    olga, tara, mira = people.operator(), people.mentee("Tara Mentee"), people.mentor("Mira Mentor")
    Journey(db, clock, tara, mira).request()
    taras = open_page()
    taras.goto(f"{live_url}/portal")
    sign_in(taras, tara)
    expect(taras.get_by_role("heading", name="Hello, Tara Mentee")).to_be_visible()

    page = open_page()
    page.goto(f"{live_url}/portal/program/people?q=tara")
    sign_in(page, olga)
    page.get_by_role("link", name="Tara Mentee").click()
    page.get_by_role("button", name="Deactivate").click()
    expect(page.get_by_role("status").first).to_contain_text("every sign-in of theirs has ended")
    expect(page.get_by_role("heading", level=1)).to_contain_text("deactivated")

    taras.reload()
    expect(taras).to_have_url(f"{live_url}/portal/login?next=%2Fportal")
    page.goto(f"{live_url}/portal/program/mentorships")
    pair = page.get_by_role("row", name="Tara Mentee → Mira Mentor")
    expect(pair).to_contain_text("a participant is deactivated")

    # roles: Mira cannot lose the mentor role while her request is open
    page.goto(f"{live_url}/portal/program/people?q=mira")
    page.get_by_role("link", name="Mira Mentor").click()
    page.get_by_role("group", name="Roles of Mira Mentor").get_by_label("Mentor").uncheck()
    page.get_by_role("group", name="Roles of Mira Mentor").get_by_label("Mentee").check()
    page.get_by_role("button", name="Save the roles").click()
    expect(page.get_by_role("alert")).to_contain_text("takes part as mentor in a mentorship under way")
    page.goto(f"{live_url}/portal/program/audit")
    expect(page.get_by_role("row")).to_have_count(2)  # the header and the deactivation
    expect(page.get_by_role("row", name="Olga Operator deactivated Tara Mentee")).to_be_visible()


def test_an_operator_names_the_program_and_the_portal_shows_it(
    open_page: Callable[..., Page], sign_in: SignIn, live_url: str, people: People
) -> None:
    olga, tara = people.operator(), people.mentee("Tara Mentee")
    page = open_page()
    page.goto(f"{live_url}/portal/program/settings")
    sign_in(page, olga)
    page.get_by_label("Name of the program").fill("Mentoring at Müller & Söhne")
    page.get_by_label("Contact address (optional)").fill("olga@intranet")  # a browser takes it, the rules not
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_have_text("Please check: Contact address.")
    expect(page.get_by_label("Name of the program")).to_have_value("Mentoring at Müller & Söhne")

    page.get_by_label("Contact address (optional)").fill("mentoring@example.org")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").first).to_have_text("The program's settings were saved.")

    taras = open_page()
    taras.goto(f"{live_url}/portal")
    sign_in(taras, tara)
    expect(taras.get_by_role("navigation", name="Portal").get_by_role("link").first).to_have_text(
        "Mentoring at Müller & Söhne"
    )
