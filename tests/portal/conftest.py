"""Fixtures of the portal suite: the app on a real port and Debian's Chromium through Playwright."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page
from sqlalchemy import Engine

from tests.conftest import migrated_database
from tests.support import Person


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    yield page
    context.close()


# --- participant portal --------------------------------------------------------------------------


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Callable[..., Page]]:
    """Opens a page in a browser context of its own (own cookies: one signed-in person each)."""
    contexts: list[BrowserContext] = []

    def open_one(locale: str = "en-GB") -> Page:
        context = browser.new_context(locale=locale)
        context.set_default_timeout(5000)
        contexts.append(context)
        return context.new_page()

    yield open_one
    for context in contexts:
        context.close()


@pytest.fixture
def sign_in(live_url: str) -> Callable[[Page, Person], None]:
    """Signs ``person`` in on ``page``: from the login page it was sent to, or a fresh one."""

    def sign_in(page: Page, person: Person) -> None:
        if "/portal/login" not in page.url:
            page.goto(f"{live_url}/portal/login")
        page.locator("#email").fill(person.email)
        page.locator("#password").fill(person.password)
        page.locator("form[action='/portal/login'] button[type=submit]").click()
        page.wait_for_url(lambda url: "/portal/login" not in url)

    return sign_in


@pytest.fixture(scope="session")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """Browser tests run on PostgreSQL alone, the production database. What a page does with
    the data comes from the services, whose tests (and the API's) run on SQLite and PostgreSQL
    both; in a browser, the second backend doubled the time and found nothing more."""
    yield from migrated_database("postgresql", tmp_path_factory, label="portal")
