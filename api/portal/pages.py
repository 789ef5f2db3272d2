"""What every portal route shares: the request's context, rendering a page, answering a form.

``PortalRoute`` turns what a route raises into pages: no session → the login page (with
``?next=``), a form without the CSRF token → 403, a refusal of the rules (``DomainError``, e.g.
another pair's mentorship: 404) → an error page in the reader's language.

Every rendered form carries a one-time ``submission`` token. ``Portal.act`` stores it with the
fact, in the same transaction, the way the JSON API stores an ``Idempotency-Key``: the same form
posted twice (a double click, a browser re-sending) states the fact once, and the second post
is sent where the first one went.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from api.deps import Now, SessionDep, SettingsDep
from api.i18n import request_locale
from api.portal.reader import Reader
from api.portal.session import (
    CSRF_FIELD,
    FORM_EXPIRED,
    FormDep,
    FormRefused,
    SignInRequired,
    Visitor,
    checked_visitor,
    login_nonce,
    login_url,
    remember_login_nonce,
    signed_in,
)
from api.portal.texts import (
    AGREEMENT_STATUSES,
    DONE,
    END_REASONS,
    MEETING_STATUSES,
    MODES,
    STAGES,
    label,
    say,
)
from api.templating import templates
from models import Role, User
from models.settings import Settings
from services import notices
from services.errors import Conflict, DomainError
from services.i18n import _, translate
from services.idempotency import find_response, store_response
from services.program import program_of

SUBMISSION_FIELD = "submission"
WORDS = {
    "stage": STAGES,
    "meeting": MEETING_STATUSES,
    "agreement": AGREEMENT_STATUSES,
    "mode": MODES,
    "end": END_REASONS,
}


@dataclass
class Portal:
    """One portal request: who reads, in which language and zone, and the unit of work."""

    request: Request
    session: Session
    settings: Settings
    now: datetime
    visitor: Visitor
    reader: Reader
    form: FormData | None = None

    @property
    def user(self) -> User:
        return self.visitor.user

    @property
    def fields(self) -> FormData:
        """The posted form (its CSRF token already checked)."""
        if self.form is None:
            raise FormRefused
        return self.form

    def page(
        self, template: str, *, status: int = 200, error: str | None = None, **context: Any
    ) -> HTMLResponse:
        done = self.request.query_params.get("done", "")
        return render(
            self.request,
            template,
            status=status,
            language=self.reader.language,
            me=self.user,
            is_mentee=self.user.has_role(Role.MENTEE),
            is_operator=self.user.has_role(Role.OPERATOR),
            is_participant=is_participant(self.user),
            unread=notices.unread_count(self.session, self.user.id),
            program=program_of(self.session),
            csrf=self.visitor.csrf,
            reader=self.reader,
            word=lambda table, code: label(WORDS[table], code, self.reader.language),
            now=self.now,
            error=error,
            done=say(DONE[done], self.reader.language) if done in DONE and error is None else None,
            **context,
        )

    def explain(self, refused: DomainError) -> str:
        return translate(refused.message, self.reader.language, **refused.params)

    def act(
        self,
        action: Callable[[], int | None],
        *,
        then: str | Callable[[int], str],
        refused: Callable[[str, int], Response],
    ) -> Response:
        """Run one write through the services (``action`` returns the mentorship it concerns):
        commit and tell the engine, then redirect to ``then`` (post/redirect/get); or, refused,
        roll back and answer ``refused(message, status)``: nothing was changed. A form posted
        again with the same submission token is redirected where the first post went."""
        key = self._submission_key()
        if key is not None and (earlier := find_response(self.session, user_id=self.user.id, key=key)):
            return RedirectResponse(earlier.body, status_code=303)
        try:
            mentorship_id = action()
            target = then if isinstance(then, str) else then(mentorship_id or 0)
            if key is not None and not self._remember(key, target):
                return RedirectResponse(target, status_code=303)  # a twin post of this form stated it
            if mentorship_id is not None:
                notices.mark_read_about(self.session, self.user.id, mentorship_id, now=self.now)
            self.session.commit()
        except DomainError as refusal:
            self.session.rollback()
            return refused(self.explain(refusal), refusal.status)
        if mentorship_id is not None:
            self.request.app.state.on_fact(mentorship_id)
        return RedirectResponse(target, status_code=303)

    def _submission_key(self) -> str | None:
        token = self.form.get(SUBMISSION_FIELD) if self.form is not None else None
        return f"portal-form:{token[:100]}" if isinstance(token, str) and token else None

    def _remember(self, key: str, target: str) -> bool:
        """Store the form's token with the fact; False if a twin post stored it first (then
        everything here is rolled back already)."""
        try:
            store_response(
                self.session,
                user_id=self.user.id,
                key=key,
                fingerprint="portal-form",
                status_code=303,
                body=target,
                now=self.now,
            )
        except Conflict:
            return False
        return True


def is_participant(user: User) -> bool:
    """Takes part in the program as a mentee or a mentor (an operator may also)."""
    return user.has_role(Role.MENTEE) or user.has_role(Role.MENTOR)


def new_submission() -> str:
    """A fresh token for one rendered form (see the module docstring)."""
    return secrets.token_urlsafe(16)


#: Pages about one person are not cached (the back button after signing out shows nothing) and
#: are not framed by other sites (their buttons cannot be clicked through a disguise).
PRIVATE = {"Cache-Control": "no-store"}  # and the security headers every answer gets (api/security.py)


def render(request: Request, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("language", request_locale(request))
    context.setdefault("csrf_field", CSRF_FIELD)
    context.setdefault("submission_field", SUBMISSION_FIELD)
    context.setdefault("new_submission", new_submission)
    response = templates.TemplateResponse(request, template, context, status_code=status)
    response.headers.update(PRIVATE)
    return response


def nonce_page(request: Request, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """A page of the signed-out part (login, choosing a password): its form carries a nonce,
    remembered in a short-lived cookie (``session.nonce_matches``)."""
    nonce = login_nonce(request)
    response = render(request, template, status=status, nonce=nonce, **context)
    remember_login_nonce(response, request, nonce)
    return response


def _portal(
    request: Request, session: Session, settings: Settings, now: datetime, visitor: Visitor
) -> Portal:
    request.state.portal_visitor = visitor  # for the navigation of an error page
    user = visitor.user
    return Portal(request, session, settings, now, visitor, Reader.of(request, user.timezone, user.locale))


def reading(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: Now,
    visitor: Annotated[Visitor, Depends(signed_in)],
) -> Portal:
    return _portal(request, session, settings, now, visitor)


def posting(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: Now,
    visitor: Annotated[Visitor, Depends(checked_visitor)],
    form: FormDep,
) -> Portal:
    portal = _portal(request, session, settings, now, visitor)
    portal.form = form
    return portal


Reading = Annotated[Portal, Depends(reading)]
Posting = Annotated[Portal, Depends(posting)]


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    visitor = getattr(request.state, "portal_visitor", None)
    signed_in: dict[str, Any] = {}
    if isinstance(visitor, Visitor):
        signed_in = {
            "me": visitor.user,
            "csrf": visitor.csrf,
            "is_mentee": visitor.user.has_role(Role.MENTEE),
            "is_operator": visitor.user.has_role(Role.OPERATOR),
            "is_participant": is_participant(visitor.user),
        }
    return render(request, "portal/error.html", status=status, message=message, **signed_in)


class PortalRoute(APIRoute):
    """Answers the portal's signals and refusals with pages instead of problem documents."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def portal_handler(request: Request) -> Response:
            try:
                return await handle(request)
            except SignInRequired:
                return RedirectResponse(login_url(request), status_code=303)
            except FormRefused:
                return error_page(request, 403, translate(FORM_EXPIRED, request_locale(request)))
            except DomainError as refused:
                detail = translate(refused.message, request_locale(request), **refused.params)
                return error_page(request, refused.status, detail)
            except RequestValidationError:
                message = _("This address is not valid.")
                return error_page(request, 404, translate(message, request_locale(request)))

        return portal_handler


def pages_of(total: int, per_page: int) -> int:
    return max(1, -(-total // per_page))


def page_link(path: str, query: dict[str, str]) -> Callable[[int], str]:
    """The address of page ``n`` of a list, its filters (those given) kept."""
    kept = {name: value for name, value in query.items() if value}
    return lambda n: f"{path}?{urlencode({**kept, 'page': n})}"
