"""Sign-ins: one row per session, so that signing out ends it on the server.

A bearer token (and the portal's cookie, which holds the same token) names its row by ``sid``.
The token's signature proves it was issued here; the row says whether it still counts: it ends
when its person signs out, changes their password, or is reset or deactivated by an operator.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class SignIn(Base):
    __tablename__ = "sign_in"

    id: Mapped[str] = mapped_column(String(43), primary_key=True)  # the token's ``sid``, random
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
