"""The fast lane: a fact's consequences within a second, not after the next flow resume.

A suspended lifecycle run holds no process while its pair is quiet, but waking it costs the
runner's next poll and a new process: about 2 s on this kind of machine with the warm start,
3–5 s without it (BENCHMARKS.md). The other side's e-mail and the stage move should not wait
that long. The fast lane is one warm
process (``python -m deployments.fast_lane``) that watches the event log and, for each
mentorship with unhandled events, runs the lifecycle's own ``catch_up`` and sends the mail
straight away: the same tasks in the same order, so it does exactly what the run would do.
The run, woken by the API as before, finds the events handled, shows operators where the
mentorship stands and suspends again.

Both may handle the same event at the same moment. Every step is idempotent per event and
recipient, so that costs some work but never a second mail. The fast lane speeds things up
and nothing depends on it: when it (or Prefect, since its steps are Prefect tasks) is down,
the lifecycle run does the work.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy import Engine

from flows.lifecycle import catch_up
from models.db import read_scope
from services.events import mentorships_with_pending_events
from tasks.consequences import send_pending_mail

log = logging.getLogger(__name__)

#: After a failed attempt a mentorship rests 1 s, then 2, 4, … up to a minute, so one broken
#: event cannot keep the lane busy; the lifecycle run and the reconciler handle it meanwhile.
FIRST_REST_SECONDS = 1.0
LONGEST_REST_SECONDS = 60.0


def handle_now(mentorship_id: int) -> None:
    """What a lifecycle pass does before it shows where things stand: handle, then send."""
    catch_up(mentorship_id)
    send_pending_mail()


@dataclass
class FastLane:
    """Watches the event log every ``poll_seconds``; one worker per mentorship at a time."""

    handle: Callable[[int], None] = handle_now
    poll_seconds: float = 0.1
    workers: int = 4
    db: Engine | None = None
    clock: Callable[[], float] = time.monotonic
    _in_hand: set[int] = field(default_factory=set, init=False, repr=False)
    # mentorship id → (failures in a row, clock time its rest ends)
    _failures: dict[int, tuple[int, float]] = field(default_factory=dict, init=False, repr=False)
    # how many pieces of work have finished, and that count when each mentorship's last one did:
    # a look at the log that began before a mentorship's work ended may still list it
    _finished: int = field(default=0, init=False, repr=False)
    _finished_at: dict[int, int] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def run(self, stop: threading.Event) -> None:
        """Until ``stop`` is set; then finishes what it has in hand."""
        cannot_read = False
        with ThreadPoolExecutor(self.workers, thread_name_prefix="fast-lane") as pool:
            while not stop.is_set():
                try:
                    for mentorship_id in self.take_waiting():
                        pool.submit(self.work_on, mentorship_id)
                except Exception as error:  # the database is away: say so once, keep looking
                    if not cannot_read:
                        log.warning("fast lane cannot read the event log; trying every second: %r", error)
                    cannot_read = True
                    stop.wait(1.0)
                    continue
                if cannot_read:
                    log.info("fast lane reads the event log again")
                cannot_read = False
                stop.wait(self.poll_seconds)

    def take_waiting(self) -> list[int]:
        """Mentorships with unhandled events that nobody here works on and that are not resting."""
        with self._lock:
            finished_before = self._finished
        with read_scope(self.db) as session:
            waiting = mentorships_with_pending_events(session)
        now = self.clock()
        with self._lock:
            taken = [
                m
                for m in waiting
                if m not in self._in_hand
                and self._finished_at.get(m, 0) <= finished_before  # else the look may be stale
                and self._failures.get(m, (0, 0.0))[1] <= now
            ]
            self._in_hand.update(taken)
        return taken

    def work_on(self, mentorship_id: int) -> None:
        try:
            self.handle(mentorship_id)
        except Exception as error:
            self._rest(mentorship_id, error)
        else:
            with self._lock:
                self._failures.pop(mentorship_id, None)
        finally:
            with self._lock:
                self._finished += 1
                self._finished_at[mentorship_id] = self._finished
                self._in_hand.discard(mentorship_id)

    def _rest(self, mentorship_id: int, error: Exception) -> None:
        with self._lock:
            count = self._failures.get(mentorship_id, (0, 0.0))[0] + 1
            rest = min(LONGEST_REST_SECONDS, FIRST_REST_SECONDS * 2 ** (count - 1))
            self._failures[mentorship_id] = (count, self.clock() + rest)
        log.warning(
            "fast lane: mentorship %s failed (%d× in a row), resting %.0f s: %r",
            mentorship_id,
            count,
            rest,
            error,
        )
