"""A lifecycle run watches the log briefly before it suspends (``MENTORFLOW_ENGINE_LINGER``)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from models.settings import get_settings
from services.events import mark_processed
from tasks.lifecycle import news_within_linger
from tests.support import Clock, Journey, People


@pytest.fixture
def quiet_pair(db: Engine, clock: Clock, people: People, monkeypatch: pytest.MonkeyPatch) -> Journey:
    monkeypatch.setattr(get_settings(), "engine_linger", timedelta(seconds=1.5))
    monkeypatch.setattr("models.db.default_engine", lambda: db)
    journey = Journey(db, clock, people.mentee(), people.mentor()).request()
    with Session(db) as s:
        mark_processed(s, journey.mentorship_id, 1)  # the run has handled the request
        s.commit()
    return journey


def test_a_quiet_pair_lets_the_run_suspend(quiet_pair: Journey) -> None:
    assert news_within_linger.fn(quiet_pair.mentorship_id) is False


def test_a_fact_during_the_linger_is_picked_up_in_the_same_process(quiet_pair: Journey) -> None:
    accept = threading.Timer(0.3, quiet_pair.accept)
    accept.start()
    try:
        assert news_within_linger.fn(quiet_pair.mentorship_id) is True
    finally:
        accept.join()


def test_an_unknown_mentorship_has_no_news(quiet_pair: Journey) -> None:
    assert news_within_linger.fn(quiet_pair.mentorship_id + 1000) is False
