"""Links to set a password by mail: an invited person's first one, and a reset.

A link's token names the person, its purpose and its expiry, and is signed (HMAC-SHA256 with
the secret key) together with a fingerprint of the person's password hash as it is now.
Setting a password changes that hash, so a link works once, and every older link stops working
the moment any new password is set. Setting one ends every sign-in of the person.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy.orm import Session

from models import User
from services import sign_ins
from services.consequences import MailSpec
from services.errors import Invalid
from services.i18n import _
from services.passwords import hash_password
from services.users import NO_PASSWORD, check_new_password

Purpose = Literal["invitation", "reset"]

#: How long a link works: a week to accept an invitation, two hours for a reset.
LIFETIMES: dict[Purpose, timedelta] = {"invitation": timedelta(days=7), "reset": timedelta(hours=2)}
SET_PASSWORD_PATH = "/portal/password"  # noqa: S105 - a path


def password_link_token(secret_key: str, user: User, purpose: Purpose, *, now: datetime) -> str:
    """``{user_id}.{purpose}.{expires}.{signature}``."""
    expires = int((now + LIFETIMES[purpose]).timestamp())
    return f"{user.id}.{purpose}.{expires}.{_signature(secret_key, user, purpose, expires)}"


def holder_key(token: str) -> str:
    """What setting a password with ``token`` is throttled by: the person it names."""
    return token.split(".", 1)[0]


def password_link_path(secret_key: str, user: User, purpose: Purpose, *, now: datetime) -> str:
    """Path and query of the page that sets the password, relative to ``settings.base_url``."""
    return f"{SET_PASSWORD_PATH}?token={password_link_token(secret_key, user, purpose, now=now)}"


def holder_of(session: Session, secret_key: str, token: str, *, now: datetime) -> User | None:
    """The person a valid, unused, unexpired link belongs to; None for any other token."""
    parts = token.split(".")
    if len(parts) != 4 or not parts[0].isdigit() or not parts[2].isdigit() or len(parts[2]) > 12:
        return None
    user_part, purpose, expires_part, signature = parts
    if purpose not in LIFETIMES or int(expires_part) <= now.timestamp():
        return None
    user = session.get(User, int(user_part))
    if user is None or user.erased_at is not None or user.deactivated_at is not None:
        return None
    expected = _signature(secret_key, user, purpose, int(expires_part))
    return user if hmac.compare_digest(signature.encode(), expected.encode()) else None


def password_link_mail(secret_key: str, user: User, purpose: Purpose, *, now: datetime) -> MailSpec:
    """The mail that carries a new link (``invitation`` or ``password_reset``)."""
    return MailSpec(
        user_id=user.id,
        mentorship_id=None,
        kind="invitation" if purpose == "invitation" else "password_reset",
        dedupe_key=f"password-link:{user.id}:{purpose}:{int(now.timestamp() * 1000)}",
        params={"path": password_link_path(secret_key, user, purpose, now=now)},
    )


def reset_by_operator(session: Session, user: User, *, now: datetime) -> None:
    """An operator's reset: the password stops working and every sign-in ends at once (a
    suspected break-in); the person chooses a new one with the link mailed to them."""
    user.password_hash = NO_PASSWORD
    sign_ins.end_all(session, user.id, now=now)


def set_password(session: Session, secret_key: str, token: str, password: str, *, now: datetime) -> User:
    """Set the link holder's password (the link is used up) and end all of their sign-ins."""
    user = holder_of(session, secret_key, token, now=now)
    if user is None:
        raise Invalid(
            _("This link is not valid any more: it was used, it expired, or a newer one was sent."),
            loc=("body", "token"),
        )
    check_new_password(password, field="password")
    user.password_hash = hash_password(password)
    sign_ins.end_all(session, user.id, now=now)
    return user


def _signature(secret_key: str, user: User, purpose: Purpose, expires: int) -> str:
    fingerprint = hashlib.sha256(user.password_hash.encode()).hexdigest()
    message = f"password:{user.id}:{purpose}:{expires}:{fingerprint}".encode()
    digest = hmac.new(secret_key.encode(), message, hashlib.sha256).digest()[:20]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
