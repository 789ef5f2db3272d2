"""The fit question and the closure survey behind the signed link in their request mails (no
sign-in needed): ``/portal/mentorships/{id}/survey/fit?token=…`` and ``…/survey/closure``.

The token names the participant and is bound to that one survey of that one mentorship; it
expires like a feedback link (410, with the way to the portal). Whether the answer is taken is
still the services' call (``services.surveys``): asked now, and not answered before. Like the
feedback page, it looks like the portal and speaks the participant's language.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse
from starlette.datastructures import FormData

from api.deps import Now, SessionDep, SettingsDep
from api.portal import forms
from api.portal.reader import Reader
from api.templating import templates
from models import Mentorship, Survey, User
from services import surveys
from services.errors import DomainError
from services.feedback_links import read_feedback_token
from services.i18n import translate
from services.program import program_of

router = APIRouter(prefix="/portal", tags=["portal"], include_in_schema=False)
Token = Annotated[str, Query(max_length=200)]


def _page(request: Request, session: SessionDep, status: int = 200, **context: Any) -> HTMLResponse:
    """The page for the link's ``user`` (their language), else for the browser."""
    user = context.get("user")
    reader = Reader.of(request, "UTC") if user is None else Reader.of(request, user.timezone, user.locale)
    context.update(language=reader.language, program=program_of(session))
    return templates.TemplateResponse(request, "survey.html", context, status_code=status)


def _opened(
    request: Request,
    session: SessionDep,
    secret: str,
    now: datetime,
    mentorship_id: int,
    survey: Survey,
    token: str,
) -> dict[str, Any] | HTMLResponse:
    """What the page shows for a valid link, or the page that refuses it (404, or 410 once
    it expired)."""
    link = read_feedback_token(secret, token, target=survey.value, target_id=mentorship_id)
    user = None if link is None else session.get(User, link.user_id)
    mentorship = session.get(Mentorship, mentorship_id)
    if link is None or user is None or mentorship is None or mentorship.side_of(user.id) is None:
        return _page(request, session, 404, survey=survey.value, invalid=True)
    if link.expired(now):
        return _page(request, session, 410, survey=survey.value, expired=True)
    other = mentorship.mentor if user.id == mentorship.mentee_id else mentorship.mentee
    answered = surveys.own_answer(session, mentorship.id, user.id, survey) is not None
    return {
        "survey": survey.value,
        "user": user,
        "mentorship": mentorship,
        "other": other,
        "token": token,
        "answered": answered,
    }


@router.get("/mentorships/{mentorship_id}/survey/{survey}", response_class=HTMLResponse)
def survey_form(
    mentorship_id: int,
    survey: Survey,
    token: Token,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: Now,
) -> HTMLResponse:
    opened = _opened(request, session, settings.secret_key, now, mentorship_id, survey, token)
    return opened if isinstance(opened, HTMLResponse) else _page(request, session, **opened)


Field = Annotated[str, Form(max_length=4000)]


@router.post("/mentorships/{mentorship_id}/survey/{survey}", response_class=HTMLResponse)
def survey_answer(
    mentorship_id: int,
    survey: Survey,
    token: Annotated[str, Form(max_length=200)],
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: Now,
    answer: Field = "",
    goals_reached: Field = "",
    would_recommend: Field = "",
    comment: Field = "",
) -> HTMLResponse:
    opened = _opened(request, session, settings.secret_key, now, mentorship_id, survey, token)
    if isinstance(opened, HTMLResponse):
        return opened
    sent = FormData(
        {
            "answer": answer,
            "goals_reached": goals_reached,
            "would_recommend": would_recommend,
            "comment": comment,
        }
    )
    user = opened["user"]
    language = Reader.of(request, user.timezone, user.locale).language
    try:
        given = forms.fit(sent, language) if survey is Survey.FIT else forms.closure(sent, language)
        surveys.answer(session, user, mentorship_id, survey, given, now=now)
        session.commit()
    except DomainError as refused:
        session.rollback()
        detail = translate(refused.message, language, **refused.params)
        return _page(request, session, refused.status, error=detail, sent=sent, **opened)
    request.app.state.on_fact(mentorship_id)
    return _page(request, session, thanks=True, **{**opened, "answered": True})
