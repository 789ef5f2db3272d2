"""The dashboard with notifications and achievements, and the mentor directory."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from api.portal import forms
from api.portal.notifications import notice_rows
from api.portal.pages import Portal, PortalRoute, Posting, Reading, is_participant, page_link, pages_of
from api.portal.texts import ACHIEVEMENTS, OTHER_ACHIEVEMENT, say
from api.portal.views import next_step
from models import Role
from services import catalogue, mentorships, notices, users
from services.progress import snapshots, waiting_for

router = APIRouter(route_class=PortalRoute)
DASHBOARD_NOTICES = 5  # the newest few; /portal/notifications has them all


@router.get("", response_class=HTMLResponse)
def dashboard(portal: Reading) -> Response:
    if portal.user.has_role(Role.OPERATOR) and not is_participant(portal.user):
        return RedirectResponse("/portal/program", status_code=303)  # an operator's start page
    return dashboard_page(portal)


def dashboard_page(portal: Portal, *, error: str | None = None, status: int = 200) -> Response:
    user, reader = portal.user, portal.reader
    rows = [
        {
            "mentorship": snap.mentorship,
            "other": snap.mentorship.mentor
            if snap.mentorship.mentee_id == user.id
            else snap.mentorship.mentee,
            "side": snap.mentorship.side_of(user.id),
            "next": next_step(waiting_for(snap, portal.now), snap.mentorship, user, reader),
            "meeting": snap.next_meeting(portal.now),
            "agreement": snap.current_agreement,
            "held": snap.regular_meetings_held,
            "period": snap.period(portal.now, reader.zone),
        }
        for snap in snapshots(portal.session, mentorships.mentorships_of(portal.session, user))
    ]
    news = notice_rows(portal, limit=DASHBOARD_NOTICES)
    earned = [
        (a, say(ACHIEVEMENTS.get(a.kind, OTHER_ACHIEVEMENT), reader.language, **a.params))
        for a in notices.achievements_of(portal.session, user.id)
    ]
    return portal.page(
        "portal/dashboard.html", status=status, error=error, rows=rows, news=news, earned=earned
    )


#: Mentors on one page of the directory.
MENTORS_PER_PAGE = 20


def mentors_page(
    portal: Portal, *, topic: str, page: int = 1, error: str | None = None, status: int = 200
) -> Response:
    topics = catalogue.topics(portal.session, portal.reader.language)
    found = users.mentor_directory_page(
        portal.session,
        topic=topic or None,
        offset=(page - 1) * MENTORS_PER_PAGE,
        limit=MENTORS_PER_PAGE,
        leaving_out=portal.user.id,
    )
    return portal.page(
        "portal/mentors.html",
        status=status,
        error=error,
        topic=topic,
        topics=topics,
        titles=catalogue.titles(portal.session, portal.reader.language),
        mentors=found.entries,
        total=found.total,
        page=page,
        pages=pages_of(found.total, MENTORS_PER_PAGE),
        link=page_link("/portal/mentors", {"topic": topic}),
        can_request=portal.user.has_role(Role.MENTEE),
        sent=portal.form if portal.form is not None else FormData(),
    )


@router.get("/mentors", response_class=HTMLResponse)
def mentors(
    portal: Reading,
    topic: Annotated[str, Query(max_length=100)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    return mentors_page(portal, topic=topic.strip(), page=page)


@router.post("/mentors/{mentor_id}/request")
def request_mentorship(mentor_id: int, portal: Posting) -> Response:
    def send() -> int:
        message = forms.message(portal.fields, portal.reader.language)
        m = mentorships.request_mentorship(
            portal.session, portal.user, mentor_id=mentor_id, message=message, now=portal.now
        )
        return m.id

    def refused(message: str, status: int) -> Response:
        return mentors_page(portal, topic=forms.text(portal.fields, "topic"), error=message, status=status)

    return portal.act(send, then=lambda mid: f"/portal/mentorships/{mid}?done=requested", refused=refused)
