"""Sessions that end: begin a sign-in, find whom a live one belongs to, end one or all.

A sign-in counts until it expires or ends. It ends when its person signs out (that one), and
when they change their password or an operator resets or deactivates them (all of theirs at
once): a stolen cookie or token stops working the moment its owner acts.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, lazyload

from models import SignIn, User


def begin(session: Session, user: User, *, now: datetime, lifetime: timedelta) -> SignIn:
    sign_in = SignIn(id=secrets.token_urlsafe(32), user_id=user.id, created_at=now, expires_at=now + lifetime)
    session.add(sign_in)
    session.flush()
    return sign_in


def signed_in_user(session: Session, sign_in_id: str, user_id: int, *, now: datetime) -> User | None:
    """The person behind a live sign-in of theirs; None if it ended, expired or is not theirs,
    or the person was deactivated."""
    # one statement (and the roles') on every signed-in request; the profile loads if used
    return session.scalars(
        select(User)
        .join(SignIn, SignIn.user_id == User.id)
        .where(
            SignIn.id == sign_in_id,
            User.id == user_id,
            SignIn.ended_at.is_(None),
            SignIn.expires_at > now,
            User.deactivated_at.is_(None),
        )
        .options(lazyload(User.profile))
    ).one_or_none()


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
