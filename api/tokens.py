"""Bearer tokens: short-lived signed JWTs naming the user and their sign-in.

The signature proves a token was issued here; its sign-in row (``services.sign_ins``) says
whether it still counts, so signing out ends it on the server. Expiry is checked against the
injected clock (DESIGN rule 6), not the machine's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import jwt
from sqlalchemy.orm import Session

from models import User
from models.settings import Settings
from services import sign_ins

ALGORITHM = "HS256"


@dataclass(frozen=True)
class TokenClaims:
    user_id: int
    sign_in_id: str


def sign_in(session: Session, settings: Settings, user: User, *, now: datetime) -> str:
    """Begin a sign-in for ``user`` and return its token (flushed; the caller commits)."""
    begun = sign_ins.begin(session, user, now=now, lifetime=settings.token_lifetime)
    return issue_token(settings, user.id, begun.id, now=now)


def issue_token(settings: Settings, user_id: int, sign_in_id: str, *, now: datetime) -> str:
    expires = now + settings.token_lifetime
    claims = {
        "sub": str(user_id),
        "sid": sign_in_id,
        "iat": int(now.timestamp()),
        "exp": int(expires.timestamp()),
    }
    return jwt.encode(claims, settings.secret_key, algorithm=ALGORITHM)


def read_token(settings: Settings, token: str, *, now: datetime) -> TokenClaims | None:
    """The claims of a well-signed, unexpired token; None for anything else."""
    try:
        claims = jwt.decode(
            token,
            settings.secret_key,
            algorithms=[ALGORITHM],
            options={"require": ["sub", "sid", "exp"], "verify_exp": False, "verify_iat": False},
        )
        if int(claims["exp"]) <= now.timestamp() or not isinstance(claims["sid"], str):
            return None
        return TokenClaims(int(claims["sub"]), claims["sid"])
    except (jwt.PyJWTError, ValueError, TypeError):
        return None


def sign_out(session: Session, settings: Settings, token: str, *, now: datetime) -> None:
    """End the sign-in a token (or the portal cookie holding one) names, and commit."""
    claims = read_token(settings, token, now=now)
    if claims is not None:
        sign_ins.end(session, claims.sign_in_id, now=now)
        session.commit()


def token_user(session: Session, settings: Settings, token: str, *, now: datetime) -> User | None:
    """The person a token belongs to, if it is well signed and its sign-in still counts."""
    claims = read_token(settings, token, now=now)
    if claims is None:
        return None
    return sign_ins.signed_in_user(session, claims.sign_in_id, claims.user_id, now=now)
