"""``/portal/mentorships/{id}``: where a mentorship stands, its meetings and timeline, and the
decisions a participant takes on it (accept, decline, withdraw, end, propose a meeting)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from api.portal import forms
from api.portal.pages import Portal, PortalRoute, Posting, Reading
from api.portal.views import allowed_facts, meeting_view, next_step, split_meetings, timeline
from api.schemas.mentorships import ACCEPTANCE_MESSAGE_LENGTH
from models import Survey
from services import catalogue, certificates, events, meetings, mentorships, surveys
from services.access import visible_mentorship
from services.errors import Invalid
from services.i18n import _
from services.lifecycle import Fact
from services.progress import snapshot, waiting_for
from tasks.engine import run_url

router = APIRouter(route_class=PortalRoute)


def mentorship_page(
    portal: Portal,
    mentorship_id: int,
    *,
    error: str | None = None,
    status: int = 200,
    sent: FormData | None = None,
) -> Response:
    """The page; after a refusal, ``sent`` refills the form that was sent."""
    m = visible_mentorship(portal.session, mentorship_id, portal.user)
    user, now = portal.user, portal.now
    snap = snapshot(portal.session, m)
    allowed = allowed_facts(m, user.id)
    upcoming, past = split_meetings([meeting_view(x, m, user.id, now, allowed) for x in snap.meetings], now)
    return portal.page(
        "portal/mentorship.html",
        status=status,
        error=error,
        m=m,
        side=m.side_of(user.id),
        run_url=None if m.side_of(user.id) else run_url(m.flow_run_id),  # for operators
        other=m.mentor if m.mentee_id == user.id else m.mentee,
        next=next_step(waiting_for(snap, now), m, user, portal.reader),
        allowed=allowed,
        facts=Fact,
        current=snap.current_agreement,
        pending=snap.pending_agreement,
        held=snap.meetings_held,
        held_as_agreed=snap.regular_meetings_held,
        period=snap.period(now, portal.reader.zone),
        certificate=certificates.certificate_for(portal.session, m.id, user.id),
        upcoming=upcoming,
        past=past,
        timeline=timeline(events.events_of(portal.session, m.id), m, user.id, portal.reader),
        topics=catalogue.for_mentorship(portal.session, m, portal.reader.language),
        proposal=meetings.next_proposal(portal.session, m.id),
        end_reasons=mentorships.END_REASONS,
        acceptance_length=ACCEPTANCE_MESSAGE_LENGTH,
        surveys_due=surveys.due(portal.session, m, user.id),
        sent=sent if sent is not None else FormData(),
        suggested_start=portal.reader.input_value(
            (now + timedelta(days=7)).replace(minute=0, second=0, microsecond=0)
        ),
    )


@router.get("/mentorships/{mentorship_id}", response_class=HTMLResponse)
def show(mentorship_id: int, portal: Reading) -> Response:
    return mentorship_page(portal, mentorship_id)


def _decide(
    portal: Portal, mentorship_id: int, fact: Fact, done: str, *, reason: str | None = ""
) -> Response:
    def decide() -> int:
        why, code, words = None, None, None
        if fact is Fact.ACCEPT:
            words = forms.acceptance_message(portal.fields, portal.reader.language)
        if reason is not None:
            why = forms.reason(portal.fields, portal.reader.language, required=False)
        if fact is Fact.END:
            code = forms.text(portal.fields, "reason_code") or None
            if code is None:  # the rules would count it as "other": the form asks instead
                raise Invalid(_("Choose why the mentorship ends."), loc=("body", "reason_code"))
        mentorships.decide(
            portal.session,
            portal.user,
            mentorship_id,
            fact,
            now=portal.now,
            reason=why,
            reason_code=code,
            message=words,
        )
        return mentorship_id

    def refused(message: str, status: int) -> Response:
        return mentorship_page(portal, mentorship_id, error=message, status=status, sent=portal.fields)

    return portal.act(decide, then=f"/portal/mentorships/{mentorship_id}?done={done}", refused=refused)


@router.post("/mentorships/{mentorship_id}/accept")
def accept(mentorship_id: int, portal: Posting) -> Response:
    return _decide(portal, mentorship_id, Fact.ACCEPT, "accepted", reason=None)


@router.post("/mentorships/{mentorship_id}/decline")
def decline(mentorship_id: int, portal: Posting) -> Response:
    return _decide(portal, mentorship_id, Fact.DECLINE, "declined")


@router.post("/mentorships/{mentorship_id}/withdraw")
def withdraw(mentorship_id: int, portal: Posting) -> Response:
    return _decide(portal, mentorship_id, Fact.WITHDRAW, "withdrawn", reason=None)


@router.post("/mentorships/{mentorship_id}/end")
def end(mentorship_id: int, portal: Posting) -> Response:
    return _decide(portal, mentorship_id, Fact.END, "ended")


@router.post("/mentorships/{mentorship_id}/meetings")
def propose_meeting(mentorship_id: int, portal: Posting) -> Response:
    def propose() -> int:
        language = portal.reader.language
        picked = catalogue.picked_questions(portal.session, forms.ids(portal.fields, "questions"), language)
        plan = forms.meeting_plan(portal.fields, portal.reader, picked)
        meetings.propose(portal.session, portal.user, mentorship_id, plan, now=portal.now)
        return mentorship_id

    def refused(message: str, status: int) -> Response:
        return mentorship_page(portal, mentorship_id, error=message, status=status, sent=portal.fields)

    return portal.act(
        propose, then=f"/portal/mentorships/{mentorship_id}?done=proposed#meetings", refused=refused
    )


def _answer_survey(portal: Portal, mentorship_id: int, survey: Survey) -> Response:
    def answer() -> int:
        read = forms.fit if survey is Survey.FIT else forms.closure
        given = read(portal.fields, portal.reader.language)
        surveys.answer(portal.session, portal.user, mentorship_id, survey, given, now=portal.now)
        return mentorship_id

    def refused(message: str, status: int) -> Response:
        return mentorship_page(portal, mentorship_id, error=message, status=status, sent=portal.fields)

    return portal.act(answer, then=f"/portal/mentorships/{mentorship_id}?done=survey", refused=refused)


@router.post("/mentorships/{mentorship_id}/fit")
def answer_fit(mentorship_id: int, portal: Posting) -> Response:
    return _answer_survey(portal, mentorship_id, Survey.FIT)


@router.post("/mentorships/{mentorship_id}/closure-survey")
def answer_closure(mentorship_id: int, portal: Posting) -> Response:
    return _answer_survey(portal, mentorship_id, Survey.CLOSURE)
