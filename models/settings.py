"""Settings from the environment (prefix ``MENTORFLOW_``, also read from ``.env``)."""

from __future__ import annotations

import re
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET = "development-only-secret-change-me-0123456789"  # noqa: S105 - refused outside development
MIN_SECRET_LENGTH = 32  # an HMAC-SHA256 key: 32 random characters carry well over 128 bits
_DURATION = re.compile(r"^\s*(\d+)\s*(ms|s|m|h|d)\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: object) -> object:
    """Accept ``250ms``, ``90s``, ``15m``, ``2h``, ``21d`` (and what pydantic reads as a timedelta)."""
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return timedelta(seconds=int(match[1]) * _UNIT_SECONDS[match[2]])
    return value


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MENTORFLOW_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path(".mentorflow")
    database_url: str | None = None
    secret_key: str = DEFAULT_SECRET
    password_hashing: Literal["standard", "cheap"] = "standard"  # noqa: S105 - a mode
    token_lifetime: Duration = timedelta(hours=12)
    smtp_url: str | None = None
    mail_from: str = "mentorflow <mentorflow@localhost>"
    base_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = 8000
    inactivity_after: Duration = timedelta(days=21)
    request_expiry: Duration = timedelta(days=14)
    idempotency_keep: Duration = timedelta(days=7)  # stored Idempotency-Key answers, portal forms
    feedback_link_lifetime: Duration = timedelta(days=30)  # a mailed feedback link works this long
    mail_body_keep: Duration = timedelta(days=90)  # sent mails' text, then emptied (services/retention.py)
    notification_keep: Duration = timedelta(days=365)
    default_locale: str = "en"
    default_timezone: str = "Europe/Berlin"
    # sign-in throttling (api/throttling.py): tries per account and per address, and where the
    # counts live: memory:// for one API process, redis://host:port/db for several
    sign_in_limit_per_account: str = "10 per 15 minutes"
    sign_in_limit_per_address: str = "100 per 15 minutes"
    throttle_storage: str = "memory://"

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.env != "development" and self.secret_key == DEFAULT_SECRET:
            raise ValueError("MENTORFLOW_SECRET_KEY must be set outside development")
        if self.env != "development" and len(self.secret_key) < MIN_SECRET_LENGTH:
            raise ValueError(
                f"MENTORFLOW_SECRET_KEY must be at least {MIN_SECRET_LENGTH} characters outside"
                " development (e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
        if self.env == "production" and self.password_hashing == "cheap":  # noqa: S105
            raise ValueError("MENTORFLOW_PASSWORD_HASHING=cheap is for test suites only")
        return self

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return normalize_database_url(self.database_url)
        return f"sqlite:///{(self.data_dir / 'mentorflow.db').resolve()}"


def normalize_database_url(url: str) -> str:
    """Let people write ``postgresql://``; we drive PostgreSQL with psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@lru_cache
def get_settings() -> Settings:
    return Settings()
