"""Signed links to the feedback form, so a participant can answer a feedback request by mail.

The same links open the fit question and the closure survey of a mentorship (targets ``fit``
and ``closure``). A token names the participant, is bound to one target (a meeting, a
mentorship as a whole, or one of its two surveys)
and expires ``link_lifetime()`` after the request was made: an HMAC-SHA256 over
``feedback:{target}:{target_id}:{user_id}:{expires}`` with the application's secret key. A mail
forwarded or found months later opens nothing; the participant can still give feedback in the
portal after signing in. The form checks the lifecycle rules (participant, attended) when the
answer is posted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from models.settings import get_settings

Target = Literal["meeting", "mentorship", "fit", "closure"]

_SIGNATURE_BYTES = 20
_PATHS: dict[Target, str] = {
    "meeting": "/portal/meetings/{id}/feedback",
    "mentorship": "/portal/mentorships/{id}/feedback",
    "fit": "/portal/mentorships/{id}/survey/fit",
    "closure": "/portal/mentorships/{id}/survey/closure",
}


def link_lifetime() -> timedelta:
    """How long a feedback link works after its request (``MENTORFLOW_FEEDBACK_LINK_LIFETIME``,
    30 days by default): long enough for a holiday, not for ever."""
    return get_settings().feedback_link_lifetime


@dataclass(frozen=True)
class FeedbackLink:
    """A token signed here for one target: whose it is and until when it works."""

    user_id: int
    expires_at: datetime

    def expired(self, now: datetime) -> bool:
        return now >= self.expires_at


def _signature(secret_key: str, target: Target, target_id: int, user_id: int, expires: int) -> str:
    message = f"feedback:{target}:{target_id}:{user_id}:{expires}".encode()
    digest = hmac.new(secret_key.encode(), message, hashlib.sha256).digest()[:_SIGNATURE_BYTES]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def feedback_token(
    secret_key: str, *, target: Target, target_id: int, user_id: int, requested_at: datetime
) -> str:
    """``{user_id}.{expires}.{signature}``: who may answer, until when, signed for this target."""
    expires = int((requested_at + link_lifetime()).timestamp())
    return f"{user_id}.{expires}.{_signature(secret_key, target, target_id, user_id, expires)}"


def read_feedback_token(
    secret_key: str, token: str, *, target: Target, target_id: int
) -> FeedbackLink | None:
    """The link, if the token was signed here for this target (expired or not); else ``None``."""
    user_part, _, rest = token.partition(".")
    expires_part, _, signature = rest.partition(".")
    if not (user_part.isdigit() and expires_part.isdigit() and signature) or len(expires_part) > 12:
        return None
    user_id, expires = int(user_part), int(expires_part)
    expected = _signature(secret_key, target, target_id, user_id, expires)
    if not hmac.compare_digest(signature.encode(), expected.encode()):
        return None
    return FeedbackLink(user_id, datetime.fromtimestamp(expires, UTC))


def verify_feedback_token(
    secret_key: str, token: str, *, target: Target, target_id: int, now: datetime
) -> int | None:
    """The user id the token was issued to, or ``None`` if it is not valid here and now."""
    link = read_feedback_token(secret_key, token, target=target, target_id=target_id)
    return None if link is None or link.expired(now) else link.user_id


def feedback_path(
    secret_key: str, *, target: Target, target_id: int, user_id: int, requested_at: datetime
) -> str:
    """Path and query of the feedback form, relative to ``settings.base_url``."""
    token = feedback_token(
        secret_key, target=target, target_id=target_id, user_id=user_id, requested_at=requested_at
    )
    return f"{_PATHS[target].format(id=target_id)}?token={token}"
