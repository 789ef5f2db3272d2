"""Suggested topics and the questions a pair may discuss under each.

``title``, ``description`` and ``text`` are English (the source language); ``translations``
holds the other languages by language code: ``{"de": {"title": ..., "description": ...}}`` on a
topic, ``{"de": "..."}`` on a question. ``services.catalogue`` reads them in the reader's language.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base


class Topic(Base):
    __tablename__ = "topic"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(default=0)
    translations: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")

    questions: Mapped[list[TopicQuestion]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="TopicQuestion.position"
    )


class TopicQuestion(Base):
    __tablename__ = "topic_question"

    id: Mapped[int] = mapped_column(primary_key=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("topic.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(default=0)
    translations: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
