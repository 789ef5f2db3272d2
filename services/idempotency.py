"""Stored first answers to writes sent with an ``Idempotency-Key`` (per user and key).

The JSON API stores one per keyed write, the portal one per form it answered. They are kept
for ``MENTORFLOW_IDEMPOTENCY_KEEP`` (7 days): retries come within minutes, and the daily
housekeeping sweep forgets older ones so the table does not grow for ever.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import IdempotentResponse
from services.errors import Conflict
from services.i18n import _


def find_response(session: Session, *, user_id: int, key: str) -> IdempotentResponse | None:
    return session.get(IdempotentResponse, (user_id, key))


def store_response(
    session: Session,
    *,
    user_id: int,
    key: str,
    fingerprint: str,
    status_code: int,
    body: str,
    now: datetime,
) -> None:
    """Saved with the fact; a concurrent twin with the same key loses here and changes nothing."""
    session.add(
        IdempotentResponse(
            user_id=user_id,
            key=key,
            request_hash=fingerprint,
            status_code=status_code,
            body=body,
            created_at=now,
        )
    )
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(_("A request with this Idempotency-Key is being processed; retry shortly.")) from None


def forget_responses(session: Session, *, before: datetime) -> int:
    """Drop the answers stored before ``before``; returns how many went."""
    result = session.execute(
        delete(IdempotentResponse)
        .where(IdempotentResponse.created_at < before)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
