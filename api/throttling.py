"""Sign-in throttling, per account and per address, on every way in (API token, portal).

Every try counts, and it counts before the password is checked, so parallel guesses cannot
slip through between a check and its count (``limits``, moving window). Once one of the two
budgets is spent, every further try is refused with 429 and ``Retry-After``, the right password
too, until the window moves on. A correct sign-in gives the account its budget back (its owner
proved who they are); the address keeps its count, or one known password would let a sprayer
reset it between guesses at other accounts.

The account key is the email as typed (normalized), whether or not such an account exists, so
the answers tell nothing about which accounts exist.

The counts live in ``settings.throttle_storage``: ``memory://`` (one API process, as in
``mentorflow up``) or ``redis://host:port/db``, which several API processes share.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from models.settings import Settings
from services.errors import DomainError
from services.i18n import _
from services.users import normalize_email


class TooManySignIns(DomainError):
    status = 429
    title = "Too many sign-in attempts"

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, math.ceil(retry_after / 60))
        super().__init__(_("Too many sign-in attempts. Try again in {minutes} minutes."), minutes=minutes)
        self.retry_after = retry_after


@dataclass(frozen=True)
class SignInThrottle:
    per_account: RateLimitItem
    per_address: RateLimitItem
    limiter: MovingWindowRateLimiter

    @classmethod
    def from_settings(cls, settings: Settings) -> SignInThrottle:
        """The throttle the settings describe; a clear ValueError at start for a bad one."""
        return cls(
            _limit("MENTORFLOW_SIGN_IN_LIMIT_PER_ACCOUNT", settings.sign_in_limit_per_account),
            _limit("MENTORFLOW_SIGN_IN_LIMIT_PER_ADDRESS", settings.sign_in_limit_per_address),
            MovingWindowRateLimiter(storage_from_string(settings.throttle_storage)),
        )

    def attempt(self, email: str, address: str) -> None:
        """Count one try; raise ``TooManySignIns`` if a budget is spent (the try is not made)."""
        account = ("sign-in-account", normalize_email(email))
        origin = ("sign-in-address", address)
        for item, key in ((self.per_account, account), (self.per_address, origin)):
            if not self.limiter.hit(item, *key):
                reset_at, _remaining = self.limiter.get_window_stats(item, *key)
                raise TooManySignIns(max(1, math.ceil(reset_at - time.time())))

    def succeeded(self, email: str) -> None:
        self.limiter.clear(self.per_account, "sign-in-account", normalize_email(email))


def _limit(name: str, value: str) -> RateLimitItem:
    try:
        return parse(value)
    except ValueError:
        raise ValueError(f"{name} must read like '10 per 15 minutes', not {value!r}") from None
