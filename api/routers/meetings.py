"""Meetings: propose, confirm or decline, cancel, attendance, feedback, calendar invite."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from api.calendar import meeting_invite
from api.deps import CurrentUser, SessionDep, SettingsDep, WriteDep
from api.problems import problems
from api.schemas.common import OptionalReason
from api.schemas.mentorships import (
    AttendanceWrite,
    FeedbackCreate,
    FeedbackRead,
    MeetingCreate,
    MeetingRead,
)
from models import Meeting, MeetingStatus
from services import catalogue, meetings
from services.access import visible_meeting
from services.errors import Conflict, NotFound
from services.i18n import _

router = APIRouter(tags=["meetings"])
RULES = problems(403, 404, 409, 412)


@router.post(
    "/mentorships/{mentorship_id}/meetings",
    status_code=status.HTTP_201_CREATED,
    responses=problems(403, 404, 409),
)
def propose(mentorship_id: int, body: MeetingCreate, write: WriteDep) -> MeetingRead:
    """The mentee proposes a meeting. The first one is the get-to-know-you meeting; a final
    meeting (``is_final``) needs an approved agreement and, once held, ends the mentorship."""
    meeting = meetings.propose(write.session, write.user, mentorship_id, body.plan(), now=write.now)
    return _done(write, meeting.id, meeting, status_code=201)


@router.post("/meetings/{meeting_id}/confirm", responses=RULES)
def confirm(meeting_id: int, write: WriteDep) -> MeetingRead:
    meeting = meetings.confirm(
        write.session, write.user, meeting_id, now=write.now, expected_version=write.if_match
    )
    return _done(write, meeting_id, meeting)


@router.post("/meetings/{meeting_id}/decline", responses=RULES)
def decline(meeting_id: int, body: OptionalReason, write: WriteDep) -> MeetingRead:
    meeting = meetings.decline(
        write.session,
        write.user,
        meeting_id,
        reason=body.reason,
        now=write.now,
        expected_version=write.if_match,
    )
    return _done(write, meeting_id, meeting)


@router.post("/meetings/{meeting_id}/cancel", responses=RULES)
def cancel(meeting_id: int, body: OptionalReason, write: WriteDep) -> MeetingRead:
    meeting = meetings.cancel(
        write.session,
        write.user,
        meeting_id,
        reason=body.reason,
        now=write.now,
        expected_version=write.if_match,
    )
    return _done(write, meeting_id, meeting)


@router.post("/meetings/{meeting_id}/attendance", responses=RULES)
def attendance(meeting_id: int, body: AttendanceWrite, write: WriteDep) -> MeetingRead:
    """Say whether you took part, once the meeting has started. Both yes → the meeting is held."""
    meeting = meetings.record_attendance(
        write.session,
        write.user,
        meeting_id,
        attended=body.attended,
        now=write.now,
        expected_version=write.if_match,
    )
    return _done(write, meeting_id, meeting)


@router.post(
    "/meetings/{meeting_id}/feedback", status_code=status.HTTP_201_CREATED, responses=problems(403, 404, 409)
)
def feedback(meeting_id: int, body: FeedbackCreate, write: WriteDep) -> FeedbackRead:
    """Rate a meeting you took part in (1–5) and comment; once per meeting."""
    fb = meetings.give_feedback(
        write.session, write.user, meeting_id, rating=body.rating, comment=body.comment, now=write.now
    )
    return write.done(FeedbackRead.model_validate(fb), status_code=201, mentorship_id=fb.mentorship_id)


def _done(write: WriteDep, meeting_id: int, meeting: Meeting, status_code: int = 200) -> MeetingRead:
    _, mentorship = visible_meeting(write.session, meeting_id, write.user)
    return write.done(
        MeetingRead.of(meeting, mentorship), status_code=status_code, mentorship_id=mentorship.id
    )


@router.get("/meetings/{meeting_id}", responses=problems(404))
def get_meeting(meeting_id: int, session: SessionDep, user: CurrentUser) -> MeetingRead:
    meeting, mentorship = visible_meeting(session, meeting_id, user)
    return MeetingRead.of(meeting, mentorship)


@router.get(
    "/meetings/{meeting_id}/calendar.ics",
    responses={
        200: {"content": {"text/calendar": {}}, "description": "An iCalendar invite"},
        **problems(403, 404, 409),
    },
    response_class=Response,
)
def calendar(meeting_id: int, session: SessionDep, user: CurrentUser, settings: SettingsDep) -> Response:
    """An ``.ics`` invite for a confirmed meeting, for participants."""
    meeting, mentorship = visible_meeting(session, meeting_id, user)
    if mentorship.side_of(user.id) is None:
        raise NotFound(_("No such meeting."))
    if meeting.status not in (MeetingStatus.CONFIRMED, MeetingStatus.HELD):
        raise Conflict(_("Only a confirmed meeting has a calendar invite."))
    names = catalogue.names(session, meeting.topics, user.locale)
    body = meeting_invite(meeting, mentorship, base_url=settings.base_url, topic_names=names)
    return Response(
        body,
        media_type="text/calendar",
        headers={"Content-Disposition": f'attachment; filename="meeting-{meeting_id}.ics"'},
    )
