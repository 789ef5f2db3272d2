"""Reads of what the system gave a participant: notifications and achievements."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Achievement, Notification


def notifications_of(session: Session, user_id: int, *, limit: int = 200) -> list[Notification]:
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.user_id == user_id)
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .limit(limit)
        )
    )


def mark_read(session: Session, user_id: int, notification_id: int, *, now: datetime) -> Notification | None:
    """Someone else's notification is "not found"; reading twice keeps the first time."""
    notification = session.get(Notification, notification_id)
    if notification is None or notification.user_id != user_id:
        return None
    if notification.read_at is None:
        notification.read_at = now
        session.flush()
    return notification


def achievements_of(session: Session, user_id: int) -> list[Achievement]:
    return list(
        session.scalars(
            select(Achievement)
            .where(Achievement.user_id == user_id)
            .order_by(Achievement.earned_at.desc(), Achievement.id.desc())
        )
    )
