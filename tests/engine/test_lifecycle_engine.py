"""The lifecycle engine against a real Prefect server (on PostgreSQL), a real runner and a real
task worker.

Facts are stated through ``services`` and the engine is told with ``after_fact``, as the API
does after each commit. The reconciler is run on demand (its schedule is ten minutes here).
"""

from __future__ import annotations

import signal
import sqlite3
import time
from collections import Counter
from functools import partial
from uuid import UUID

import pytest
from prefect import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.deployments import run_deployment
from prefect.exceptions import ObjectNotFound
from prefect.flow_runs import resume_flow_run
from prefect.states import Failed
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from deployments.serve import SWEEPS
from flows.lifecycle import ENDINGS
from models import Achievement, Certificate, Mentorship, OutgoingEmail, Stage
from services import handling
from services.engine_state import run_name
from services.events import append_event
from tasks.engine import read_lifecycle_runs, wake_lifecycle_run
from tests.engine.conftest import RunnerControl
from tests.engine.harness import Mailbox, PrefectServer, wait_until
from tests.engine.runs import (
    caught_up,
    flow_processes,
    heartbeat_of,
    mails_of,
    pass_windows,
    read_run,
    reconciled_until,
    run_id_of,
    run_reconciler,
    settle,
    started,
    state_of,
)
from tests.engine.walk import Walk

pytestmark = [pytest.mark.engine, pytest.mark.xdist_group("engine")]


def task_names(flow_run_id: str) -> list[str]:
    """The run's timeline: its task runs' names, oldest first."""
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[UUID(flow_run_id)])), limit=200
        )
    return [t.name for t in sorted(runs, key=lambda t: t.expected_start_time or t.start_time)]  # type: ignore[arg-type, return-value]


def sent_mail_keys(db: Engine, mentorship_id: int) -> list[str]:
    with Session(db) as s:
        return list(
            s.scalars(
                select(OutgoingEmail.dedupe_key).where(
                    OutgoingEmail.mentorship_id == mentorship_id, OutgoingEmail.sent_at.is_not(None)
                )
            )
        )


def unsent_mails(db: Engine, mentorship_id: int) -> int:
    with Session(db) as s:
        query = select(func.count()).where(
            OutgoingEmail.mentorship_id == mentorship_id, OutgoingEmail.sent_at.is_(None)
        )
        return s.scalar(query) or 0


def assert_each_mail_once(mailbox: Mailbox, walk: Walk, db: Engine) -> None:
    # the handler sends the mail after it handled the events: wait until it marked them sent,
    # or a mail in flight counts in the sink but not yet in the outbox
    wait_until(lambda: unsent_mails(db, walk.mentorship_id) == 0, timeout=30, what="the outbox sent")
    sent = sent_mail_keys(db, walk.mentorship_id)
    wait_until(lambda: len(mails_of(mailbox, walk)) >= len(sent), timeout=30, what="mail")
    ids = [str(m["Message-ID"]) for m in mails_of(mailbox, walk)]
    assert len(ids) == len(set(ids)), "a mail went out twice"
    assert len(ids) == len(sent)


# --- the tests ---------------------------------------------------------------------------------


def test_a_request_starts_a_run_that_says_what_it_waits_for(runner: RunnerControl, app_db: Engine) -> None:
    walk = Walk(app_db)
    walk.request()

    run = settle(walk)

    assert run.name == run_name(walk.mentorship_id)
    assert run.state is not None
    assert run.state.name == "Suspended"
    assert run.state.message is not None
    assert run.state.message.startswith("Waiting for the mentor's answer to the request.")
    assert {"stage:requested", "waiting:mentor", run_name(walk.mentorship_id)} <= set(run.tags)
    assert run.empirical_policy.pause_keys == {f"mentor-answer-{walk.mentorship().last_seq}"}
    wait_until(lambda: not flow_processes(runner), timeout=15, what="the flow process to exit")


def test_facts_a_wait_does_not_await_leave_the_run_asleep_but_its_tags_true(
    runner: RunnerControl, app_db: Engine
) -> None:
    walk = started(Walk(app_db))
    run_id = run_id_of(walk)
    passes = len(pass_windows(run_id))
    assert "waiting:mentee" in read_run(run_id).tags  # propose the get-to-know-you meeting

    walk.save_draft()
    walk.submit()  # now the mentor must approve
    wait_until(lambda: caught_up(walk), timeout=30, interval=0.05, what="consequences")
    wait_until(lambda: "waiting:mentor" in read_run(run_id).tags, timeout=10, what="the tags")

    assert len(pass_windows(run_id)) == passes  # not resumed
    assert state_of(run_id) == StateType.PAUSED
    assert "stage:intro" in read_run(run_id).tags

    walk.approve()  # the fact "intro" waits for
    wait_until(lambda: walk.mentorship().stage == Stage.ACTIVE, timeout=30, what="activation")
    run = settle(walk)
    assert len(pass_windows(run_id)) == passes + 1
    assert "stage:active" in run.tags
    assert run.state is not None
    assert run.state.message is not None
    assert run.state.message.startswith("Waiting for the final meeting, held by both.")


def test_a_fact_stated_during_a_pass_is_not_lost(runner: RunnerControl, app_db: Engine) -> None:
    walk = Walk(app_db)
    walk.request()
    walk.mentorship()
    wait_until(lambda: walk.mentorship().flow_run_id, timeout=30, what="the run")
    run_id = run_id_of(walk)
    wait_until(lambda: state_of(run_id) == StateType.RUNNING, timeout=30, interval=0.02, what="the pass")
    walk.accept()  # the run is reading the database or about to wait: no wake can reach it

    settle(walk)  # no reconciler involved
    assert walk.mentorship().run_stage == Stage.INTRO


def test_duplicate_late_and_operator_wakes_cannot_break_a_run(
    runner: RunnerControl, app_db: Engine, mailbox: Mailbox
) -> None:
    """Resumes that meet nothing, at the same position, from an operator's Resume button or
    a late duplicate of an API wake: the run checks, waits again under a fresh key, and the
    awaited fact still moves it on."""
    walk = started(Walk(app_db))
    run_id = run_id_of(walk)
    seq = walk.mentorship().last_seq

    def waited_under(key: str) -> bool:
        return key in (read_run(run_id).empirical_policy.pause_keys or ())

    for attempt in (2, 3):
        resume_flow_run(UUID(run_id), run_input={"fact": "an operator clicked Resume"}, _sync=True)  # type: ignore[call-arg]
        key = f"first-agreement-{seq}-{attempt}"
        wait_until(partial(waited_under, key), timeout=30, what=key)
        settle(walk)
    with pytest.raises(Exception, match="validation|Cannot resume|422"):  # noqa: PT011 - Prefect's own words
        resume_flow_run(UUID(run_id), run_input={"seq": "not a number"}, _sync=True)  # type: ignore[call-arg]
    assert state_of(run_id) == StateType.PAUSED

    walk.agree()
    wait_until(lambda: walk.mentorship().stage == Stage.ACTIVE, timeout=30, what="activation")
    run = settle(walk)
    assert "stage:active" in run.tags
    assert_each_mail_once(mailbox, walk, app_db)


def test_a_whole_mentorship_resumes_three_times_and_its_timeline_shows_the_stages(
    runner: RunnerControl, app_db: Engine, mailbox: Mailbox
) -> None:
    """Ten meetings and an amendment: the run resumes only for the mentor's answer, the first
    agreement and the final meeting; every fact's consequences happen once."""
    walk = Walk(app_db)
    walk.request()
    settle(walk)  # waits for the mentor's answer
    walk.accept()
    walk.hold_meeting()  # get-to-know-you
    settle(walk)
    walk.agree()
    for _ in range(8):
        walk.hold_meeting()
    walk.save_draft(planned_meetings=9)  # an amendment, approved by the other side
    walk.submit()
    walk.approve(number=2)
    settle(walk)
    walk.hold_meeting(is_final=True)

    wait_until(lambda: walk.mentorship().stage == Stage.COMPLETED, timeout=90, what="completion")
    run = settle(walk)
    run_id = str(run.id)
    assert run.state is not None
    assert run.state.type == StateType.COMPLETED
    assert "stage:completed" in run.tags

    resumes = len(run.empirical_policy.pause_keys or ())  # every suspension was resumed
    print(f"\nresumes over the whole mentorship: {resumes}")  # noqa: T201
    assert resumes == 3  # the mentor's answer, the first agreement, the final meeting
    names = task_names(run_id)
    for step in ("activate", "begin-closing", "complete", "finish"):
        assert any(name.startswith(f"{step}-") for name in names), (step, names)
    assert sum(name.startswith("issue-certificate-to-user-") for name in names) == 2
    stage_steps = ("activate-", "begin-closing-", "issue-certificate-to-user-", "complete-", "finish-")
    assert all(name.startswith(stage_steps) for name in names), names  # nothing but the stages

    with Session(app_db) as s:
        held = Counter(
            s.scalars(
                select(Achievement.kind).where(
                    Achievement.mentorship_id == walk.mentorship_id, Achievement.kind == "meeting_held"
                )
            )
        )
        certificates = s.scalars(
            select(Certificate.user_id).where(Certificate.mentorship_id == walk.mentorship_id)
        ).all()
    assert held["meeting_held"] == 2 * 10  # get-to-know-you, eight more, the final one
    assert sorted(certificates) == sorted([walk.mentee_id, walk.mentor_id])
    assert_each_mail_once(mailbox, walk, app_db)


def test_an_early_end_finishes_the_run(runner: RunnerControl, app_db: Engine) -> None:
    walk = started(Walk(app_db))
    walk.end()

    run = settle(walk)
    assert run.state is not None
    assert run.state.type == StateType.COMPLETED
    assert run.state.message == ENDINGS[Stage.ENDED]
    assert "stage:ended" in run.tags


def test_a_pass_reads_only_runs_that_may_need_it_and_restarts_a_deleted_one(
    runner: RunnerControl, app_db: Engine
) -> None:
    """A suspended run whose wait is not met is counted, not read (at 10,000 mentorships,
    reading every run took Prefect 15 s a pass). A run deleted in the UI is missing from the
    count; the reconciler starts the mentorship a new one, which waits in its stage."""
    walk = started(Walk(app_db))
    run_id = run_id_of(walk)
    waiting = read_lifecycle_runs([run_id], look_closer_after_s=90)
    assert (waiting.looked_at, waiting.missing) == ({}, frozenset())
    asked = read_lifecycle_runs([run_id], also_suspended=[run_id], look_closer_after_s=90)
    assert [view.state_type for view in asked.looked_at.values()] == ["PAUSED"]

    with get_client(sync_client=True) as client:
        client.delete_flow_run(UUID(run_id))
    assert read_lifecycle_runs([run_id], look_closer_after_s=90).missing == {run_id}
    run_reconciler()
    new_run = settle(walk)
    assert str(new_run.id) != run_id
    assert state_of(str(new_run.id)) == StateType.PAUSED
    assert f"stage:{walk.mentorship().stage}" in new_run.tags


def test_a_failed_run_is_tried_again_within_seconds_whatever_its_failure_said(
    runner: RunnerControl, app_db: Engine
) -> None:
    """A pass fails when the database or Prefect goes away in its middle (tests/reliability);
    the reconciler puts the run back in line 15 s after its first failure in a row, whatever
    the message (ten minutes before, for any message it did not know)."""
    walk = started(Walk(app_db))
    walk.agree()
    paused = settle(walk)
    run_id = str(paused.id)
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(UUID(run_id), Failed(message="KeyError: 'nobody'"), force=True)
    [view] = read_lifecycle_runs([run_id], look_closer_after_s=90).looked_at.values()
    assert (view.state_type, view.failures_in_a_row) == ("FAILED", 1)

    run_reconciler()  # too soon: it waits 15 s after the failure
    assert state_of(run_id) == StateType.FAILED
    time.sleep(15)
    wait_until(lambda: reconciled_until(run_id, StateType.PAUSED), timeout=60, interval=2, what="the retry")
    assert "stage:active" in read_run(run_id).tags
    asked = read_lifecycle_runs([run_id], also_suspended=[run_id], look_closer_after_s=90)
    assert [view.failures_in_a_row for view in asked.looked_at.values()] == [0]


def test_consequences_wait_for_a_task_worker_and_happen_once_it_is_back(
    runner: RunnerControl, task_worker: RunnerControl, app_db: Engine, mailbox: Mailbox
) -> None:
    walk = started(Walk(app_db))
    task_worker.kill()
    try:
        walk.save_draft()
        walk.submit()
        time.sleep(2)
        assert walk.mentorship().processed_seq < walk.mentorship().last_seq
    finally:
        task_worker.start()
    wait_until(lambda: caught_up(walk), timeout=60, what="the backlog")
    assert_each_mail_once(mailbox, walk, app_db)
    # background tasks have no flow run to send logs to: no warning about it for every task
    assert "without a flow run id" not in task_worker.log_path.read_text(errors="replace")


def test_a_consequence_that_keeps_failing_is_set_aside_and_later_events_go_on(
    runner: RunnerControl, task_worker: RunnerControl, app_db: Engine, mailbox: Mailbox
) -> None:
    """One event whose consequences raise on every try (a stand-in for a bug, or data no
    template can show) is tried three times, then set aside with its error; the facts after it
    have their consequences as if it were not there."""
    walk = started(Walk(app_db))
    with Session(app_db) as s:
        mentorship = s.get_one(Mentorship, walk.mentorship_id)
        append_event(s, mentorship, "meeting.proposed", actor_id=walk.mentee_id, now=walk.clock.now)
        s.commit()
    walk.tell_engine()
    walk.save_draft()
    walk.submit()

    wait_until(lambda: caught_up(walk), timeout=90, what="the events after the bad one")

    with Session(app_db) as s:
        [bad] = handling.set_aside_events(s)
        later = s.scalars(select(OutgoingEmail.kind).where(OutgoingEmail.mentorship_id == walk.mentorship_id))
        kinds = set(later)
    assert (bad.mentorship_id, bad.type, bad.failures) == (walk.mentorship_id, "meeting.proposed", 3)
    assert bad.last_error is not None
    assert bad.last_error.startswith("KeyError")
    assert "agreement_submitted" in kinds  # the fact after it had its mail
    assert_each_mail_once(mailbox, walk, app_db)


def test_facts_stated_while_prefect_is_down_are_caught_up_after_its_restart(
    prefect_server: PrefectServer, runner: RunnerControl, task_worker: RunnerControl, app_db: Engine
) -> None:
    walk = started(Walk(app_db))
    prefect_server.stop()

    began = time.monotonic()
    walk.save_draft()
    walk.submit()
    walk.approve()  # meets the run's wait: the wake is lost with Prefect
    assert time.monotonic() - began < 1.0  # telling the engine never holds up a fact
    for job in walk.notified[-3:]:
        assert job.result(timeout=120) is None  # failed quietly: logged, nothing raised
    assert not caught_up(walk)

    seconds = prefect_server.start()
    print(f"\nPrefect server healthy again after {seconds:.1f} s")  # noqa: T201
    for part in (runner, task_worker):
        assert part.process is not None
        assert part.process.running, f"{part.log_path.name}: did not survive the server's absence"
    run_reconciler(resubmit_after_seconds=0)

    wait_until(lambda: walk.mentorship().stage == Stage.ACTIVE, timeout=60, what="activation")
    settle(walk)


def test_a_whole_lifecycle_survives_a_runner_killed_mid_pass(
    runner: RunnerControl, app_db: Engine, mailbox: Mailbox
) -> None:
    walk = started(Walk(app_db))
    walk.agree()
    walk.hold_meeting()
    settle(walk)
    assert walk.mentorship().stage == Stage.ACTIVE  # moved by the flow

    walk.hold_meeting(is_final=True)  # the pass that follows issues certificates: seconds long
    run_id = run_id_of(walk)
    wait_until(lambda: state_of(run_id) == StateType.RUNNING, timeout=60, interval=0.05)
    wait_until(lambda: heartbeat_of(run_id), timeout=20, what="the run's first heartbeat")
    runner.kill()  # the whole process group, flow run included, like a machine dying
    runner.start()
    time.sleep(2)
    assert state_of(run_id) == StateType.RUNNING  # a new runner ignores it: the known hole

    run_reconciler(stale_after_seconds=3)  # a short threshold instead of waiting 90 s

    wait_until(lambda: state_of(run_id) == StateType.COMPLETED, timeout=90, what="completion")
    mentorship = walk.mentorship()
    assert mentorship.stage == Stage.COMPLETED
    wait_until(lambda: caught_up(walk), timeout=30, what="consequences")
    with Session(app_db) as s:
        holders = set(
            s.scalars(select(Certificate.user_id).where(Certificate.mentorship_id == walk.mentorship_id))
        )
    assert holders == {walk.mentee_id, walk.mentor_id}
    assert_each_mail_once(mailbox, walk, app_db)


def test_a_run_cancelled_by_a_runner_shutting_down_is_taken_up_again(
    runner: RunnerControl, app_db: Engine, mailbox: Mailbox
) -> None:
    """Prefect's runner, stopped politely (SIGTERM: a restart, Ctrl-C on ``mentorflow up``),
    cancels the runs it is executing. The reconciler tells that from an operator's cancel."""
    walk = started(Walk(app_db))
    walk.agree()
    walk.hold_meeting()
    settle(walk)

    walk.notify = False  # the engine is told below, once the database is held
    walk.hold_meeting(is_final=True)
    # The closing pass takes about a second once certificates render warm: too short to stop
    # the runner in. Another writer holding the database keeps the pass under way meanwhile.
    # The wake only reads; the API's whole telling (after_fact) also writes a note first, which
    # the lock held up instead of the pass when it came after the lock (seen in CI).
    assert app_db.url.database is not None
    other_writer = sqlite3.connect(app_db.url.database, isolation_level=None)
    other_writer.execute("BEGIN IMMEDIATE")
    wake_lifecycle_run(walk.mentorship_id, db=app_db)
    run_id = run_id_of(walk)
    assert runner.process is not None
    assert runner.process.popen is not None
    try:
        wait_until(lambda: state_of(run_id) == StateType.RUNNING, timeout=25, interval=0.05)
        runner.process.popen.send_signal(signal.SIGTERM)  # to the runner alone, as systemd does
        # The runner signals the run's process at once, but a process waiting for SQLite's lock
        # sees the signal only when the wait returns: let it go on a few seconds later.
        time.sleep(3.0)
        other_writer.rollback()
        runner.process.popen.wait(timeout=30)
        run = read_run(run_id)
        assert run.state is not None
        assert run.state.type == StateType.CANCELLED, run.state
    finally:
        other_writer.close()  # ends its transaction, if the test failed before the rollback
        runner.stop()  # whatever is left of its process group
        runner.start()

    # ticks as the schedule gives them: a pass the runner was running when it got SIGTERM holds
    # the reconciler's slot until its lease ends, and the passes meanwhile leave the work to it
    try:
        wait_until(lambda: reconciled_until(run_id, StateType.COMPLETED), timeout=150, interval=3)
    except TimeoutError as late:
        raise AssertionError(f"the run is still {read_run(run_id).state} after 150 s of ticks") from late
    assert walk.mentorship().stage == Stage.COMPLETED
    assert_each_mail_once(mailbox, walk, app_db)


def test_reconciler_passes_never_overlap_and_a_skipped_pass_says_so(runner: RunnerControl) -> None:
    from tasks.engine import AnotherPassRunning, one_reconciler_pass

    with one_reconciler_pass():  # this test holds the slot, as a long pass would
        with pytest.raises(AnotherPassRunning), one_reconciler_pass():
            pass
        run_reconciler()  # a pass that finds the slot taken completes at once, doing nothing
    with one_reconciler_pass():  # released: the next pass gets it
        pass


def test_every_scheduled_sweep_completes_when_the_runner_runs_it(runner: RunnerControl) -> None:
    """As its schedule starts it: through the runner, in a forked process, no parameters. (The
    sweeps taking ``now: datetime | None`` once failed there validating their parameters.)"""
    for sweep, name, _every in SWEEPS:
        # the runner registers the sweeps after the deployments its fixture waits for
        wait_until(partial(deployment_exists, f"{sweep.name}/{name}"), timeout=60, what=sweep.name)
        run: FlowRun = run_deployment(  # type: ignore[assignment, call-arg]
            f"{sweep.name}/{name}", timeout=90, poll_interval=0.5, as_subflow=False, _sync=True
        )
        assert run.state is not None
        assert run.state.is_completed(), f"{sweep.name}: {run.state}"


def deployment_exists(name: str) -> bool:
    with get_client(sync_client=True) as client:
        try:
            client.read_deployment_by_name(name)
        except ObjectNotFound:
            return False
    return True
