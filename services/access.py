"""Who may see and act on a mentorship: its two participants act, operators watch.

Someone who is neither gets "not found", so the existence of other pairs does not leak.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, defaultload

from models import Meeting, Mentorship, Role, User
from services.errors import Forbidden, NotFound, PreconditionFailed
from services.i18n import _


def load_mentorship(session: Session, mentorship_id: int, *, lock: bool = False) -> Mentorship | None:
    """The mentorship with its two participants; their roles and profiles load only if used
    (most requests need neither: four statements fewer on a plain read)."""
    query = (
        select(Mentorship)
        .where(Mentorship.id == mentorship_id)
        .options(
            *(
                defaultload(side).lazyload(attribute)
                for side in (Mentorship.mentee, Mentorship.mentor)
                for attribute in (User.roles, User.profile)
            )
        )
    )
    if lock:
        query = query.with_for_update(of=Mentorship).execution_options(populate_existing=True)
    return session.scalars(query).unique().one_or_none()


def require_operator(user: User) -> User:
    """The program's pages and figures are for its operators."""
    if not user.has_role(Role.OPERATOR):
        raise Forbidden(_("This is for program operators."))
    return user


def can_watch(user: User, mentorship: Mentorship) -> bool:
    return mentorship.side_of(user.id) is not None or user.has_role(Role.OPERATOR)


def visible_mentorship(session: Session, mentorship_id: int, viewer: User) -> Mentorship:
    mentorship = load_mentorship(session, mentorship_id)
    if mentorship is None or not can_watch(viewer, mentorship):
        raise NotFound(_("No such mentorship."))
    return mentorship


def mentorship_to_act_on(session: Session, mentorship_id: int, actor: User) -> Mentorship:
    """The mentorship, row-locked for the rest of the transaction, if ``actor`` takes part in it.

    The lock serializes every write to one mentorship (PostgreSQL ``FOR UPDATE``; SQLite
    transactions begin IMMEDIATE), so two conflicting requests see each other's outcome.
    """
    mentorship = load_mentorship(session, mentorship_id, lock=True)
    if mentorship is None or not can_watch(actor, mentorship):
        raise NotFound(_("No such mentorship."))
    if mentorship.side_of(actor.id) is None:
        raise Forbidden(_("Operators watch mentorships; only its participants act on it."))
    return mentorship


def meeting_mentorship_id(session: Session, meeting_id: int) -> int:
    found = session.scalar(select(Meeting.mentorship_id).where(Meeting.id == meeting_id))
    if found is None:
        raise NotFound(_("No such meeting."))
    return found


def visible_meeting(session: Session, meeting_id: int, viewer: User) -> tuple[Meeting, Mentorship]:
    mentorship = visible_mentorship(session, meeting_mentorship_id(session, meeting_id), viewer)
    meeting = session.get_one(Meeting, meeting_id)
    return meeting, mentorship


def meeting_to_act_on(session: Session, meeting_id: int, actor: User) -> tuple[Meeting, Mentorship]:
    try:
        mentorship = mentorship_to_act_on(session, meeting_mentorship_id(session, meeting_id), actor)
    except NotFound:
        raise NotFound(_("No such meeting.")) from None
    meeting = session.scalars(
        select(Meeting)
        .where(Meeting.id == meeting_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    return meeting, mentorship


def check_version(current: int, expected: int | None) -> None:
    """``If-Match``: refuse a write based on a stale read."""
    if expected is not None and expected != current:
        raise PreconditionFailed(
            _("This was changed meanwhile (version {current}, you sent {expected}). Reload and try again."),
            current=current,
            expected=expected,
        )
