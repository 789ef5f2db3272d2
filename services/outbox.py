"""The mail outbox: rows written once per dedupe key, claimed one at a time by senders.

A sender claims a row inside its own transaction (``SELECT ... FOR UPDATE SKIP LOCKED`` on
PostgreSQL; SQLite serialises writers anyway), hands it to SMTP, marks it sent and commits
right away. Two senders never send the same row; a crash between the SMTP accept and the
commit is the only window in which a mail may go out twice, and the Message-ID stays the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import OutgoingEmail

_ERROR_LENGTH = 2000


@dataclass(frozen=True)
class NewEmail:
    """A rendered mail, ready for the outbox."""

    dedupe_key: str
    user_id: int | None
    mentorship_id: int | None
    recipient: str
    kind: str
    subject: str
    body_text: str
    body_html: str
    calendar: str | None = None  # an .ics to attach


def email_exists(session: Session, dedupe_key: str) -> bool:
    found = session.scalar(select(OutgoingEmail.id).where(OutgoingEmail.dedupe_key == dedupe_key))
    return found is not None


def enqueue_email(session: Session, email: NewEmail, *, now: datetime) -> bool:
    """Add the mail unless its dedupe key is already there; returns whether it was added."""
    if email_exists(session, email.dedupe_key):
        return False
    row = OutgoingEmail(
        dedupe_key=email.dedupe_key,
        user_id=email.user_id,
        mentorship_id=email.mentorship_id,
        recipient=email.recipient,
        kind=email.kind,
        subject=email.subject,
        body_text=email.body_text,
        body_html=email.body_html,
        calendar=email.calendar,
        created_at=now,
        attempts=0,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:  # a concurrent writer added the same key first
        return False
    return True


def unsent_email_ids(
    session: Session, *, limit: int | None = None, mentorship_id: int | None = None
) -> list[int]:
    query = select(OutgoingEmail.id).where(OutgoingEmail.sent_at.is_(None)).order_by(OutgoingEmail.id)
    if mentorship_id is not None:
        query = query.where(OutgoingEmail.mentorship_id == mentorship_id)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def claim_unsent(session: Session, email_id: int) -> OutgoingEmail | None:
    """Lock the row for this transaction if it is still unsent and no other sender holds it."""
    return session.scalar(
        select(OutgoingEmail)
        .where(OutgoingEmail.id == email_id, OutgoingEmail.sent_at.is_(None))
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )


def mark_sent(session: Session, email: OutgoingEmail, *, now: datetime) -> None:
    email.sent_at = now
    email.attempts += 1
    email.last_error = None
    session.flush()


def record_failure(session: Session, email_ids: Sequence[int], error: str) -> None:
    """Count a failed attempt on each still-unsent row; it stays in the outbox for the next run."""
    if not email_ids:
        return
    session.execute(
        update(OutgoingEmail)
        .where(OutgoingEmail.id.in_(email_ids), OutgoingEmail.sent_at.is_(None))
        .values(attempts=OutgoingEmail.attempts + 1, last_error=error[:_ERROR_LENGTH])
        .execution_options(synchronize_session=False)
    )
