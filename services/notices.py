"""Reads of what the system gave a participant: notifications and achievements."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, func, select, update
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


def unread_count(session: Session, user_id: int) -> int:
    return (
        session.scalar(
            select(func.count()).where(Notification.user_id == user_id, Notification.read_at.is_(None))
        )
        or 0
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


def mark_all_read(session: Session, user_id: int, *, now: datetime) -> int:
    """Everything the person was told counts as seen; returns how many were new."""
    return _mark_unread(session, user_id, now=now)


def mark_read_about(session: Session, user_id: int, mentorship_id: int, *, now: datetime) -> int:
    """The person acted on the mentorship: what they were told about it counts as seen
    (after one mentorship a mentee had nine "new" notifications about things long done)."""
    return _mark_unread(session, user_id, Notification.mentorship_id == mentorship_id, now=now)


def _mark_unread(session: Session, user_id: int, *which: ColumnElement[bool], now: datetime) -> int:
    """Mark the person's unread notifications (those of ``which``) read; how many they were."""
    result = session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None), *which)
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def achievements_of(session: Session, user_id: int) -> list[Achievement]:
    return list(
        session.scalars(
            select(Achievement)
            .where(Achievement.user_id == user_id)
            .order_by(Achievement.earned_at.desc(), Achievement.id.desc())
        )
    )
