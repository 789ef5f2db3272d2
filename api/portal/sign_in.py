"""``/portal/login`` and ``/portal/logout``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import Now, SessionDep, SettingsDep, Throttle, client_address
from api.i18n import request_locale
from api.portal.forms import text
from api.portal.pages import PortalRoute, Posting, nonce_page, render
from api.portal.session import (
    FORM_EXPIRED,
    LOGIN,
    FormDep,
    MaybeVisitor,
    end_session,
    nonce_matches,
    safe_next,
    start_session,
)
from api.throttling import TooManySignIns
from api.tokens import sign_in
from services.i18n import _, translate
from services.users import adopt_browser_language, authenticate

router = APIRouter(route_class=PortalRoute)
Next = Annotated[str | None, Query(alias="next", max_length=2000)]


def _login_page(
    request: Request,
    next_path: str,
    *,
    status: int = 200,
    error: str | None = None,
    email: str = "",
    done: str | None = None,
) -> HTMLResponse:
    return nonce_page(
        request, "portal/login.html", status=status, next=next_path, error=error, email=email, done=done
    )


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, visitor: MaybeVisitor, next_path: Next = None) -> Response:
    target = safe_next(next_path)
    if visitor is not None:
        return RedirectResponse(target, status_code=303)
    erased = request.query_params.get("erased") == "1"
    done = (
        translate(_("Your data was erased. Goodbye, and thank you."), request_locale(request))
        if erased
        else None
    )
    return _login_page(request, target, done=done)


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request, session: SessionDep, settings: SettingsDep, throttle: Throttle, now: Now, form: FormDep
) -> Response:
    email, password = text(form, "email")[:320], str(form.get("password") or "")[:200]
    target, language = safe_next(text(form, "next")), request_locale(request)
    if not nonce_matches(request, form):
        return _login_page(request, target, status=403, error=translate(FORM_EXPIRED, language), email=email)
    if not (email and password):
        error = translate(_("Wrong email or password."), language)
        return _login_page(request, target, status=401, error=error, email=email)
    try:
        throttle.attempt(email, client_address(request))
    except TooManySignIns as refused:
        error = translate(refused.message, language, **refused.params)
        page = _login_page(request, target, status=429, error=error, email=email)
        page.headers["Retry-After"] = str(refused.retry_after)
        return page
    user = authenticate(session, email, password)
    if user is None:
        error = translate(_("Wrong email or password."), language)
        return _login_page(request, target, status=401, error=error, email=email)
    throttle.succeeded(email)
    adopt_browser_language(user, language)  # the portal already speaks it: so will mails
    token = sign_in(session, settings, user, now=now)
    session.commit()  # the sign-in, a language kept, and a password hash that may have been upgraded
    response = RedirectResponse(target, status_code=303)
    start_session(response, request, settings, token)
    return response


@router.get("/logout", response_class=HTMLResponse)
def logout_form(request: Request, visitor: MaybeVisitor) -> Response:
    if visitor is None:
        return RedirectResponse(LOGIN, status_code=303)
    return render(request, "portal/logout.html", me=visitor.user, csrf=visitor.csrf)


@router.post("/logout")
def logout(portal: Posting) -> Response:
    response = RedirectResponse(LOGIN, status_code=303)
    end_session(response, portal.request, portal.session, portal.settings, portal.now)
    return response
