"""Accounts, roles, profiles and the mentor directory."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from zoneinfo import available_timezones

from babel.core import get_global
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import OPEN_STAGES, Mentorship, Profile, Role, User, UserRole
from services import sign_ins
from services.errors import Conflict, Forbidden, Invalid, NotFound
from services.i18n import SUPPORTED_LOCALES, _
from services.passwords import hash_password, needs_rehash, verify_password

MIN_PASSWORD_LENGTH = 8
#: The hash of an account without a password (invited, or reset by an operator): none verifies.
NO_PASSWORD = "!"  # noqa: S105 - not a password: a hash that no password matches


@lru_cache
def _dummy_hash() -> str:
    """A real hash of a throwaway password: verifying against it costs as much as a real
    login, so an unknown email and a wrong password take the same time."""
    return hash_password("not-a-real-password")


def normalize_email(email: str) -> str:
    return email.strip().lower()


def create_user(
    session: Session,
    *,
    email: str,
    password: str | None,
    display_name: str,
    roles: list[Role],
    now: datetime,
) -> User:
    user = User(
        email=normalize_email(email),
        password_hash=hash_password(password) if password is not None else NO_PASSWORD,
        display_name=display_name.strip(),
        created_at=now,
        roles=[UserRole(role=role.value) for role in dict.fromkeys(roles)],
        profile=Profile(updated_at=now),
    )
    session.add(user)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict(_("A user with this email already exists.")) from None
    return user


def awaits_password(user: User) -> bool:
    """Invited, or reset by an operator: no password signs in until they choose one."""
    return user.password_hash == NO_PASSWORD


def authenticate(session: Session, email: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.email == normalize_email(email)))
    if user is None or user.deactivated_at is not None:
        verify_password(_dummy_hash(), password)  # as slow as a real check: nothing to tell apart
        return None
    if not verify_password(user.password_hash, password):
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def adopt_browser_language(user: User, language: str) -> bool:
    """Keep the browser's language (``en``/``de``) as the person's own at sign-in, unless they
    chose one: pages follow the browser, and without this their mails, invites and
    certificates would stay English. An explicit choice is never touched. True if it changed."""
    if user.locale or language not in SUPPORTED_LOCALES:
        return False
    user.locale = language
    return True


def confirm_password(user: User, password: str, *, field: str = "password") -> None:
    """A step that needs the person's password again (a change of it, erasure)."""
    if not verify_password(user.password_hash, password):
        raise Invalid(_("That is not your current password."), loc=("body", field))


def change_password(session: Session, user: User, *, current: str, new: str) -> None:
    """Set a new password for ``user``, who must know the current one (the caller ends their
    sign-ins: ``services.sign_ins.end_all``)."""
    confirm_password(user, current, field="current_password")
    check_new_password(new, field="new_password")
    user.password_hash = hash_password(new)


def check_new_password(password: str, *, field: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(
            _("A password needs at least {count} characters."), loc=("body", field), count=MIN_PASSWORD_LENGTH
        )


def find_user(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == normalize_email(email)))


def get_user(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def deactivate(session: Session, operator: User, user_id: int, *, now: datetime) -> User:
    """An operator stops a person: their sign-ins end at once and they cannot sign in again
    until reactivated. Their mentorships, certificates and history stay as they are."""
    user = someone_else(session, operator, user_id)
    if user.deactivated_at is None:
        user.deactivated_at = now
    sign_ins.end_all(session, user.id, now=now)
    return user


def reactivate(session: Session, operator: User, user_id: int) -> User:
    user = someone_else(session, operator, user_id)
    if user.erased_at is not None:
        raise Conflict(_("This person's data was erased; they cannot come back."))
    user.deactivated_at = None
    return user


def someone_else(session: Session, operator: User, user_id: int) -> User:
    """The person an operator acts on (deactivate, reactivate, erase): never themself."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(_("No such user."))
    if user.id == operator.id:
        raise Conflict(_("Operators cannot do this to their own account."))
    return user


def require_role(user: User, role: Role) -> None:
    if not user.has_role(role):
        raise Forbidden(_("This needs the {role} role."), role=role.value)


@dataclass(frozen=True)
class ProfileUpdate:
    bio: str | None = None
    locale: str | None = None  # one of SUPPORTED_LOCALES; "" until a choice or a first sign-in
    timezone: str | None = None  # an IANA zone, e.g. "Europe/Berlin"
    mentee_goals: str | None = None
    mentee_topics: list[str] | None = None
    mentor_offer: str | None = None
    mentor_topics: list[str] | None = None
    mentor_capacity: int | None = None


def update_profile(session: Session, user: User, change: ProfileUpdate, *, now: datetime) -> Profile:
    """Change the given fields; mentee and mentor parts only for people with that role."""
    mentee_part = (change.mentee_goals, change.mentee_topics)
    mentor_part = (change.mentor_offer, change.mentor_topics, change.mentor_capacity)
    if any(v is not None for v in mentee_part):
        require_role(user, Role.MENTEE)
    if any(v is not None for v in mentor_part):
        require_role(user, Role.MENTOR)
    if change.locale is not None:
        if change.locale not in ("", *SUPPORTED_LOCALES):
            raise Invalid(_("Choose English or German."), loc=("body", "locale"))
        user.locale = change.locale
    if change.timezone is not None:
        if change.timezone not in time_zones():
            raise Invalid(_("This is not a time zone we know."), loc=("body", "timezone"))
        user.timezone = change.timezone
    profile = user.profile
    for field in ProfileUpdate.__dataclass_fields__:
        value = getattr(change, field)
        if value is not None and field not in ("locale", "timezone"):
            setattr(profile, field, value)
    profile.updated_at = now
    session.flush()
    return profile


@lru_cache
def time_zones() -> frozenset[str]:
    """The IANA zones this machine knows (``zoneinfo``): any of them is a valid choice."""
    return frozenset(available_timezones())


@lru_cache
def zone_choices() -> tuple[str, ...]:
    """The zones a person picks from, sorted: each place once by its current name (no
    ``Asia/Calcutta`` beside ``Asia/Kolkata``, as CLDR's aliases say), no legacy names
    (``US/…``, ``Etc/…``, ``SystemV/…``, ``Factory``, ``localtime``), and UTC."""
    aliases = get_global("zone_aliases")
    legacy = ("Etc/", "SystemV/", "US/")
    current = {z for z in time_zones() if "/" in z and z not in aliases and not z.startswith(legacy)}
    return tuple(sorted(current | {"UTC"}))


def zone_choices_with(own: str) -> tuple[str, ...]:
    """The choices, with ``own`` among them even if it is an old name (it stays selectable)."""
    choices = zone_choices()
    return choices if own in choices else tuple(sorted({*choices, own}))


def open_mentorship_counts(session: Session, mentor_ids: list[int] | None = None) -> dict[int, int]:
    query = (
        select(Mentorship.mentor_id, func.count())
        .where(Mentorship.stage.in_(OPEN_STAGES))
        .group_by(Mentorship.mentor_id)
    )
    if mentor_ids is not None:
        query = query.where(Mentorship.mentor_id.in_(mentor_ids))
    return dict(session.execute(query).tuples().all())


def free_capacity(session: Session, mentor: User) -> int:
    taken = open_mentorship_counts(session, [mentor.id]).get(mentor.id, 0)
    return max(0, mentor.profile.mentor_capacity - taken)


@dataclass(frozen=True)
class MentorListing:
    user: User
    free_capacity: int


@dataclass(frozen=True)
class DirectoryPage:
    entries: list[MentorListing]
    total: int  # mentors that match, on every page


def mentor_directory(session: Session, *, topic: str | None = None) -> list[MentorListing]:
    """Every mentor (offering ``topic``, if given), by name, with their free places."""
    return _listings(session, _mentor_ids(session, topic))


def mentor_directory_page(
    session: Session, *, topic: str | None, offset: int, limit: int, leaving_out: int | None = None
) -> DirectoryPage:
    """One page of the directory; only the page's mentors are loaded (a program's thousand
    mentors on one page took most of a second to build)."""
    ids = [i for i in _mentor_ids(session, topic) if i != leaving_out]
    return DirectoryPage(_listings(session, ids[offset : offset + limit]), len(ids))


def _mentor_ids(session: Session, topic: str | None) -> list[int]:
    """The mentors' ids by name, of those offering ``topic`` (compared without case)."""
    rows = session.execute(
        select(User.id, Profile.mentor_topics)
        .join(UserRole, UserRole.user_id == User.id)
        .outerjoin(Profile, Profile.user_id == User.id)
        .where(UserRole.role == Role.MENTOR.value)
        .order_by(User.display_name, User.id)
    ).tuples()
    if not topic:
        return [user_id for user_id, _topics in rows]
    wanted = topic.strip().casefold()
    return [user_id for user_id, topics in rows if wanted in {t.casefold() for t in topics or ()}]


def _listings(session: Session, ids: list[int]) -> list[MentorListing]:
    if not ids:
        return []
    by_id = {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))}
    taken = open_mentorship_counts(session, ids)
    return [MentorListing(by_id[i], max(0, by_id[i].profile.mentor_capacity - taken.get(i, 0))) for i in ids]


def mentor_or_404(session: Session, mentor_id: int) -> User:
    mentor = session.get(User, mentor_id)
    if mentor is None or not mentor.has_role(Role.MENTOR):
        raise NotFound(_("No mentor with id {id}."), id=mentor_id)
    return mentor
