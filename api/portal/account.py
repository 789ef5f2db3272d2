"""``/portal/account``: one's password, signing out everywhere, and one's data (export, erasure).

The same services as the JSON API (``/api/auth/password``, ``/api/me/export``,
``/api/me/erase``): a changed password ends every sign-in and this browser gets a new one;
erasure signs out and ends on the login page.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import Throttle, client_address
from api.portal.pages import PortalRoute, Posting, Reading
from api.portal.session import LOGIN, end_session, start_session
from api.routers.users import my_data_file
from api.tokens import sign_in
from services import personal_data, sign_ins
from services.errors import DomainError, Invalid
from services.i18n import _
from services.users import change_password, confirm_password
from tasks.certificate_renderer import certificate_renderer

router = APIRouter(route_class=PortalRoute)
PAGE = "portal/account.html"


@router.get("/account", response_class=HTMLResponse)
def account(portal: Reading) -> Response:
    return portal.page(PAGE)


@router.post("/account/password", response_class=HTMLResponse)
def new_password(portal: Posting, throttle: Throttle) -> Response:
    fields = portal.fields
    current, new = (str(fields.get(name) or "")[:200] for name in ("current_password", "new_password"))
    try:
        throttle.attempt(portal.user.email, client_address(portal.request))
        if new != str(fields.get("again") or "")[:200]:
            raise Invalid(_("The two passwords differ."), loc=("body", "again"))
        change_password(portal.session, portal.user, current=current, new=new)
    except DomainError as refused:  # TooManySignIns (429) too
        portal.session.rollback()
        return portal.page(PAGE, status=refused.status, error=portal.explain(refused))
    sign_ins.end_all(portal.session, portal.user.id, now=portal.now)
    token = sign_in(portal.session, portal.settings, portal.user, now=portal.now)
    portal.session.commit()
    response = RedirectResponse("/portal/account?done=password_changed", status_code=303)
    start_session(response, portal.request, portal.settings, token)
    return response


@router.post("/account/sign-out-everywhere")
def sign_out_everywhere(portal: Posting) -> Response:
    sign_ins.end_all(portal.session, portal.user.id, now=portal.now)
    portal.session.commit()
    response = RedirectResponse(LOGIN, status_code=303)
    end_session(response, portal.request, portal.session, portal.settings, portal.now)
    return response


@router.get("/account/export")
def export(portal: Reading) -> Response:
    return my_data_file(portal.session, portal.user, now=portal.now)


@router.post("/account/erase", response_class=HTMLResponse)
def erase(portal: Posting, throttle: Throttle) -> Response:
    try:
        throttle.attempt(portal.user.email, client_address(portal.request))
        confirm_password(portal.user, str(portal.fields.get("password") or "")[:200])
        render = certificate_renderer(portal.settings.base_url)
        personal_data.erase(portal.session, portal.user, now=portal.now, render=render)
    except DomainError as refused:  # TooManySignIns (429) too
        portal.session.rollback()
        return portal.page(PAGE, status=refused.status, error=portal.explain(refused))
    portal.session.commit()
    response = RedirectResponse(f"{LOGIN}?erased=1", status_code=303)
    end_session(response, portal.request, portal.session, portal.settings, portal.now)
    return response
