"""What the engine records in the application database, on SQLite and PostgreSQL: handlers'
leases and the event cursor, and the lifecycle run's wait (when a fact meets it)."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from models import Mentorship, Stage, User
from services import agreements, engine_state, handling
from services.agreements import AgreementTerms
from services.lifecycle import Fact
from services.mentorships import decide
from tests.support import TERMS, Clock, Journey, People


def journey(db: Engine, clock: Clock, people: People) -> Journey:
    return Journey(db, clock, people.mentee(), people.mentor()).request()


def test_one_handler_holds_a_mentorship_until_it_lets_go_or_its_lease_runs_out(
    db: Engine, clock: Clock, people: People
) -> None:
    mid = journey(db, clock, people).mentorship_id
    with Session(db) as s, s.begin():
        assert handling.claim(s, mid, token="a", now=clock.now)
    with Session(db) as s, s.begin():
        assert not handling.claim(s, mid, token="b", now=clock.now)
        assert handling.claim(s, mid, token="a", now=clock.now + timedelta(seconds=5))  # renewed
    with Session(db) as s, s.begin():
        later = clock.now + timedelta(seconds=5) + handling.LEASE + timedelta(seconds=1)
        assert handling.claim(s, mid, token="b", now=later)  # a's lease ran out: b takes over
    with Session(db) as s, s.begin():
        handling.release(s, mid, token="a")  # a no longer holds it: changes nothing
        assert not handling.claim(s, mid, token="c", now=later)
        handling.release(s, mid, token="b")
        assert handling.claim(s, mid, token="c", now=later)


def test_one_handler_is_queued_at_a_time_until_it_starts_or_is_taken_for_lost(
    db: Engine, clock: Clock, people: People
) -> None:
    mid = journey(db, clock, people).mentorship_id
    soon = clock.now + timedelta(seconds=1)
    with Session(db) as s, s.begin():
        assert handling.queue_handler(s, mid, now=clock.now)  # nobody queued: queue one
        assert not handling.queue_handler(s, mid, now=soon)  # the queued one will take it all
        # a stage step does not trust the note: its pass may have taken over from a killed one
        assert handling.queue_handler(s, mid, now=soon, even_if_queued=True)
    with Session(db) as s, s.begin():
        assert handling.claim(s, mid, token="a", now=soon)  # it starts
        assert not handling.queue_handler(s, mid, now=soon)  # at work: it looks again at the end
        assert not handling.queue_handler(s, mid, now=soon, even_if_queued=True)
        handling.release(s, mid, token="a")
        assert handling.queue_handler(s, mid, now=soon)  # done: the next fact queues a new one
    with Session(db) as s, s.begin():
        lost = soon + handling.QUEUED_FOR + timedelta(seconds=1)
        assert handling.queue_handler(s, mid, now=lost)  # never started: taken for lost
        handling.unqueue_handler(s, mid)  # Prefect refused it
        assert handling.queue_handler(s, mid, now=lost)
    with Session(db) as s, s.begin():
        handling.claim(s, mid, token="b", now=lost)
        dead = lost + handling.LEASE + timedelta(seconds=1)
        assert handling.queue_handler(s, mid, now=dead)  # its worker died with the lease


def test_each_event_is_taken_once_in_order_even_by_handlers_racing(
    db: Engine, clock: Clock, people: People
) -> None:
    walk = journey(db, clock, people).accept()
    walk.agree()  # draft, submit, approve: five events in all
    taken: list[int] = []
    lock = threading.Lock()

    def handler() -> None:
        while True:
            with Session(db) as s, s.begin():
                event = handling.take_next_event(s, walk.mentorship_id)
                if event is None:
                    return
                with lock:
                    taken.append(event.seq)

    threads = [threading.Thread(target=handler) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    with Session(db) as s:
        last = s.get_one(Mentorship, walk.mentorship_id).last_seq
        assert not handling.has_unhandled_events(s, walk.mentorship_id)
    assert sorted(taken) == taken == list(range(1, last + 1))


def run_stage(db: Engine, mid: int) -> str | None:
    with Session(db) as s:
        return s.get_one(Mentorship, mid).run_stage


def wait_met(db: Engine, mid: int) -> bool:
    """As the API sees it (one mentorship), and the same as the reconciler sees it (all at once)."""
    with Session(db) as s:
        met = engine_state.wait_is_met(s, s.get_one(Mentorship, mid))
        targets = {t.mentorship_id: t for t in engine_state.engine_targets(s)}
    if mid in targets:  # it is while the engine owes it something
        assert targets[mid].wait_met == met
    return met


def test_only_the_fact_a_wait_awaits_meets_it(db: Engine, clock: Clock, people: People) -> None:
    walk = journey(db, clock, people)
    mid = walk.mentorship_id
    with Session(db) as s, s.begin():
        check = engine_state.check_wait(s, mid, Stage.REQUESTED)
    assert not check.met
    assert run_stage(db, mid) == Stage.REQUESTED
    assert not wait_met(db, mid)

    walk.accept()  # the mentor's answer: what the run waits for in "requested"
    assert wait_met(db, mid)
    with Session(db) as s, s.begin():
        assert engine_state.begin_pass(s, mid) == Stage.INTRO
    assert run_stage(db, mid) is None
    assert not wait_met(db, mid)  # a pass is under way: nobody wakes it

    with Session(db) as s, s.begin():
        assert not engine_state.check_wait(s, mid, Stage.INTRO).met
    walk.hold_meeting()  # the get-to-know-you meeting: not what "intro" waits for
    with Session(db) as s, s.begin():
        agreements.save_draft(s, s.get_one(User, walk.mentee_id), mid, AgreementTerms(**TERMS), now=clock.now)
        agreements.submit(s, s.get_one(User, walk.mentee_id), mid, now=clock.now)
    assert not wait_met(db, mid)  # drafted and submitted, not approved yet
    with Session(db) as s, s.begin():
        agreements.decide(s, s.get_one(User, walk.mentor_id), mid, number=1, approve=True, now=clock.now)
    assert wait_met(db, mid)  # the first agreement approved
    with Session(db) as s, s.begin():
        check = engine_state.check_wait(s, mid, Stage.INTRO)
    assert check.met  # a run about to wait sees it and moves on instead
    assert run_stage(db, mid) is None


def test_an_early_end_meets_any_wait(db: Engine, clock: Clock, people: People) -> None:
    walk = journey(db, clock, people).accept()
    mid = walk.mentorship_id
    with Session(db) as s, s.begin():
        engine_state.check_wait(s, mid, Stage.INTRO)
    with Session(db) as s, s.begin():
        decide(s, s.get_one(User, walk.mentee_id), mid, Fact.END, now=clock.now)
    assert wait_met(db, mid)
    with Session(db) as s, s.begin():
        assert engine_state.finish_run(s, mid) == Stage.ENDED
    assert not wait_met(db, mid)
    with Session(db) as s:
        [target] = engine_state.engine_targets(s)
        assert target.run_finished
        assert target.has_unhandled_events  # the run is done; the consequences still owed
    with Session(db) as s, s.begin():
        while handling.take_next_event(s, mid) is not None:
            pass
    with Session(db) as s:
        assert engine_state.engine_targets(s) == []  # the engine owes it nothing


def test_a_wait_key_is_new_and_prefect_accepts_it() -> None:
    assert engine_state.wait_key(Stage.INTRO, 17, set()) == "first-agreement-17"
    assert engine_state.wait_key(Stage.INTRO, 17, {"first-agreement-17"}) == "first-agreement-17-2"
    fired = {"final-meeting-40", "final-meeting-40-2"}
    assert engine_state.wait_key(Stage.ACTIVE, 40, fired) == "final-meeting-40-3"
    for stage in engine_state.STAGE_WAITS:
        key = engine_state.wait_key(stage, 123, {engine_state.wait_key(stage, 123, set())})
        assert all(c.islower() or c.isdigit() or c == "-" for c in key), key


def test_the_reconciler_sees_every_met_wait_the_api_sees(db: Engine, clock: Clock, people: People) -> None:
    """All live mentorships at once (a few queries, not one each) tell what one by one tells."""
    intro = journey(db, clock, people).accept()
    approved = journey(db, clock, people).accept().agree()
    active = journey(db, clock, people).accept().agree().activate()
    final_held = journey(db, clock, people).accept().agree().activate()
    final_held.hold_meeting(is_final=True)
    with Session(db) as s, s.begin():
        for walk in (intro, approved, active, final_held):
            mentorship = s.get_one(Mentorship, walk.mentorship_id)
            mentorship.run_stage = mentorship.stage  # its run waits there
    with Session(db) as s:
        seen = {t.mentorship_id: t.wait_met for t in engine_state.engine_targets(s)}
    assert seen == {
        intro.mentorship_id: False,
        approved.mentorship_id: True,  # the first agreement approved
        active.mentorship_id: False,
        final_held.mentorship_id: True,  # the final meeting held
    }
    assert all(wait_met(db, mid) == met for mid, met in seen.items())
