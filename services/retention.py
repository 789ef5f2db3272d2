"""What is kept only for a while: sent mail bodies and notifications (stored Idempotency-Key
answers: ``services.idempotency.forget_responses``). The daily ``housekeeping`` deployment
applies the periods from the settings.

A sent mail's row stays (its dedupe key keeps it from going out twice, and operators see that
it went out); after ``mail_body_keep`` its subject and text are emptied, as they quote names,
meetings and messages. Notifications are deleted after ``notification_keep``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from models import Notification, OutgoingEmail

FORGOTTEN = "(removed after the retention period)"


def forget_mail_bodies(session: Session, *, sent_before: datetime) -> int:
    result = session.execute(
        update(OutgoingEmail)
        .where(
            OutgoingEmail.sent_at.is_not(None),
            OutgoingEmail.sent_at < sent_before,
            OutgoingEmail.body_text != FORGOTTEN,
        )
        .values(subject=FORGOTTEN, body_text=FORGOTTEN, body_html="", calendar=None)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def forget_notifications(session: Session, *, before: datetime) -> int:
    result = session.execute(
        delete(Notification)
        .where(Notification.created_at < before)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
