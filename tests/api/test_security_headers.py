"""Every answer carries the security headers; oversized bodies are refused before they are read."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.security import MAX_BODY_BYTES
from tests.api.helpers import Flow, problem
from tests.support import People


def assert_protected(headers: object, *, page: bool) -> None:
    h = dict(headers)  # type: ignore[call-overload]
    assert h["x-content-type-options"] == "nosniff"
    assert h["x-frame-options"] == "DENY"
    assert h["referrer-policy"] == "same-origin"
    policy = h["content-security-policy"]
    assert "frame-ancestors 'none'" in policy
    if page:
        assert "form-action 'self'" in policy
        assert "script-src" not in policy  # default-src 'none': no script at all
    else:
        assert policy.startswith("default-src 'none'")


def test_json_pdf_calendar_and_pages_all_carry_the_headers(client: TestClient, flow: Flow) -> None:
    p = flow.pair("intro")
    meeting = flow.propose(p)
    for url in (p.url, f"/api/meetings/{meeting['id']}/calendar.ics", "/healthz", "/api/does-not-exist"):
        r = client.get(url, headers=p.mentee.auth)
        assert_protected(r.headers, page=False)
    for url in ("/portal/login", "/verify/NO-SUCH-CODE"):
        r = client.get(url)
        assert r.headers["content-type"].startswith("text/html"), url
        assert_protected(r.headers, page=True)


def test_the_docs_page_allows_only_its_own_scripts(client: TestClient) -> None:
    r = client.get("/docs")
    assert r.status_code == 200
    assert r.headers["x-content-type-options"] == "nosniff"
    policy = r.headers["content-security-policy"]
    assert "script-src 'self' 'sha256-" in policy
    assert "unsafe-inline" not in policy.split("script-src", 1)[1].split(";", 1)[0]
    assert "http" not in policy  # no other origin
    assert "cdn" not in r.text
    assert client.get("/redoc").status_code == 404  # one docs page, not two


@pytest.mark.parametrize("chunked", [False, True], ids=["with Content-Length", "chunked"])
def test_a_body_over_the_limit_is_refused_with_413_and_changes_nothing(
    client: TestClient, people: People, chunked: bool
) -> None:
    mentee = people.mentee()
    before = client.get("/api/me", headers=mentee.auth).json()
    big = b'{"bio": "' + b"x" * (MAX_BODY_BYTES + 1) + b'"}'
    headers = {**mentee.auth, "Content-Type": "application/json"}
    if chunked:
        r = client.put("/api/me/profile", content=iter([big[:1000], big[1000:]]), headers=headers)
    else:
        r = client.put("/api/me/profile", content=big, headers=headers)
    problem(r, 413)
    assert client.get("/api/me", headers=mentee.auth).json() == before


@pytest.mark.parametrize("path", ["/api/auth/token", "/portal/login"])
def test_a_form_over_the_limit_is_refused_with_413_too(client: TestClient, path: str) -> None:
    """Sign-in forms are read before anyone is known: a huge one must not be parsed either."""
    big = b"username=a%40example.org&password=" + b"x" * (MAX_BODY_BYTES + 1)
    r = client.post(path, content=big, headers={"Content-Type": "application/x-www-form-urlencoded"})
    problem(r, 413)


def test_hsts_only_over_https(client: TestClient) -> None:
    assert "strict-transport-security" not in client.get("/healthz").headers
    secure = client.get("https://testserver/healthz")
    assert secure.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
