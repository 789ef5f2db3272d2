"""``/portal/password``: choose a password with a mailed link (invitation, reset), and ask for
such a link (``/portal/password/forgot``). Nobody is signed in yet, so these forms carry the
login form's nonce (double submit) instead of a session's CSRF token."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import Now, SessionDep, SettingsDep, Throttle, client_address
from api.i18n import request_locale
from api.portal.forms import text
from api.portal.pages import PortalRoute, nonce_page
from api.portal.session import FORM_EXPIRED, HOME, FormDep, nonce_matches, start_session
from api.routers.auth import RESET_LINK_ON_ITS_WAY, mail_reset_link
from api.throttling import TooManySignIns
from api.tokens import sign_in
from services import password_links
from services.errors import DomainError
from services.i18n import _, translate
from services.users import adopt_browser_language

router = APIRouter(route_class=PortalRoute)
Token = Annotated[str, Query(max_length=300)]


def _page(request: Request, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    return nonce_page(request, f"portal/{template}", status=status, **context)


@router.get("/password", response_class=HTMLResponse)
def choose_form(
    request: Request, session: SessionDep, settings: SettingsDep, now: Now, token: Token = ""
) -> Response:
    if password_links.holder_of(session, settings.secret_key, token, now=now) is None:
        message = translate(
            _("This link is not valid any more: it was used, it expired, or a newer one was sent."),
            request_locale(request),
        )
        return _page(request, "password_set.html", status=410, error=message, token="")
    return _page(request, "password_set.html", token=token)


@router.post("/password", response_class=HTMLResponse)
def choose(
    request: Request, session: SessionDep, settings: SettingsDep, throttle: Throttle, now: Now, form: FormDep
) -> Response:
    language, token = request_locale(request), text(form, "token")[:300]
    if not nonce_matches(request, form):
        return _page(
            request, "password_set.html", status=403, error=translate(FORM_EXPIRED, language), token=token
        )
    password = str(form.get("password") or "")[:200]
    if password != str(form.get("again") or "")[:200]:
        error = translate(_("The two passwords differ."), language)
        return _page(request, "password_set.html", status=422, error=error, token=token)
    try:
        throttle.attempt(password_links.holder_key(token), client_address(request))
        user = password_links.set_password(session, settings.secret_key, token, password, now=now)
    except DomainError as refused:  # an invalid link or password (422), TooManySignIns (429)
        session.rollback()
        error = translate(refused.message, language, **refused.params)
        return _page(request, "password_set.html", status=refused.status, error=error, token=token)
    adopt_browser_language(user, language)  # the first sign-in of an invited person, usually
    session_token = sign_in(session, settings, user, now=now)
    session.commit()
    response = RedirectResponse(HOME, status_code=303)
    start_session(response, request, settings, session_token)
    return response


@router.get("/password/forgot", response_class=HTMLResponse)
def forgot_form(request: Request) -> Response:
    return _page(request, "password_forgot.html")


@router.post("/password/forgot", response_class=HTMLResponse)
def forgot(
    request: Request, session: SessionDep, settings: SettingsDep, throttle: Throttle, now: Now, form: FormDep
) -> Response:
    """The same answer whether or not the address has an account (see ``/api/auth/forgot-password``)."""
    language, email = request_locale(request), text(form, "email")[:320]
    if not nonce_matches(request, form):
        return _page(request, "password_forgot.html", status=403, error=translate(FORM_EXPIRED, language))
    try:
        throttle.attempt(email, client_address(request))
    except TooManySignIns as refused:
        error = translate(refused.message, language, **refused.params)
        return _page(request, "password_forgot.html", status=429, error=error)
    mail_reset_link(session, settings, email, now=now)
    sent = translate(RESET_LINK_ON_ITS_WAY, language)
    return _page(request, "password_forgot.html", sent=sent)
