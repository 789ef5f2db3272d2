"""Signed links to the feedback form, so a participant can answer a feedback request by mail.

A token names the participant and is bound to one target (a meeting, or a mentorship as a
whole) by an HMAC-SHA256 over ``feedback:{target}:{target_id}:{user_id}`` with the
application's secret key. It carries no expiry: feedback is welcome at any time, and the
form still checks the lifecycle rules (participant, attended) when the answer is posted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Literal

Target = Literal["meeting", "mentorship"]

_SIGNATURE_BYTES = 20
_PATHS: dict[Target, str] = {
    "meeting": "/portal/meetings/{id}/feedback",
    "mentorship": "/portal/mentorships/{id}/feedback",
}


def _signature(secret_key: str, target: Target, target_id: int, user_id: int) -> str:
    message = f"feedback:{target}:{target_id}:{user_id}".encode()
    digest = hmac.new(secret_key.encode(), message, hashlib.sha256).digest()[:_SIGNATURE_BYTES]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def feedback_token(secret_key: str, *, target: Target, target_id: int, user_id: int) -> str:
    """``{user_id}.{signature}``: who may answer, signed for this one target."""
    return f"{user_id}.{_signature(secret_key, target, target_id, user_id)}"


def verify_feedback_token(secret_key: str, token: str, *, target: Target, target_id: int) -> int | None:
    """The user id the token was issued to, or ``None`` if it was not signed for this target."""
    user_part, _, signature = token.partition(".")
    if not user_part.isdigit() or not signature:
        return None
    user_id = int(user_part)
    expected = _signature(secret_key, target, target_id, user_id)
    if not hmac.compare_digest(signature.encode(), expected.encode()):
        return None
    return user_id


def feedback_path(secret_key: str, *, target: Target, target_id: int, user_id: int) -> str:
    """Path and query of the feedback form, relative to ``settings.base_url``."""
    token = feedback_token(secret_key, target=target, target_id=target_id, user_id=user_id)
    return f"{_PATHS[target].format(id=target_id)}?token={token}"
