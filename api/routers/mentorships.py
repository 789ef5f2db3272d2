"""Mentorship requests, decisions and the event log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, status

from api.deps import CurrentUser, Now, SessionDep, WriteDep
from api.i18n import Language, request_locale
from api.problems import problems
from api.schemas.common import OptionalReason
from api.schemas.mentorships import (
    Acceptance,
    EndRequest,
    FeedbackCreate,
    FeedbackRead,
    MentorshipCreate,
    MentorshipRead,
)
from api.schemas.users import EventRead
from services import events, meetings, mentorships
from services.access import visible_mentorship
from services.lifecycle import Fact
from services.progress import snapshot, snapshots

router = APIRouter(prefix="/mentorships", tags=["mentorships"])


@router.post("", status_code=status.HTTP_201_CREATED, responses=problems(403, 409))
def request_mentorship(body: MentorshipCreate, write: WriteDep) -> MentorshipRead:
    """A mentee asks a mentor; the mentor must have free capacity."""
    m = mentorships.request_mentorship(
        write.session, write.user, mentor_id=body.mentor_id, message=body.message, now=write.now
    )
    read = MentorshipRead.of(
        snapshot(write.session, m), write.now, request_locale(write.request), write.user.timezone
    )
    return write.done(read, status_code=201, mentorship_id=m.id)


def _decide(
    write: WriteDep,
    mentorship_id: int,
    fact: Fact,
    reason: str | None = None,
    reason_code: str | None = None,
    message: str | None = None,
) -> MentorshipRead:
    m = mentorships.decide(
        write.session,
        write.user,
        mentorship_id,
        fact,
        now=write.now,
        reason=reason,
        reason_code=reason_code,
        message=message,
        expected_version=write.if_match,
    )
    read = MentorshipRead.of(
        snapshot(write.session, m), write.now, request_locale(write.request), write.user.timezone
    )
    return write.done(read, mentorship_id=m.id)


@router.post("/{mentorship_id}/accept", responses=problems(403, 404, 409, 412))
def accept(
    mentorship_id: int, write: WriteDep, body: Annotated[Acceptance | None, Body()] = None
) -> MentorshipRead:
    """The mentor accepts: the pair moves to the get-to-know-you stage (``intro``). An optional
    ``message`` reaches the mentee (notification, mail, the mentorship's page)."""
    return _decide(write, mentorship_id, Fact.ACCEPT, message=body.message if body else None)


@router.post("/{mentorship_id}/decline", responses=problems(403, 404, 409, 412))
def decline(mentorship_id: int, body: OptionalReason, write: WriteDep) -> MentorshipRead:
    return _decide(write, mentorship_id, Fact.DECLINE, body.reason)


@router.post("/{mentorship_id}/withdraw", responses=problems(403, 404, 409, 412))
def withdraw(mentorship_id: int, write: WriteDep) -> MentorshipRead:
    """The mentee takes the request back, before the mentor accepted."""
    return _decide(write, mentorship_id, Fact.WITHDRAW)


@router.post("/{mentorship_id}/end", responses=problems(403, 404, 409, 412))
def end(mentorship_id: int, body: EndRequest, write: WriteDep) -> MentorshipRead:
    """Either side ends the mentorship early: why, from a short list, and optional words."""
    return _decide(write, mentorship_id, Fact.END, body.reason, body.reason_code)


@router.get("", responses=problems())
def my_mentorships(
    session: SessionDep, user: CurrentUser, now: Now, language: Language
) -> list[MentorshipRead]:
    own = snapshots(session, mentorships.mentorships_of(session, user))
    return [MentorshipRead.of(s, now, language, user.timezone) for s in own]


@router.get("/{mentorship_id}", responses=problems(404))
def get_mentorship(
    mentorship_id: int, session: SessionDep, user: CurrentUser, now: Now, language: Language
) -> MentorshipRead:
    m = visible_mentorship(session, mentorship_id, user)
    return MentorshipRead.of(snapshot(session, m), now, language, user.timezone)


@router.get("/{mentorship_id}/events", responses=problems(404))
def event_log(mentorship_id: int, session: SessionDep, user: CurrentUser) -> list[EventRead]:
    """The audit trail, oldest first."""
    m = visible_mentorship(session, mentorship_id, user)
    return [EventRead.model_validate(e) for e in events.events_of(session, m.id)]


@router.post(
    "/{mentorship_id}/feedback", status_code=status.HTTP_201_CREATED, responses=problems(403, 404, 409)
)
def mentorship_feedback(mentorship_id: int, body: FeedbackCreate, write: WriteDep) -> FeedbackRead:
    """Feedback on the mentorship as a whole (e.g. answering a feedback request)."""
    fb = meetings.feedback_on_mentorship(
        write.session, write.user, mentorship_id, rating=body.rating, comment=body.comment, now=write.now
    )
    return write.done(FeedbackRead.model_validate(fb), status_code=201, mentorship_id=mentorship_id)
