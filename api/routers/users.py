"""Users, own profile, mentor directory, topics; own achievements, activity, notifications."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from api.deps import CurrentUser, Now, Operator, SessionDep, SettingsDep, Throttle, WriteDep, client_address
from api.i18n import Language
from api.problems import problems
from api.schemas.users import (
    AchievementRead,
    AchievementSummaryRead,
    ErasureRequest,
    EventRead,
    Invitation,
    MentorRead,
    NotificationRead,
    ProfileUpdate,
    ReadAll,
    TopicRead,
    UserCreate,
    UserRead,
)
from models import User
from services import achievements, catalogue, notices, people, personal_data, reports, users
from services.access import visible_mentorship
from services.errors import NotFound
from services.i18n import _
from tasks.certificate_renderer import certificate_renderer
from tasks.mail import enqueue_password_link

router = APIRouter(tags=["users"])


@router.post("/users", status_code=status.HTTP_201_CREATED, responses=problems(403, 409))
def create_user(body: UserCreate, operator: Operator, write: WriteDep) -> UserRead:
    """Operators add participants and other operators (in the audit log)."""
    user = people.create(
        write.session,
        operator,
        email=body.email,
        password=body.password,
        display_name=body.display_name,
        roles=body.roles,
        now=write.now,
    )
    return write.done(UserRead.of(user), status_code=201)


@router.post("/admin/users/{user_id}/deactivate", responses=problems(403, 404, 409))
def deactivate_user(user_id: int, operator: Operator, write: WriteDep) -> UserRead:
    """Stop a person: every sign-in of theirs ends at once, and they cannot sign in again
    until reactivated. Their mentorships, certificates and history stay."""
    user = people.deactivate(write.session, operator, user_id, now=write.now)
    return write.done(UserRead.of(user))


@router.post("/admin/users/{user_id}/reactivate", responses=problems(403, 404, 409))
def reactivate_user(user_id: int, operator: Operator, write: WriteDep) -> UserRead:
    """Let a deactivated person sign in again (with their password; old sessions stay ended)."""
    user = people.reactivate(write.session, operator, user_id, now=write.now)
    return write.done(UserRead.of(user))


@router.post("/admin/invitations", status_code=status.HTTP_201_CREATED, responses=problems(403, 409))
def invite(body: Invitation, operator: Operator, write: WriteDep, settings: SettingsDep) -> UserRead:
    """Create a participant (or operator) without a password and mail them a link to choose
    one (seven days, once)."""
    user = people.invite(
        write.session,
        operator,
        email=body.email,
        display_name=body.display_name,
        roles=body.roles,
        now=write.now,
    )
    enqueue_password_link(write.session, user, "invitation", settings=settings, now=write.now)
    return write.done(UserRead.of(user), status_code=201)


@router.post("/admin/users/{user_id}/reset-password", responses=problems(403, 404, 409))
def reset_password(user_id: int, operator: Operator, write: WriteDep, settings: SettingsDep) -> UserRead:
    """The person's password stops working and every sign-in of theirs ends at once; they get
    a mail with a link to choose a new one (two hours, once)."""
    user = people.reset_password(write.session, operator, user_id, now=write.now)
    enqueue_password_link(write.session, user, "reset", settings=settings, now=write.now)
    return write.done(UserRead.of(user))


@router.post("/admin/users/{user_id}/erase", responses=problems(403, 404, 409))
def erase_user(user_id: int, operator: Operator, write: WriteDep, settings: SettingsDep) -> UserRead:
    """Erase a person's data on their request (see ``GET /api/me/export`` first): what only
    they wrote or what identifies them goes; the shared record of their mentorships stays (the
    other participant's certificate no longer names them)."""
    render = certificate_renderer(settings.base_url)
    user = people.erase(write.session, operator, user_id, now=write.now, render=render)
    return write.done(UserRead.of(user))


@router.get("/me/export", responses=problems())
def export_my_data(user: CurrentUser, session: SessionDep, now: Now) -> JSONResponse:
    """Everything stored about you, or written by you, as one JSON file."""
    return my_data_file(session, user, now=now)


def my_data_file(session: Session, user: User, *, now: datetime) -> JSONResponse:
    """The export as a download (the API's and the portal's)."""
    body = jsonable_encoder(personal_data.export(session, user, now=now))
    disposition = f'attachment; filename="mentorflow-my-data-{now:%Y-%m-%d}.json"'
    return JSONResponse(body, headers={"Content-Disposition": disposition, "Cache-Control": "no-store"})


@router.post("/me/erase", status_code=204, responses=problems(409, 422, 429))
def erase_my_data(
    request: Request,
    body: ErasureRequest,
    user: CurrentUser,
    session: SessionDep,
    throttle: Throttle,
    now: Now,
    settings: SettingsDep,
) -> Response:
    """Erase your data (your password confirms it): you are signed out everywhere, and what
    only you wrote or what identifies you is gone. Not while a mentorship is under way."""
    throttle.attempt(user.email, client_address(request))
    users.confirm_password(user, body.password)
    personal_data.erase(session, user, now=now, render=certificate_renderer(settings.base_url))
    session.commit()
    return Response(status_code=204)


@router.get("/me", responses=problems())
def me(user: CurrentUser) -> UserRead:
    return UserRead.of(user)


@router.put("/me/profile", responses=problems(403, 422))
def update_profile(body: ProfileUpdate, write: WriteDep) -> UserRead:
    """Change the bio, the language and time zone (pages, mails, calendar invites and
    certificates use them), the mentee part (goals, topics) or the mentor part (offer,
    topics, capacity)."""
    users.update_profile(write.session, write.user, body.change(), now=write.now)
    return write.done(UserRead.of(write.user))


@router.get("/mentors", responses=problems())
def mentors(
    session: SessionDep,
    _user: CurrentUser,
    topic: Annotated[str | None, Query(max_length=100)] = None,
) -> list[MentorRead]:
    """The mentor directory, optionally by topic, with each mentor's free capacity."""
    return [
        MentorRead(
            id=e.user.id,
            display_name=e.user.display_name,
            bio=e.user.profile.bio,
            offer=e.user.profile.mentor_offer,
            topics=e.user.profile.mentor_topics,
            capacity=e.user.profile.mentor_capacity,
            free_capacity=e.free_capacity,
        )
        for e in users.mentor_directory(session, topic=topic)
    ]


@router.get("/topics", responses=problems(404))
def topics(
    session: SessionDep,
    user: CurrentUser,
    language: Language,
    mentorship_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> list[TopicRead]:
    """Suggested topics, each with questions a pair may discuss, in the reader's language
    (``Accept-Language``: English or German). With ``mentorship_id`` (one you take part in or
    watch), the topics that fit that pair come first, each saying why in ``matches``."""
    if mentorship_id is None:
        found = catalogue.topics(session, language)
    else:
        found = catalogue.for_mentorship(session, visible_mentorship(session, mentorship_id, user), language)
    return [
        TopicRead(
            slug=t.slug,
            title=t.title,
            description=t.description,
            questions=[q.text for q in t.questions],
            matches=list(t.matches),
        )
        for t in found
    ]


@router.get("/me/achievements", responses=problems())
def my_achievements(session: SessionDep, user: CurrentUser) -> list[AchievementRead]:
    return [AchievementRead.model_validate(a) for a in notices.achievements_of(session, user.id)]


@router.get("/me/achievements/summary", responses=problems())
def my_achievement_summary(session: SessionDep, user: CurrentUser) -> AchievementSummaryRead:
    """Your achievements grouped: every milestone (reached in how many mentorships) and how
    often you did each activity."""
    return AchievementSummaryRead.of(achievements.summary(session, user.id))


@router.get("/me/activity", responses=problems())
def my_activity(session: SessionDep, user: CurrentUser) -> list[EventRead]:
    """What happened in your mentorships, newest first."""
    return [EventRead.model_validate(e) for e in reports.activity_of(session, user)]


@router.get("/me/notifications", responses=problems())
def my_notifications(session: SessionDep, user: CurrentUser) -> list[NotificationRead]:
    return [NotificationRead.model_validate(n) for n in notices.notifications_of(session, user.id)]


@router.post("/me/notifications/read", responses=problems())
def read_all_notifications(write: WriteDep) -> ReadAll:
    """Mark every notification read."""
    return write.done(ReadAll(marked_read=notices.mark_all_read(write.session, write.user.id, now=write.now)))


@router.post("/me/notifications/{notification_id}/read", responses=problems(404))
def read_notification(notification_id: int, write: WriteDep) -> NotificationRead:
    found = notices.mark_read(write.session, write.user.id, notification_id, now=write.now)
    if found is None:
        raise NotFound(_("No such notification."))
    return write.done(NotificationRead.model_validate(found))
