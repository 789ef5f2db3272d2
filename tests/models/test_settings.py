"""Settings from the environment: working defaults, durations as people write them, no default
secret (or test-only hashing) outside development."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from models.settings import DEFAULT_SECRET, Settings


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("250ms", timedelta(milliseconds=250)),
        ("90s", timedelta(seconds=90)),
        ("15m", timedelta(minutes=15)),
        ("2h", timedelta(hours=2)),
        ("21d", timedelta(days=21)),
    ],
)
def test_durations_are_read_as_people_write_them(
    written: str, meant: timedelta, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MENTORFLOW_INACTIVITY_AFTER", written)
    assert Settings().inactivity_after == meant


def test_a_nonsense_duration_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MENTORFLOW_INACTIVITY_AFTER", "three weeks")
    with pytest.raises(ValidationError, match="inactivity_after"):
        Settings()


def test_the_default_is_21_days_and_a_sqlite_file_in_the_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MENTORFLOW_INACTIVITY_AFTER", raising=False)
    monkeypatch.delenv("MENTORFLOW_DATABASE_URL", raising=False)
    monkeypatch.setenv("MENTORFLOW_DATA_DIR", "/srv/mentorflow")
    settings = Settings()
    assert settings.inactivity_after == timedelta(days=21)
    assert settings.sqlalchemy_url == "sqlite:////srv/mentorflow/mentorflow.db"


def test_people_may_write_postgresql_urls_plainly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MENTORFLOW_DATABASE_URL", "postgresql://app@db:5432/mentorflow")
    assert Settings().sqlalchemy_url == "postgresql+psycopg://app@db:5432/mentorflow"


@pytest.mark.parametrize("env", ["production", "test"])
def test_the_default_secret_is_refused_outside_development(env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MENTORFLOW_ENV", env)
    monkeypatch.setenv("MENTORFLOW_SECRET_KEY", DEFAULT_SECRET)
    with pytest.raises(ValidationError, match="MENTORFLOW_SECRET_KEY must be set"):
        Settings()


def test_cheap_password_hashing_is_refused_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MENTORFLOW_ENV", "production")
    monkeypatch.setenv("MENTORFLOW_SECRET_KEY", "a-real-secret-of-enough-length-0123456789")
    monkeypatch.setenv("MENTORFLOW_PASSWORD_HASHING", "cheap")
    with pytest.raises(ValidationError, match="test suites only"):
        Settings()


@pytest.mark.parametrize("secret", ["x", "short-but-not-default", "0123456789abcdef0123456789abcde"])
def test_a_weak_secret_is_refused_outside_development(secret: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MENTORFLOW_ENV", "production")
    monkeypatch.setenv("MENTORFLOW_PASSWORD_HASHING", "standard")
    monkeypatch.setenv("MENTORFLOW_SECRET_KEY", secret)
    with pytest.raises(ValidationError, match="at least 32 characters"):
        Settings()
    monkeypatch.setenv("MENTORFLOW_SECRET_KEY", secret.ljust(32, "!"))
    assert len(Settings().secret_key) == 32
