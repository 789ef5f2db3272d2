"""Fixtures for the consequence tests: settings pointed at the test database, a real SMTP
server (aiosmtpd) on a free port, and a pair of participants.

The database and the clock come from ``tests/conftest.py`` (migrated SQLite and PostgreSQL).
The tasks under test open their own sessions through ``models.db.session_scope()``, so each
test puts the settings (``MENTORFLOW_DATABASE_URL`` and friends) in the environment.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from models import Role
from models.db import default_engine
from models.settings import Settings, get_settings
from services.users import create_user
from tests.consequences.support import BASE_URL, Inbox, Pair, SmtpServer, free_port
from tests.support import Clock


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """Not started: call ``smtp.start()`` (or use ``inbox``)."""
    server = SmtpServer(port=free_port())
    yield server
    server.stop()


@pytest.fixture
def inbox(smtp: SmtpServer) -> Inbox:
    smtp.start()
    return smtp.inbox


# --- settings -----------------------------------------------------------------------------------


@pytest.fixture
def app_settings(
    db: Engine, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Settings]:
    """Settings as the tasks read them: the test database, the test SMTP port, a base URL."""
    monkeypatch.setenv("MENTORFLOW_DATABASE_URL", db.url.render_as_string(hide_password=False))
    monkeypatch.setenv("MENTORFLOW_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MENTORFLOW_SMTP_URL", f"smtp://127.0.0.1:{smtp.port}")
    monkeypatch.setenv("MENTORFLOW_BASE_URL", BASE_URL)
    monkeypatch.setenv("MENTORFLOW_MAIL_FROM", "Mentoring Program <program@example.org>")
    get_settings.cache_clear()
    default_engine.cache_clear()
    yield get_settings()
    default_engine().dispose()
    default_engine.cache_clear()
    get_settings.cache_clear()


@pytest.fixture
def pair(db: Engine, app_settings: Settings, clock: Clock) -> Pair:
    """Mia (mentee, English) and Max (mentor, German, capacity 2), no mentorship yet."""
    with Session(db, expire_on_commit=False) as session, session.begin():
        mentee = create_user(
            session,
            email="mia@example.org",
            password="correct horse",
            display_name="Mia Mentee",
            roles=[Role.MENTEE],
            now=clock.now,
        )
        mentor = create_user(
            session,
            email="max@example.org",
            password="correct horse",
            display_name="Max Mentor",
            roles=[Role.MENTOR],
            now=clock.now,
        )
        mentor.locale = "de"
        mentee.locale = "en"
        mentee.timezone = "Europe/London"
    return Pair(db, clock, mentee.id, mentor.id)
