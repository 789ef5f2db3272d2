"""The fast lane's loop on a real database: who gets handled, once at a time, and what a
failure costs. The handler here records and marks events handled; the real one (the
lifecycle's ``catch_up`` plus sending mail) runs against Prefect in ``tests/engine``."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from flows.fast_lane import FIRST_REST_SECONDS, FastLane
from models import Mentorship
from models.db import read_scope
from services.events import mark_processed
from tests.engine.harness import wait_until
from tests.support import Clock, Journey, People


def handled_all(db: Engine, mentorship_id: int) -> None:
    with Session(db) as s:
        last_seq = s.get_one(Mentorship, mentorship_id).last_seq
        mark_processed(s, mentorship_id, last_seq)
        s.commit()


class Recorder:
    """Marks events handled, remembers who it handled, and how many at once it ever had."""

    def __init__(self, db: Engine, pause: float = 0.0, fail_for: set[int] | None = None) -> None:
        self.db, self.pause, self.fail_for = db, pause, fail_for or set()
        self.calls: list[int] = []
        self.busy: set[int] = set()
        self.overlaps = 0
        self._lock = threading.Lock()

    def __call__(self, mentorship_id: int) -> None:
        with self._lock:
            self.calls.append(mentorship_id)
            self.overlaps += mentorship_id in self.busy
            self.busy.add(mentorship_id)
        try:
            time.sleep(self.pause)
            if mentorship_id in self.fail_for:
                raise RuntimeError("this event cannot be handled")
            handled_all(self.db, mentorship_id)
        finally:
            with self._lock:
                self.busy.discard(mentorship_id)


@contextmanager
def running(lane: FastLane) -> Iterator[None]:
    stop = threading.Event()
    thread = threading.Thread(target=lane.run, args=(stop,))
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)
        assert not thread.is_alive(), "the lane did not stop"


def requested(db: Engine, clock: Clock, people: People) -> Journey:
    return Journey(db, clock, people.mentee(), people.mentor()).request()


def pending(db: Engine, mentorship_id: int) -> int:
    with Session(db) as s:
        m = s.get_one(Mentorship, mentorship_id)
        return m.last_seq - m.processed_seq


def test_a_stated_fact_is_handled_once_and_then_left_alone(db: Engine, clock: Clock, people: People) -> None:
    recorder = Recorder(db)
    lane = FastLane(handle=recorder, poll_seconds=0.02, db=db)
    with running(lane):
        pair = requested(db, clock, people)
        wait_until(lambda: pending(db, pair.mentorship_id) == 0, timeout=10, what="the request handled")
        pair.accept()
        wait_until(lambda: pending(db, pair.mentorship_id) == 0, timeout=10, what="the accept handled")
        time.sleep(0.2)  # ten more looks at the log: nothing left to hand out
    assert recorder.calls == [pair.mentorship_id, pair.mentorship_id]


def test_a_mentorship_is_worked_on_by_one_worker_at_a_time(db: Engine, clock: Clock, people: People) -> None:
    recorder = Recorder(db, pause=0.3)
    lane = FastLane(handle=recorder, poll_seconds=0.01, workers=4, db=db)
    pair = requested(db, clock, people)
    with running(lane):
        wait_until(lambda: pending(db, pair.mentorship_id) == 0, timeout=10, what="handled")
    assert recorder.overlaps == 0
    assert recorder.calls == [pair.mentorship_id]  # 30 looks at the log while it was in hand


def test_a_failing_mentorship_rests_and_does_not_hold_up_the_others(
    db: Engine, clock: Clock, people: People
) -> None:
    broken = requested(db, clock, people)
    fine = requested(db, clock, people)
    recorder = Recorder(db, fail_for={broken.mentorship_id})
    lane = FastLane(handle=recorder, poll_seconds=0.01, db=db, clock=lambda: 0.0)  # the rest never ends
    with running(lane):
        wait_until(lambda: pending(db, fine.mentorship_id) == 0, timeout=10, what="the fine one handled")
        time.sleep(0.3)  # thirty more looks at the log
    tries = recorder.calls.count(broken.mentorship_id)
    assert tries == 1, f"{tries} tries while resting; expected one"
    assert pending(db, broken.mentorship_id) == 1  # left for the lifecycle run and the reconciler


def test_a_rested_mentorship_is_tried_again_and_recovers(db: Engine, clock: Clock, people: People) -> None:
    now = [0.0]
    pair = requested(db, clock, people)
    recorder = Recorder(db, fail_for={pair.mentorship_id})
    lane = FastLane(handle=recorder, db=db, clock=lambda: now[0])

    def one_look() -> None:
        for mentorship_id in lane.take_waiting():
            lane.work_on(mentorship_id)

    one_look()
    one_look()  # still resting
    now[0] += FIRST_REST_SECONDS
    one_look()  # tried again, fails again: rests twice as long
    now[0] += FIRST_REST_SECONDS
    one_look()
    recorder.fail_for.clear()
    now[0] += FIRST_REST_SECONDS
    one_look()
    assert recorder.calls == [pair.mentorship_id] * 3
    assert pending(db, pair.mentorship_id) == 0


def test_looking_at_the_log_does_not_wait_for_a_writer(db: Engine, clock: Clock, people: People) -> None:
    """On SQLite every writer holds the database lock; the lane's look must not queue behind it
    (nor hold up the API). On PostgreSQL a reader never waits for a row lock anyway."""
    pair = requested(db, clock, people)
    with db.connect() as writer:
        writer.begin()  # SQLite: BEGIN IMMEDIATE, the write lock until rollback
        writer.execute(
            text("UPDATE mentorship SET closing_reason = 'x' WHERE id = :id"), {"id": pair.mentorship_id}
        )
        began = time.monotonic()
        waiting = FastLane(db=db).take_waiting()
        looked = time.monotonic() - began
        writer.rollback()
    assert waiting == [pair.mentorship_id]
    assert looked < 5, f"the look waited {looked:.1f} s for the writer"


def test_a_read_scope_writes_nothing(db: Engine, clock: Clock, people: People) -> None:
    pair = requested(db, clock, people)
    with read_scope(db) as session:
        session.get_one(Mentorship, pair.mentorship_id).closing_reason = "never stored"
        session.flush()
    with Session(db) as s:
        assert s.get_one(Mentorship, pair.mentorship_id).closing_reason is None


@pytest.mark.parametrize("stop_after", [0.0, 0.05])
def test_the_lane_stops_when_told(db: Engine, stop_after: float) -> None:
    lane = FastLane(handle=lambda _: None, poll_seconds=0.01, db=db)
    stop = threading.Event()
    threading.Timer(stop_after, stop.set).start()
    began = time.monotonic()
    lane.run(stop)
    assert time.monotonic() - began < 2
