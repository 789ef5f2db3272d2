"""What each participant answered to the program's two short surveys about a mentorship.

The *fit* question after the get-to-know-you meeting (continue together: yes, not sure, no) and
the *closure* survey after completion (goals reached 1–5, would recommend the program). One
answer per person, mentorship and survey; private to its author (``services.surveys``).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class Survey(StrEnum):
    FIT = "fit"
    CLOSURE = "closure"


class Fit(StrEnum):
    YES = "yes"
    NOT_SURE = "not_sure"
    NO = "no"


class SurveyAnswer(Base):
    __tablename__ = "survey_answer"
    __table_args__ = (
        UniqueConstraint("mentorship_id", "author_id", "survey"),
        CheckConstraint("goals_reached BETWEEN 1 AND 5", name="goals_reached_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mentorship_id: Mapped[int] = mapped_column(ForeignKey("mentorship.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    survey: Mapped[str] = mapped_column(String(20))
    fit: Mapped[str | None] = mapped_column(String(20))  # fit survey: yes, not_sure, no
    goals_reached: Mapped[int | None]  # closure survey: 1–5
    would_recommend: Mapped[bool | None]  # closure survey
    comment: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime]
