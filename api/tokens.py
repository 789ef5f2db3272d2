"""Bearer tokens: short-lived signed JWTs naming the user.

Expiry is checked against the injected clock (DESIGN rule 6), not the machine's.
"""

from __future__ import annotations

from datetime import datetime

import jwt

from models.settings import Settings

ALGORITHM = "HS256"


def issue_token(settings: Settings, user_id: int, *, now: datetime) -> str:
    expires = now + settings.token_lifetime
    claims = {"sub": str(user_id), "iat": int(now.timestamp()), "exp": int(expires.timestamp())}
    return jwt.encode(claims, settings.secret_key, algorithm=ALGORITHM)


def user_id_from_token(settings: Settings, token: str, *, now: datetime) -> int | None:
    try:
        claims = jwt.decode(
            token,
            settings.secret_key,
            algorithms=[ALGORITHM],
            options={"require": ["sub", "exp"], "verify_exp": False, "verify_iat": False},
        )
        if int(claims["exp"]) <= now.timestamp():
            return None
        return int(claims["sub"])
    except (jwt.PyJWTError, ValueError, TypeError):
        return None
