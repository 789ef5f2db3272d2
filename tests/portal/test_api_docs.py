"""``/docs`` in Chromium: Swagger UI renders the API from our own origin under its CSP."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

pytestmark = pytest.mark.browser


def test_swagger_ui_renders_every_operation_from_this_origin_alone(page: Page, live_url: str) -> None:
    requested: list[str] = []
    complaints: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    def complain(message: ConsoleMessage) -> None:
        if message.type == "error":
            complaints.append(message.text)

    page.on("console", complain)

    page.goto(f"{live_url}/docs")

    expect(page.locator(".swagger-ui .title")).to_contain_text("mentorflow")
    expect(page.get_by_text("/api/auth/token", exact=True)).to_be_visible()
    expect(page.get_by_text("/api/mentorships/{mentorship_id}/agreement/approve", exact=True)).to_be_visible()
    origins = {urlsplit(url).netloc for url in requested if not url.startswith("data:")}
    assert origins == {urlsplit(live_url).netloc}
    assert complaints == []  # a script or style the policy blocked would show up here
