"""Choosing a password in the portal with the mailed link, and asking for one (issues 10, 11)."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from models import User
from models.settings import Settings
from tests.consequences.support import SmtpServer, password_link_in_last_mail
from tests.support import People

pytestmark = pytest.mark.browser


def test_an_invited_mentor_follows_the_mail_to_a_first_sign_in(
    page: Page, live_url: str, people: People, mail_server: SmtpServer, db: Engine, settings: Settings
) -> None:
    operator = people.operator()
    invited = httpx.post(
        f"{live_url}/api/admin/invitations",
        headers=operator.auth,
        json={"email": "nia@example.org", "display_name": "Nia Neu", "roles": ["mentor"]},
    )
    assert invited.status_code == 201, invited.text
    token = password_link_in_last_mail(mail_server, db, settings, "nia@example.org", "invitation")
    url = f"{live_url}/portal/password?token={token}"

    page.goto(url)
    page.get_by_label("New password").fill("my own choice")
    page.get_by_label("The same again").fill("my own choice")
    page.get_by_role("button", name="Set password and sign in").click()

    page.wait_for_url(f"{live_url}/portal")
    expect(page.get_by_role("heading", name="Hello, Nia Neu")).to_be_visible()
    with Session(db) as s:  # her browser's language (en-GB) is hers now: later mails follow it
        assert s.scalars(select(User.locale).where(User.email == "nia@example.org")).one() == "en"
    response = page.goto(url)  # the link worked once
    assert response is not None
    assert response.status == 410
    expect(page.get_by_role("alert")).to_contain_text("This link is not valid any more")


def test_a_mentee_who_forgot_her_password_asks_from_the_login_page(
    page: Page, live_url: str, people: People, mail_server: SmtpServer, db: Engine, settings: Settings
) -> None:
    mentee = people.mentee("Tara Mentee")
    page.goto(f"{live_url}/portal/login")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill(mentee.email)
    page.get_by_role("button", name="Send me a link").click()
    expect(page.get_by_role("status")).to_have_text(
        "If this address has an account, a link to set a new password is on its way."
    )
    token = password_link_in_last_mail(mail_server, db, settings, mentee.email, "password_reset")

    page.goto(f"{live_url}/portal/password?token={token}")
    page.get_by_label("New password").fill("a new one 123")
    page.get_by_label("The same again").fill("a different one")
    page.get_by_role("button", name="Set password and sign in").click()
    expect(page.get_by_role("alert")).to_have_text("The two passwords differ.")
    page.get_by_label("New password").fill("a new one 123")
    page.get_by_label("The same again").fill("a new one 123")
    page.get_by_role("button", name="Set password and sign in").click()
    page.wait_for_url(f"{live_url}/portal")
    ok = httpx.post(
        f"{live_url}/api/auth/token", data={"username": mentee.email, "password": "a new one 123"}
    )
    assert ok.status_code == 200
