"""Certificates of participation: the facts they state, and storing each one exactly once.

Issuing one takes three steps, because the PDF prints its own verification code:

    code = new_verification_code()
    facts = certificate_facts(session, mentorship_id, user_id)
    pdf = render_certificate_pdf(facts, f"{base_url}/verify/{code}")      # tasks/
    store_certificate(session, mentorship_id=..., user_id=..., role=facts.holder_role,
                      verification_code=code, pdf=pdf, facts=facts, now=now)

``store_certificate`` keeps the first certificate of a participant: a second call, or a
concurrent one, gets that certificate back and its own code and PDF are dropped.

A stored PDF changes only when the other participant is erased: ``reissue_without_other``
renders it again without their name (same code, issue date, holder and period).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, computed_field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, defer

from models import (
    Certificate,
    Meeting,
    MeetingStatus,
    Mentorship,
)
from services import catalogue
from services.errors import NotFound
from services.i18n import _
from services.program import program_of

Side = Literal["mentee", "mentor"]

#: Renders a certificate's PDF from its facts, verification code and issue date. The caller
#: gives it (``tasks.certificate`` renders); the rules here render nothing themselves.
RenderCertificate = Callable[["CertificateFacts", str, date], bytes]

#: What the public verify page may show, and all that ``Certificate.summary`` holds.
SUMMARY_FIELDS = ("holder_name", "role", "period_start", "period_end", "meetings_held")


class HeldMeeting(BaseModel):
    model_config = ConfigDict(frozen=True)

    held_on: date  # the meeting's start date in the holder's time zone
    topics: tuple[str, ...] = ()


class CertificateFacts(BaseModel):
    """What one participant's certificate states; small and serializable for tasks."""

    model_config = ConfigDict(frozen=True)

    mentorship_id: int
    holder_id: int
    holder_name: str
    holder_role: Side
    holder_locale: str
    other_name: str  # "" once the other participant was erased: the PDF then names nobody
    other_role: Side
    period_start: date
    period_end: date
    meetings: tuple[HeldMeeting, ...]
    topics: tuple[str, ...]
    program_name: str = ""  # "" until operators name the program

    @computed_field  # type: ignore[prop-decorator]
    @property
    def meetings_held(self) -> int:
        return len(self.meetings)


def certificate_facts(session: Session, mentorship_id: int, user_id: int) -> CertificateFacts:
    """The facts for ``user_id``'s certificate of ``mentorship_id``, read from the database.

    What happened, not what was planned. Period: from the mentor's acceptance to the
    completion (while closing: the final meeting).
    Topics: those of the held meetings, in order, without duplicates; a topic the agreement
    planned but no meeting had is not "covered". Catalogue topics are shown by their title in
    the holder's language.
    """
    mentorship = session.get(Mentorship, mentorship_id)
    side = mentorship.side_of(user_id) if mentorship is not None else None
    if mentorship is None or side is None:
        raise NotFound(_("No such mentorship."))
    role: Side = "mentee" if side == "mentee" else "mentor"
    holder, other = (
        (mentorship.mentee, mentorship.mentor) if role == "mentee" else (mentorship.mentor, mentorship.mentee)
    )
    zone = _zone(holder.timezone)
    held = session.scalars(
        select(Meeting)
        .where(Meeting.mentorship_id == mentorship_id, Meeting.status == MeetingStatus.HELD)
        .order_by(Meeting.starts_at, Meeting.id)
    ).all()
    name = catalogue.name_of(session, holder.locale)
    meetings = tuple(
        HeldMeeting(
            held_on=m.starts_at.astimezone(zone).date(),
            topics=_unique(map(name, m.topics)),
        )
        for m in held
    )
    start, end = _period(mentorship, [m.held_on for m in meetings], zone)
    return CertificateFacts(
        mentorship_id=mentorship_id,
        holder_id=holder.id,
        holder_name=holder.display_name,
        holder_role=role,
        holder_locale=holder.locale,
        other_name=other.display_name,
        other_role="mentor" if role == "mentee" else "mentee",
        period_start=start,
        period_end=end,
        meetings=meetings,
        topics=_unique(t for m in meetings for t in m.topics),
        program_name=program_of(session).name,
    )


def new_verification_code() -> str:
    """16 URL-safe characters (96 random bits)."""
    return secrets.token_urlsafe(12)


def certificate_summary(facts: CertificateFacts) -> dict[str, Any]:
    """The public part of a certificate: exactly ``SUMMARY_FIELDS``."""
    return {
        "holder_name": facts.holder_name,
        "role": facts.holder_role,
        "period_start": facts.period_start.isoformat(),
        "period_end": facts.period_end.isoformat(),
        "meetings_held": facts.meetings_held,
    }


def store_certificate(
    session: Session,
    *,
    mentorship_id: int,
    user_id: int,
    role: Side,
    verification_code: str,
    pdf: bytes,
    facts: CertificateFacts,
    now: datetime,
) -> Certificate:
    """Store the participant's certificate once; if one exists, return it unchanged."""
    existing = certificate_for(session, mentorship_id, user_id)
    if existing is not None:
        return existing
    if (facts.mentorship_id, facts.holder_id, facts.holder_role) != (mentorship_id, user_id, role):
        raise ValueError("certificate facts belong to another participant or role")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    certificate = Certificate(
        mentorship_id=mentorship_id,
        user_id=user_id,
        role=role,
        verification_code=verification_code,
        issued_at=now.astimezone(UTC),
        pdf=pdf,
        sha256=hashlib.sha256(pdf).hexdigest(),
        summary=certificate_summary(facts),
        notes="",
    )
    try:
        with session.begin_nested():
            session.add(certificate)
    except IntegrityError:
        # Someone stored this participant's certificate since we looked: keep theirs.
        existing = certificate_for(session, mentorship_id, user_id)
        if existing is None:
            raise
        return existing
    return certificate


def reissue_without_other(session: Session, certificate: Certificate, render: RenderCertificate) -> None:
    """Render ``certificate`` again without the other participant's name (they were erased).

    It stays the same document otherwise: its verification code, issue date, holder and period
    are those it was issued with (the summary keeps them), its meetings and topics those held.
    """
    facts = certificate_facts(session, certificate.mentorship_id, certificate.user_id)
    summary = certificate.summary
    facts = facts.model_copy(
        update={
            "other_name": "",
            "holder_name": summary.get("holder_name", facts.holder_name),
            "period_start": date.fromisoformat(summary.get("period_start", facts.period_start.isoformat())),
            "period_end": date.fromisoformat(summary.get("period_end", facts.period_end.isoformat())),
        }
    )
    pdf = render(facts, certificate.verification_code, certificate.issued_at.date())
    certificate.pdf = pdf
    certificate.sha256 = hashlib.sha256(pdf).hexdigest()


def certificate_for(session: Session, mentorship_id: int, user_id: int) -> Certificate | None:
    return session.scalars(
        select(Certificate).where(Certificate.mentorship_id == mentorship_id, Certificate.user_id == user_id)
    ).one_or_none()


def certificate_by_code(session: Session, code: str) -> Certificate | None:
    return session.scalars(select(Certificate).where(Certificate.verification_code == code)).one_or_none()


def certificates_of(session: Session, user_id: int) -> list[Certificate]:
    """The user's certificates, newest first; the PDF column is loaded only when read."""
    return list(
        session.scalars(
            select(Certificate)
            .where(Certificate.user_id == user_id)
            .options(defer(Certificate.pdf))
            .order_by(Certificate.issued_at.desc(), Certificate.id.desc())
        )
    )


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _unique(names: Iterable[str]) -> tuple[str, ...]:
    seen: set[str] = set()
    result: list[str] = []
    for name in (n.strip() for n in names):
        if name and name.casefold() not in seen:
            seen.add(name.casefold())
            result.append(name)
    return tuple(result)


def _period(mentorship: Mentorship, meeting_dates: list[date], zone: ZoneInfo) -> tuple[date, date]:
    """From the mentor's acceptance to the mentorship's completion. Certificates are issued
    while it closes, right after the final meeting: until completion is recorded, that
    meeting is its end."""
    began = (mentorship.accepted_at or mentorship.requested_at).astimezone(zone).date()
    if mentorship.finished_at is not None:
        ended = mentorship.finished_at.astimezone(zone).date()
    elif meeting_dates:
        ended = meeting_dates[-1]
    else:
        ended = mentorship.last_activity_at.astimezone(zone).date()
    return min([began, *meeting_dates]), max(ended, began)
