"""Signing in to the portal: a cookie holding a bearer token, and a CSRF token per session.

The cookie (``HttpOnly``, ``SameSite=Lax``, path ``/portal``) holds the same signed token the
JSON API takes as ``Authorization: Bearer``, so its expiry follows the app's clock. Every form
of a signed-in page carries ``csrf_token``, an HMAC of that token with the secret key; a POST
without it is refused before anything is read or written. The login form, which has no session
yet, uses a random nonce in a short-lived cookie the same way (double submit).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from api.deps import Now, SessionDep, SettingsDep
from api.tokens import sign_out, token_user
from models import User
from models.settings import Settings
from services.i18n import _

COOKIE = "mentorflow_session"
LOGIN_COOKIE = "mentorflow_login"
CSRF_FIELD = "csrf_token"
COOKIE_PATH = "/portal"
HOME = "/portal"
LOGIN = "/portal/login"


#: Answer to a form without its CSRF token or nonce (forged, or from an expired page).
FORM_EXPIRED = _("This form has expired or did not come from this site. Reload the page and try again.")


class SignInRequired(Exception):  # noqa: N818 - a signal, answered with a redirect to the login page
    """No valid session cookie: the portal sends the visitor to the login page."""


class FormRefused(Exception):  # noqa: N818 - a signal, answered with a 403 page
    """A POST without this session's CSRF token (forged, or from an expired page)."""


def csrf_token(secret_key: str, session_token: str) -> str:
    return hmac.new(secret_key.encode(), b"portal-csrf:" + session_token.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Visitor:
    user: User
    csrf: str


def optional_visitor(
    request: Request, session: SessionDep, settings: SettingsDep, now: Now
) -> Visitor | None:
    token = request.cookies.get(COOKIE)
    if not token or len(token) > 4096:
        return None
    user = token_user(session, settings, token, now=now)
    return None if user is None else Visitor(user, csrf_token(settings.secret_key, token))


MaybeVisitor = Annotated[Visitor | None, Depends(optional_visitor)]


def signed_in(visitor: MaybeVisitor) -> Visitor:
    if visitor is None:
        raise SignInRequired
    return visitor


async def form_data(request: Request) -> FormData:
    return await request.form()


FormDep = Annotated[FormData, Depends(form_data)]


def same(sent: object, expected: str) -> bool:
    return isinstance(sent, str) and bool(expected) and hmac.compare_digest(sent, expected)


def checked_visitor(visitor: Annotated[Visitor, Depends(signed_in)], form: FormDep) -> Visitor:
    if not same(form.get(CSRF_FIELD), visitor.csrf):
        raise FormRefused
    return visitor


def safe_next(value: str | None) -> str:
    """Only a path on this site (``/portal/...``); anything else (``//evil``, ``https:``) → home."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return HOME
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return HOME
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return HOME
    return value


def login_url(request: Request) -> str:
    """The login page, with the page to come back to (GET pages only; a POST goes home)."""
    if request.method != "GET":
        return LOGIN
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"{LOGIN}?next={quote(here, safe='')}"


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def start_session(response: Response, request: Request, settings: Settings, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(settings.token_lifetime.total_seconds()),
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )
    response.delete_cookie(LOGIN_COOKIE, path=COOKIE_PATH)


def end_session(
    response: Response, request: Request, session: Session, settings: Settings, now: datetime
) -> None:
    """Sign out: the cookie's sign-in ends on the server (a copy of it opens nothing), and the
    browser forgets the cookie."""
    sign_out(session, settings, request.cookies.get(COOKIE, ""), now=now)
    response.delete_cookie(COOKIE, path=COOKIE_PATH)


def nonce_matches(request: Request, form: FormData) -> bool:
    """A form of the signed-out pages (login, choosing a password) carries the nonce of its
    cookie (double submit)."""
    return same(form.get("nonce"), request.cookies.get(LOGIN_COOKIE, ""))


def login_nonce(request: Request) -> str:
    """The login form's nonce: the one in the cookie if there is one, else a new one."""
    found = request.cookies.get(LOGIN_COOKIE, "")
    return found if 20 <= len(found) <= 100 else secrets.token_urlsafe(24)


def remember_login_nonce(response: Response, request: Request, nonce: str) -> None:
    response.set_cookie(
        LOGIN_COOKIE,
        nonce,
        max_age=3600,
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )
