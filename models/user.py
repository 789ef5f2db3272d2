"""People: accounts, their roles and their profile."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base


class Role(StrEnum):
    MENTEE = "mentee"
    MENTOR = "mentor"
    OPERATOR = "operator"


class User(Base):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    display_name: Mapped[str] = mapped_column(String(120))
    # "" until the person chooses or first signs in (then the browser's language is kept:
    # services.users.adopt_browser_language); until then pages follow the browser, mails are English
    locale: Mapped[str] = mapped_column(String(10), default="")
    timezone: Mapped[str] = mapped_column(String(60), default="Europe/Berlin")
    created_at: Mapped[datetime]
    deactivated_at: Mapped[datetime | None] = mapped_column(default=None)  # signs in no more
    erased_at: Mapped[datetime | None] = mapped_column(default=None)  # services/personal_data.py

    roles: Mapped[list[UserRole]] = relationship(
        back_populates="user", lazy="selectin", cascade="all, delete-orphan"
    )
    profile: Mapped[Profile] = relationship(
        back_populates="user", lazy="selectin", cascade="all, delete-orphan", uselist=False
    )

    @property
    def role_names(self) -> set[str]:
        return {r.role for r in self.roles}

    def has_role(self, role: Role) -> bool:
        return role.value in self.role_names


class UserRole(Base):
    __tablename__ = "user_role"

    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), primary_key=True)

    user: Mapped[User] = relationship(back_populates="roles", lazy="raise")


class Profile(Base):
    """What a participant tells about themself: mentee goals and topics, mentor offer and capacity."""

    __tablename__ = "profile"

    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    bio: Mapped[str] = mapped_column(Text, default="")
    mentee_goals: Mapped[str] = mapped_column(Text, default="")
    mentee_topics: Mapped[list[str]] = mapped_column(default=list)
    mentor_offer: Mapped[str] = mapped_column(Text, default="")
    mentor_topics: Mapped[list[str]] = mapped_column(default=list)
    mentor_capacity: Mapped[int] = mapped_column(default=2)
    updated_at: Mapped[datetime]

    user: Mapped[User] = relationship(back_populates="profile", lazy="raise")
