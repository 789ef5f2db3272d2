"""Operators' work on people: the list of everyone, inviting or creating a person, their roles,
deactivating and reactivating, a password reset, an erasure. Each action is written to the
audit log in its own transaction (``services.audit``), by whichever door it came through
(API, portal, command line with an operator)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from models import OPEN_STAGES, Mentorship, Role, User, UserRole
from services import audit, password_links, personal_data, users
from services.audit import Action
from services.certificates import RenderCertificate
from services.errors import Conflict, Invalid
from services.i18n import _
from services.search import contains

PER_PAGE = 50


@dataclass(frozen=True)
class PeoplePage:
    people: list[User]
    total: int


def people(
    session: Session, *, search: str = "", role: str | None = None, offset: int = 0, limit: int = PER_PAGE
) -> PeoplePage:
    """Everyone but erased placeholders, by name; ``search`` is part of a name or address."""
    query = select(User).where(User.erased_at.is_(None))
    if search.strip():
        query = query.where(or_(contains(User.display_name, search), contains(User.email, search)))
    if role:
        query = query.where(User.id.in_(select(UserRole.user_id).where(UserRole.role == role)))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    found = session.scalars(
        query.order_by(func.lower(User.display_name), User.id).offset(offset).limit(limit)
    )
    return PeoplePage(list(found), total)


def invite(
    session: Session, operator: User, *, email: str, display_name: str, roles: list[Role], now: datetime
) -> User:
    """A new person without a password; the caller mails them the link to choose one."""
    user = users.create_user(
        session, email=email, password=None, display_name=display_name, roles=roles, now=now
    )
    audit.record(session, operator, Action.INVITE, subject=user, details={"roles": _codes(roles)}, now=now)
    return user


def create(
    session: Session,
    operator: User,
    *,
    email: str,
    password: str,
    display_name: str,
    roles: list[Role],
    now: datetime,
) -> User:
    user = users.create_user(
        session, email=email, password=password, display_name=display_name, roles=roles, now=now
    )
    audit.record(session, operator, Action.CREATE, subject=user, details={"roles": _codes(roles)}, now=now)
    return user


def set_roles(session: Session, operator: User, user_id: int, roles: list[Role], *, now: datetime) -> User:
    """Give a person exactly ``roles``. Not one's own (an operator cannot lock themself out,
    so one always stays); not a role the person holds in a mentorship under way."""
    user = users.someone_else(session, operator, user_id)
    if user.erased_at is not None:
        raise Conflict(_("This person's data was erased; they cannot come back."))
    wanted = set(_codes(roles))
    if not wanted:
        raise Invalid(_("Give at least one role."), loc=("body", "roles"))
    for role, column in ((Role.MENTEE, Mentorship.mentee_id), (Role.MENTOR, Mentorship.mentor_id)):
        if role.value in user.role_names - wanted and _takes_part_as(session, column, user.id):
            raise Conflict(
                _("{name} takes part as {role} in a mentorship under way; that role stays until it ends."),
                name=user.display_name,
                role=role.value,
            )
    before = sorted(user.role_names)
    if set(before) == wanted:
        return user
    user.roles = [UserRole(role=code) for code in sorted(wanted)]
    session.flush()
    audit.record(
        session,
        operator,
        Action.SET_ROLES,
        subject=user,
        details={"from": before, "to": sorted(wanted)},
        now=now,
    )
    return user


def deactivate(session: Session, operator: User, user_id: int, *, now: datetime) -> User:
    user = users.deactivate(session, operator, user_id, now=now)
    audit.record(session, operator, Action.DEACTIVATE, subject=user, now=now)
    return user


def reactivate(session: Session, operator: User, user_id: int, *, now: datetime) -> User:
    user = users.reactivate(session, operator, user_id)
    audit.record(session, operator, Action.REACTIVATE, subject=user, now=now)
    return user


def reset_password(session: Session, operator: User, user_id: int, *, now: datetime) -> User:
    """The person's password stops working and their sign-ins end; the caller mails the link."""
    user = users.someone_else(session, operator, user_id)
    password_links.reset_by_operator(session, user, now=now)
    audit.record(session, operator, Action.RESET_PASSWORD, subject=user, now=now)
    return user


def erase(
    session: Session, operator: User, user_id: int, *, now: datetime, render: RenderCertificate
) -> User:
    user = users.someone_else(session, operator, user_id)
    personal_data.erase(session, user, now=now, render=render)
    audit.record(session, operator, Action.ERASE, subject=user, now=now)
    return user


def _takes_part_as(session: Session, side: InstrumentedAttribute[int], user_id: int) -> bool:
    found = session.scalar(select(func.count()).where(side == user_id, Mentorship.stage.in_(OPEN_STAGES)))
    return bool(found)


def _codes(roles: list[Role] | list[str]) -> list[str]:
    return sorted({Role(r).value for r in roles})
