"""What a participant earned, grouped: the milestones their mentorships reached and how often
they did each activity (``GET /api/me/achievements/summary``, the portal's profile).

The single achievements, newest first, are ``services.notices.achievements_of``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Achievement
from services.consequences import ACTIVITIES, MILESTONES


@dataclass(frozen=True)
class Group:
    kind: str
    count: int  # a milestone: in how many mentorships it was reached
    first_earned_at: datetime | None
    last_earned_at: datetime | None


@dataclass(frozen=True)
class Summary:
    total: int
    milestones: list[Group]  # every milestone, in the order a pair reaches them; count 0: not yet
    activities: list[Group]  # the activities done at least once, in the order of the journey


def _order(kind: str) -> tuple[int, str]:
    return (ACTIVITIES.index(kind) if kind in ACTIVITIES else len(ACTIVITIES), kind)


def summary(session: Session, user_id: int) -> Summary:
    rows = session.execute(
        select(
            Achievement.kind,
            func.count(Achievement.id),
            func.min(Achievement.earned_at),
            func.max(Achievement.earned_at),
        )
        .where(Achievement.user_id == user_id)
        .group_by(Achievement.kind)
    ).tuples()
    groups = {kind: Group(kind, count, first, last) for kind, count, first, last in rows}
    milestones = [groups.get(kind, Group(kind, 0, None, None)) for kind in MILESTONES]
    done = (g for g in groups.values() if g.kind not in MILESTONES)
    activities = sorted(done, key=lambda g: _order(g.kind))
    return Summary(total=sum(g.count for g in groups.values()), milestones=milestones, activities=activities)
