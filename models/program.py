"""The program's own settings, edited by operators: its name and a contact address, shown on
certificates, in mails and in the portal's header. One row (id 1); none yet means defaults."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class ProgramSettings(Base):
    __tablename__ = "program_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    contact_email: Mapped[str] = mapped_column(String(320), default="")
    updated_at: Mapped[datetime]
