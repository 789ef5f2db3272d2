"""``/portal/meetings/{id}``: one meeting, its answers and its actions (confirm, decline, move,
cancel, confirm participation, give feedback), and its ``.ics`` invite for the signed-in participant."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from api.portal import forms
from api.portal.mentorship import mentorship_page
from api.portal.pages import Portal, PortalRoute, Posting, Reading
from api.portal.views import meeting_view
from models import Meeting, Mentorship
from services import catalogue, meetings
from services.access import visible_meeting
from services.calendar import download
from services.errors import NotFound
from services.i18n import _

router = APIRouter(route_class=PortalRoute)


def _participant_meeting(portal: Portal, meeting_id: int) -> tuple[Meeting, Mentorship]:
    """The meeting, for its two participants only (operators watch, but get no invite)."""
    meeting, mentorship = visible_meeting(portal.session, meeting_id, portal.user)
    if mentorship.side_of(portal.user.id) is None:
        raise NotFound(_("No such meeting."))
    return meeting, mentorship


def meeting_page(portal: Portal, meeting_id: int, *, error: str | None = None, status: int = 200) -> Response:
    meeting, m = visible_meeting(portal.session, meeting_id, portal.user)
    own = [f for f in meetings.feedback_of(portal.session, meeting.id) if f.author_id == portal.user.id]
    view = meeting_view(meeting, m, portal.user.id, portal.now)
    return portal.page(
        "portal/meeting.html",
        status=status,
        error=error,
        m=m,
        view=view,
        meeting=meeting,
        side=m.side_of(portal.user.id),
        other=m.mentor if m.mentee_id == portal.user.id else m.mentee,
        my_feedback=own[0] if own else None,
        can_rate=view.mine is True and not own,
        titles=catalogue.titles(portal.session, portal.reader.language),
        sent=portal.form if error and portal.form is not None else FormData(),
    )


@router.get("/meetings/{meeting_id}", response_class=HTMLResponse)
def show(meeting_id: int, portal: Reading) -> Response:
    return meeting_page(portal, meeting_id)


def _act(portal: Portal, meeting_id: int, change: Callable[[], Meeting], done: str) -> Response:
    """Answer a meeting form on the page it came from (``back``: the meeting or its mentorship)."""
    from_mentorship = forms.text(portal.fields, "back") == "mentorship"

    def act() -> int:
        return change().mentorship_id

    def then(mentorship_id: int) -> str:
        if from_mentorship:
            return f"/portal/mentorships/{mentorship_id}?done={done}#meetings"
        return f"/portal/meetings/{meeting_id}?done={done}"

    def refused(message: str, status: int) -> Response:
        if from_mentorship:
            _, mentorship = _participant_meeting(portal, meeting_id)
            return mentorship_page(portal, mentorship.id, error=message, status=status)
        return meeting_page(portal, meeting_id, error=message, status=status)

    return portal.act(act, then=then, refused=refused)


@router.post("/meetings/{meeting_id}/confirm")
def confirm(meeting_id: int, portal: Posting) -> Response:
    return _act(
        portal,
        meeting_id,
        lambda: meetings.confirm(portal.session, portal.user, meeting_id, now=portal.now),
        "confirmed",
    )


@router.post("/meetings/{meeting_id}/decline")
def decline(meeting_id: int, portal: Posting) -> Response:
    def change() -> Meeting:
        why = forms.reason(portal.fields, portal.reader.language, required=False)
        return meetings.decline(portal.session, portal.user, meeting_id, reason=why, now=portal.now)

    return _act(portal, meeting_id, change, "meeting_declined")


@router.post("/meetings/{meeting_id}/cancel")
def cancel(meeting_id: int, portal: Posting) -> Response:
    def change() -> Meeting:
        why = forms.reason(portal.fields, portal.reader.language, required=False)
        return meetings.cancel(portal.session, portal.user, meeting_id, reason=why, now=portal.now)

    return _act(portal, meeting_id, change, "cancelled")


@router.post("/meetings/{meeting_id}/reschedule")
def reschedule(meeting_id: int, portal: Posting) -> Response:
    def change() -> Meeting:
        move = forms.meeting_move(portal.fields, portal.reader)
        return meetings.reschedule(portal.session, portal.user, meeting_id, move, now=portal.now)

    return _act(portal, meeting_id, change, "rescheduled")


@router.post("/meetings/{meeting_id}/attendance")
def attendance(meeting_id: int, portal: Posting) -> Response:
    def change() -> Meeting:
        attended = forms.text(portal.fields, "attended") == "yes"
        return meetings.record_attendance(
            portal.session, portal.user, meeting_id, attended=attended, now=portal.now
        )

    return _act(portal, meeting_id, change, "attendance")


@router.post("/meetings/{meeting_id}/rating")
def rate(meeting_id: int, portal: Posting) -> Response:
    """Feedback on a meeting one took part in (the signed mail link has its own form)."""

    def act() -> int:
        answer = forms.feedback(portal.fields, portal.reader.language)
        fb = meetings.give_feedback(
            portal.session,
            portal.user,
            meeting_id,
            rating=answer.rating,
            comment=answer.comment,
            now=portal.now,
        )
        return fb.mentorship_id

    def refused(message: str, status: int) -> Response:
        return meeting_page(portal, meeting_id, error=message, status=status)

    return portal.act(act, then=f"/portal/meetings/{meeting_id}?done=feedback", refused=refused)


@router.get("/meetings/{meeting_id}/calendar.ics")
def calendar(meeting_id: int, portal: Reading) -> Response:
    """The cookie twin of ``/api/meetings/{id}/calendar.ics``."""
    meeting, mentorship = _participant_meeting(portal, meeting_id)
    settings = portal.settings
    body = download(
        portal.session,
        meeting,
        portal.user,
        organizer=settings.mail_from,
        base_url=settings.base_url,
        now=portal.now,
    )
    return Response(
        body,
        media_type="text/calendar",
        headers={"Content-Disposition": f'attachment; filename="meeting-{meeting_id}.ics"'},
    )
