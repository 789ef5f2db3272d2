"""Sessions that end: begin a sign-in, find whom a live one belongs to, end one or all.

A sign-in counts until it expires or ends. It ends when its person signs out (that one), and
when they change their password or an operator resets or deactivates them (all of theirs at
once): a stolen cookie or token stops working the moment its owner acts.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from models import SignIn, User


def begin(session: Session, user: User, *, now: datetime, lifetime: timedelta) -> SignIn:
    sign_in = SignIn(id=secrets.token_urlsafe(32), user_id=user.id, created_at=now, expires_at=now + lifetime)
    session.add(sign_in)
    session.flush()
    return sign_in


def signed_in_user(session: Session, sign_in_id: str, user_id: int, *, now: datetime) -> User | None:
    """The person behind a live sign-in of theirs; None if it ended, expired or is not theirs,
    or the person was deactivated."""
    sign_in = session.get(SignIn, sign_in_id)
    if sign_in is None or sign_in.user_id != user_id or sign_in.ended_at is not None:
        return None
    if sign_in.expires_at <= now:
        return None
    user = session.get(User, user_id)
    return None if user is None or user.deactivated_at is not None else user


def end(session: Session, sign_in_id: str, *, now: datetime) -> None:
    session.execute(
        update(SignIn).where(SignIn.id == sign_in_id, SignIn.ended_at.is_(None)).values(ended_at=now)
    )


def end_all(session: Session, user_id: int, *, now: datetime) -> int:
    """End every live sign-in of one person; returns how many there were."""
    result = session.execute(
        update(SignIn).where(SignIn.user_id == user_id, SignIn.ended_at.is_(None)).values(ended_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)
