"""The feedback form behind the signed link in a feedback-request mail (no sign-in needed).

``/portal/meetings/{id}/feedback?token=…`` rates one meeting, ``/portal/mentorships/{id}/
feedback?token=…`` the mentorship as a whole. The token names the participant, is bound to
that one target and expires (410, with the way to the portal); the lifecycle rules still decide
whether the answer is accepted.

The page looks like the portal (its layout, the program's name in the header) and speaks to
the link's participant: in their chosen language (else their browser's), dates in their time
zone, with a link back to the mentorship's page in the portal.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse

from api.deps import Now, SessionDep, SettingsDep
from api.portal.reader import Reader
from api.templating import templates
from models import Meeting, Mentorship, User
from services import meetings
from services.errors import DomainError
from services.feedback_links import Target, read_feedback_token
from services.i18n import _, translate
from services.program import program_of

router = APIRouter(prefix="/portal", tags=["portal"], include_in_schema=False)
Token = Annotated[str, Query(max_length=200)]


def _page(
    request: Request, session: SessionDep, status: int = 200, user: User | None = None, **context: Any
) -> HTMLResponse:
    """The page for the link's ``user`` (their language and zone), else for the browser."""
    reader = Reader.of(request, "UTC") if user is None else Reader.of(request, user.timezone, user.locale)
    context.update(user=user, reader=reader, language=reader.language, program=program_of(session))
    return templates.TemplateResponse(request, "feedback.html", context, status_code=status)


class _Refused(Exception):  # noqa: N818 - a signal, answered with a page
    def __init__(self, status: int, user: User | None = None, **flags: bool) -> None:
        self.status = status
        self.context: dict[str, Any] = {"user": user, **flags}  # an expired link's reader is known


def _holder(
    session: SessionDep, secret: str, token: str, target: Target, target_id: int, now: datetime
) -> User:
    """The link's participant; ``_Refused`` (404, or 410 once it expired) for any other link."""
    link = read_feedback_token(secret, token, target=target, target_id=target_id)
    user = None if link is None else session.get(User, link.user_id)
    if link is None or user is None:
        raise _Refused(404, invalid=True)
    if link.expired(now):
        raise _Refused(410, user, expired=True)
    return user


def _subject(session: SessionDep, target: Target, target_id: int) -> tuple[Mentorship | None, Meeting | None]:
    if target == "meeting":
        meeting = session.get(Meeting, target_id)
        return (None if meeting is None else session.get(Mentorship, meeting.mentorship_id)), meeting
    return session.get(Mentorship, target_id), None


def _show(
    request: Request, session: SessionDep, secret: str, now: Now, target: Target, target_id: int, token: str
) -> HTMLResponse:
    try:
        user = _holder(session, secret, token, target, target_id, now)
    except _Refused as refused:
        return _page(request, session, refused.status, **refused.context)
    mentorship, meeting = _subject(session, target, target_id)
    if mentorship is None:
        return _page(request, session, 404, invalid=True)
    return _page(request, session, user=user, mentorship=mentorship, meeting=meeting, token=token)


def _answer(
    request: Request,
    session: SessionDep,
    secret: str,
    now: Now,
    target: Target,
    target_id: int,
    token: str,
    rating: int,
    comment: str,
) -> HTMLResponse:
    try:
        user = _holder(session, secret, token, target, target_id, now)
    except _Refused as refused:
        return _page(request, session, refused.status, **refused.context)
    mentorship, meeting = _subject(session, target, target_id)
    if mentorship is None:
        return _page(request, session, 404, invalid=True)
    context: dict[str, Any] = {"user": user, "mentorship": mentorship, "meeting": meeting, "token": token}
    language = Reader.of(request, user.timezone, user.locale).language
    if not 1 <= rating <= 5:
        detail = translate(_("Please choose a rating from 1 to 5."), language)
        return _page(request, session, 422, error=detail, **context)
    try:
        if meeting is not None:
            meetings.give_feedback(session, user, meeting.id, rating=rating, comment=comment, now=now)
        else:
            meetings.feedback_on_mentorship(
                session, user, mentorship.id, rating=rating, comment=comment, now=now
            )
        session.commit()
    except DomainError as refused:
        session.rollback()
        detail = translate(refused.message, language, **refused.params)
        return _page(request, session, refused.status, error=detail, **context)
    request.app.state.on_fact(mentorship.id)
    return _page(request, session, thanks=True, **context)


# The link's path names what is rated: /portal/meetings/{id}/feedback or /portal/mentorships/{id}/feedback.
Collection = Literal["meetings", "mentorships"]
TARGETS: dict[str, Target] = {"meetings": "meeting", "mentorships": "mentorship"}


@router.get("/{collection}/{target_id}/feedback", response_class=HTMLResponse)
def feedback_form(
    collection: Collection,
    target_id: int,
    token: Token,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: Now,
) -> HTMLResponse:
    return _show(request, session, settings.secret_key, now, TARGETS[collection], target_id, token)


@router.post("/{collection}/{target_id}/feedback", response_class=HTMLResponse)
def feedback_answer(
    collection: Collection,
    target_id: int,
    token: Annotated[str, Form(max_length=200)],
    rating: Annotated[int, Form()],
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: Now,
    comment: Annotated[str, Form(max_length=4000)] = "",
) -> HTMLResponse:
    target = TARGETS[collection]
    return _answer(request, session, settings.secret_key, now, target, target_id, token, rating, comment)
