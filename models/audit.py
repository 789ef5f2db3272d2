"""The audit log of operators' actions on people and on the program: who did what, to whom,
when. Facts of mentorships have their own log (``Event``); this one is for the operators'
side (invitations, roles, deactivations, password resets, erasures, program settings)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base
from models.user import User


class AuditEntry(Base):
    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    action: Mapped[str] = mapped_column(String(40))
    # the person acted on, if any; details hold codes (roles, setting names), never their words
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)

    operator: Mapped[User] = relationship(foreign_keys=[operator_id], lazy="joined", innerjoin=True)
    subject: Mapped[User | None] = relationship(foreign_keys=[subject_id], lazy="joined")
