"""Password hashing with argon2id (argon2-cffi; RFC 9106 low-memory profile by default).

Test suites may set ``MENTORFLOW_PASSWORD_HASHING=cheap`` (refused in production) so that
creating hundreds of users does not spend minutes hashing; it is still argon2id.
"""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import CHEAPEST, RFC_9106_LOW_MEMORY

from models.settings import get_settings


@lru_cache
def _hasher() -> PasswordHasher:
    cheap = get_settings().password_hashing == "cheap"  # noqa: S105 - a mode
    return PasswordHasher.from_parameters(CHEAPEST if cheap else RFC_9106_LOW_MEMORY)


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher().check_needs_rehash(password_hash)
