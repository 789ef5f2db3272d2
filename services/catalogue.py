"""The suggested topics and questions (shipped as data, loaded by a migration)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Topic


def topics(session: Session) -> list[Topic]:
    return list(session.scalars(select(Topic).order_by(Topic.position, Topic.id)))
