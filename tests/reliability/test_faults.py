"""Scale-out on loopback: mentorflow spread over several processes as over several machines,
with one task worker and one flow worker killed midway.

The set-up (``deployments/README.md`` maps it onto machines):

- a Prefect server on PostgreSQL with Redis messaging (``prefect-redis``; Redis at
  127.0.0.1:6379 here), its own database created for this test and dropped after;
- the application database on PostgreSQL, its own database too;
- two flow workers (two runners serving the deployments, ``python -m deployments.serve``) and
  two task workers (``python -m deployments.task_worker``), sharing one result storage;
- two API processes behind one address (``uvicorn --workers 2``);
- an SMTP sink that keeps every message.

``SCALE_OUT_LIFECYCLES`` mentorships (50 in the test command; ``MENTORFLOW_SCALE_OUT_LIFECYCLES`` sets
it) go from the request to the downloaded certificate through the HTTP API, phase by phase
(every pair at once), with real time (meetings start seconds later). Right after the burst
of first-agreement approvals, one runner and one task worker are SIGKILLed with everything
they run. Afterwards every mail, achievement and certificate exists exactly once (a mail the
killed worker had handed to SMTP but not yet marked sent may arrive a second time, with the
same Message-ID: at most one), and every lifecycle run is Completed with ``stage:completed``.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from typing import Any
from uuid import UUID

import httpx
import pytest
import redis
from prefect import get_client
from prefect.client.schemas.filters import FlowFilter, FlowFilterName, FlowRunFilter, FlowRunFilterId
from prefect.context import refresh_global_settings_context
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from migrations import upgrade
from models import Achievement, Certificate, Mentorship, Role, Stage
from models.db import make_engine
from models.settings import get_settings
from services.engine_state import LIFECYCLE_FLOW
from services.users import create_user
from tests.engine.harness import (
    PYTHON,
    Mailbox,
    PrefectServer,
    Process,
    child_env,
    create_pg_database,
    deployments_exist,
    drop_pg_database,
    free_port,
    wait_until,
)
from tests.support import mint_token

pytestmark = [pytest.mark.engine, pytest.mark.scaleout, pytest.mark.xdist_group("scaleout")]

SCALE_OUT_LIFECYCLES = int(os.environ.get("MENTORFLOW_SCALE_OUT_LIFECYCLES", "50"))
REDIS_DB = 7  # Redis here serves these tests only; this database is flushed before and after
MEETING_LEAD = timedelta(seconds=8)  # a meeting starts this long after it is proposed

EXPECTED_MAIL = {
    "mentor": Counter(
        request_received=1,
        meeting_proposed=2,
        agreement_submitted=1,
        feedback_request=2,
        fit_request=1,
        closure_survey_request=1,
        certificate_issued=1,
    ),
    "mentee": Counter(
        request_accepted=1,
        meeting_confirmed=2,
        agreement_approved=1,
        feedback_request=2,
        fit_request=1,
        closure_survey_request=1,
        certificate_issued=1,
    ),
}
EXPECTED_ACHIEVEMENTS = {
    "mentor": Counter(
        request_accepted=1,
        meeting_held=2,
        first_meeting_held=1,
        agreement_approved=1,
        mentorship_completed=1,
        certificate_issued=1,
        agreement_kept_to_plan=1,
    ),
    "mentee": Counter(
        request_sent=1,
        meeting_proposed=2,
        meeting_held=2,
        first_meeting_held=1,
        agreement_submitted=1,
        agreement_approved=1,
        mentorship_completed=1,
        certificate_issued=1,
        agreement_kept_to_plan=1,
    ),
}


# --- the cluster ----------------------------------------------------------------------------------


@dataclass
class Cluster:
    api_url: str
    db: Engine
    mailbox: Mailbox
    runners: list[Process]
    task_workers: list[Process]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    work = tmp_path_factory.mktemp("scale-out")
    names = {part: f"mentorflow_scaleout_{part}_{os.getpid()}" for part in ("prefect", "app")}
    store = redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB)
    try:
        store.flushdb()
    except redis.ConnectionError:
        pytest.skip("no Redis at 127.0.0.1:6379: the distributed set-up needs it for Prefect's messaging")
    app_url = create_pg_database(names["app"], driver="psycopg")
    upgrade(app_url)
    db = make_engine(app_url)
    mailbox = Mailbox()
    server = PrefectServer(
        home=work / "prefect-home",
        database_url=create_pg_database(names["prefect"]),
        server_env={
            "PREFECT_MESSAGING_BROKER": "prefect_redis.messaging",
            "PREFECT_MESSAGING_CACHE": "prefect_redis.messaging",
            "PREFECT_REDIS_MESSAGING_HOST": "127.0.0.1",
            "PREFECT_REDIS_MESSAGING_PORT": "6379",
            "PREFECT_REDIS_MESSAGING_DB": str(REDIS_DB),
            # a pool of 5 (+10) connections ran dry under 50 lifecycles on 2 cores: requests
            # waited 30 s for a connection, and task submissions failed with HTTP 500
            "PREFECT_SERVER_DATABASE_SQLALCHEMY_POOL_SIZE": "20",
            "PREFECT_SERVER_DATABASE_SQLALCHEMY_MAX_OVERFLOW": "20",
        },
        # One process, API and loop services together. Not two API processes: Prefect 3.9.1
        # queues background tasks in the memory of the API process that took them, and a task
        # worker gets only those of the process its websocket reached (Prefect issue 21218);
        # with two, half the consequences waited for the killed task worker for ever. Nor the
        # services in a process of their own (Prefect's guide for bigger set-ups): on these 2
        # cores it was not faster (one run each: all pairs active after 300 s against 222 s)
    )
    server.home.mkdir()
    parts: list[Process] = []
    before = {k: os.environ.get(k) for k in (*server.client_env(), "PREFECT_LOCAL_STORAGE_PATH")}
    try:
        server.start()
        mailbox.start()
        env = child_env(
            **server.client_env(),
            PREFECT_LOCAL_STORAGE_PATH=str(work / "results"),  # shared by every process
            MENTORFLOW_ENGINE="prefect",
            MENTORFLOW_DATABASE_URL=app_url,
            MENTORFLOW_DATA_DIR=str(work / "data"),
            MENTORFLOW_SMTP_URL=mailbox.url,
            MENTORFLOW_BASE_URL="https://mentoring.example.org",
            MENTORFLOW_RECONCILE_EVERY="10s",
            MENTORFLOW_ENGINE_STALE_AFTER="60s",  # two missed heartbeats: the runner is gone
        )
        os.environ.update({k: env[k] for k in before})  # this process submits nothing, but reads runs
        refresh_global_settings_context()
        port = free_port()
        api = Process(
            [
                PYTHON,
                "-m",
                "uvicorn",
                "api.main:app",
                "--workers",
                "2",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            env=env,
            log_path=work / "api.log",
        )
        runners = [
            Process([PYTHON, "-m", "deployments.serve"], env, work / f"runner-{n}.log") for n in (1, 2)
        ]
        workers = [
            Process([PYTHON, "-m", "deployments.task_worker"], env, work / f"task-worker-{n}.log")
            for n in (1, 2)
        ]
        parts = [api, *runners, *workers]
        for part in parts:
            part.start()
        wait_until(lambda: _healthy(f"http://127.0.0.1:{port}/healthz"), timeout=60, what="the API")
        wait_until(deployments_exist, timeout=90, interval=0.5, what="the served deployments")
        for log in (w.log_path for w in workers):
            wait_until(lambda log=log: "serving handle-events" in log.read_text(), timeout=60, what=log.name)  # type: ignore[misc]
        yield Cluster(f"http://127.0.0.1:{port}", db, mailbox, runners, workers)
    finally:
        for part in parts:
            part.stop()
        mailbox.stop()
        server.stop()
        db.dispose()
        drop_pg_database(names["prefect"])
        drop_pg_database(names["app"])
        store.flushdb()
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        refresh_global_settings_context()


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


# --- the pairs --------------------------------------------------------------------------------------


@dataclass
class Pair:
    mentee_id: int
    mentor_id: int
    mentee: dict[str, str]
    mentor: dict[str, str]
    mentee_email: str
    mentor_email: str
    mentorship_id: int = 0
    meeting_id: int = 0
    meeting_starts: datetime | None = None


def make_pairs(db: Engine, count: int) -> list[Pair]:
    settings = get_settings()
    now = datetime.now(UTC)
    pairs = []
    with Session(db) as s:
        for n in range(count):
            ids = []
            for role in (Role.MENTEE, Role.MENTOR):
                user = create_user(
                    s,
                    email=f"scale-{role.value}-{n}@example.org",
                    password="correct horse battery",
                    display_name=f"{role.value.title()} {n}",
                    roles=[role],
                    now=now,
                )
                ids.append(user.id)
            s.commit()  # the sign-ins below are begun in a session of their own
            pairs.append(
                Pair(
                    ids[0],
                    ids[1],
                    {"Authorization": f"Bearer {mint_token(db, settings, ids[0], now=now)}"},
                    {"Authorization": f"Bearer {mint_token(db, settings, ids[1], now=now)}"},
                    f"scale-mentee-{n}@example.org",
                    f"scale-mentor-{n}@example.org",
                )
            )
    return pairs


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, (response.request.url, response.text)
    return response.json()


def each(pairs: list[Pair], step: Callable[[Pair], None]) -> None:
    """One step for every pair at once, eight requests in flight."""
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(step, pairs))


def explained(wait: Callable[[], object], db: Engine) -> None:
    """Run ``wait``; if it times out, add each unfinished pair's run history to the error."""
    try:
        wait()
    except TimeoutError as error:
        lines = [str(error)]
        with Session(db) as s:
            rows = s.execute(
                select(Mentorship.id, Mentorship.stage, Mentorship.run_stage, Mentorship.flow_run_id)
            )
            stuck = [r for r in rows if r.stage not in (Stage.COMPLETED,)][:5]
        with get_client(sync_client=True) as client:
            for row in stuck:
                lines.append(f"mentorship {row.id}: stage {row.stage}, run waits in {row.run_stage}")
                if row.flow_run_id:
                    for state in sorted(
                        client.read_flow_run_states(UUID(row.flow_run_id)), key=lambda x: x.timestamp
                    ):
                        lines.append(f"   {state.timestamp:%H:%M:%S.%f} {state.name}: {state.message or ''}")
        raise TimeoutError("\n".join(lines)) from error


def until_meetings_started(pairs: list[Pair]) -> None:
    latest = max(p.meeting_starts for p in pairs if p.meeting_starts is not None)
    time.sleep(max(0.0, (latest - datetime.now(UTC)).total_seconds() + 1))


def stages(db: Engine) -> Counter[str]:
    with Session(db) as s:
        return Counter(
            dict(s.execute(select(Mentorship.stage, func.count()).group_by(Mentorship.stage)).all())
        )


# --- the test ----------------------------------------------------------------------------------------


def test_many_lifecycles_complete_exactly_once_while_workers_die(cluster: Cluster) -> None:
    pairs = make_pairs(cluster.db, SCALE_OUT_LIFECYCLES)
    api = httpx.Client(base_url=cluster.api_url, timeout=30)
    began = time.monotonic()

    def propose_meeting(p: Pair, *, is_final: bool) -> None:
        starts = datetime.now(UTC) + MEETING_LEAD
        meeting = ok(
            api.post(
                f"/api/mentorships/{p.mentorship_id}/meetings",
                headers=p.mentee,
                json={
                    "starts_at": starts.isoformat(),
                    "duration_minutes": 30,
                    "mode": "video",
                    "location": "https://meet.example.org/scale",
                    "is_final": is_final,
                },
            ),
            201,
        )
        p.meeting_id = meeting["id"]
        p.meeting_starts = starts
        ok(api.post(f"/api/meetings/{p.meeting_id}/confirm", headers=p.mentor))

    def start(p: Pair) -> None:
        m = ok(
            api.post("/api/mentorships", headers=p.mentee, json={"mentor_id": p.mentor_id, "message": "Hi"}),
            201,
        )
        p.mentorship_id = m["id"]
        ok(api.post(f"/api/mentorships/{p.mentorship_id}/accept", headers=p.mentor))
        propose_meeting(p, is_final=False)

    def attend(p: Pair) -> None:
        for who in (p.mentee, p.mentor):
            ok(api.post(f"/api/meetings/{p.meeting_id}/attendance", headers=who, json={"attended": True}))

    def agree(p: Pair) -> None:
        terms = {
            "period_start": datetime.now(UTC).date().isoformat(),
            "period_end": (datetime.now(UTC) + timedelta(days=120)).date().isoformat(),
            "planned_meetings": 1,
            "contact_modes": ["video"],
            "contact_frequency": "monthly",
            "content_plan": [{"topic": "leadership", "notes": ""}],
        }
        ok(api.put(f"/api/mentorships/{p.mentorship_id}/agreement", headers=p.mentee, json=terms))
        ok(api.post(f"/api/mentorships/{p.mentorship_id}/agreement/submit", headers=p.mentee))
        ok(
            api.post(
                f"/api/mentorships/{p.mentorship_id}/agreement/approve", headers=p.mentor, json={"number": 1}
            )
        )

    each(pairs, start)
    until_meetings_started(pairs)
    each(pairs, attend)
    each(pairs, agree)
    # midway: the engine is activating every pair; one of each kind of worker dies with its work
    cluster.runners[0].kill()
    cluster.task_workers[0].kill()
    print(f"\nkilled runner 1 and task worker 1 at {time.monotonic() - began:.0f} s")  # noqa: T201

    explained(
        lambda: wait_until(
            lambda: stages(cluster.db)[Stage.ACTIVE] == len(pairs),
            timeout=300,
            interval=1,
            what="every pair active",
        ),
        cluster.db,
    )
    print(f"all active at {time.monotonic() - began:.0f} s")  # noqa: T201
    each(pairs, lambda p: propose_meeting(p, is_final=True))
    until_meetings_started(pairs)
    each(pairs, attend)
    explained(
        lambda: wait_until(
            lambda: stages(cluster.db)[Stage.COMPLETED] == len(pairs),
            timeout=300,
            interval=1,
            what=f"every pair completed (now {stages(cluster.db)})",
        ),
        cluster.db,
    )
    print(f"all completed at {time.monotonic() - began:.0f} s")  # noqa: T201

    assert_every_run_completed(cluster.db, len(pairs))
    assert_consequences_exactly_once(cluster, pairs)
    for p in pairs[:3]:  # a few downloads through the two API processes
        for who in (p.mentee, p.mentor):
            [certificate] = ok(api.get("/api/me/certificates", headers=who))
            pdf = api.get(f"/api/certificates/{certificate['id']}.pdf", headers=who)
            assert pdf.status_code == 200
            assert pdf.content.startswith(b"%PDF")
    print(f"checked at {time.monotonic() - began:.0f} s")  # noqa: T201


def assert_every_run_completed(db: Engine, count: int) -> None:
    with Session(db) as s:
        run_ids = [UUID(r) for r in s.scalars(select(Mentorship.flow_run_id)) if r]
    assert len(run_ids) == count

    def runs_done() -> bool:
        with get_client(sync_client=True) as client:
            runs = client.read_flow_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=run_ids)), limit=200
            )
        return len(runs) == count and all(
            r.state is not None and r.state.is_completed() and "stage:completed" in r.tags for r in runs
        )

    try:
        wait_until(runs_done, timeout=120, interval=1, what="every run Completed with stage:completed")
    except TimeoutError as error:
        with get_client(sync_client=True) as client:
            runs = client.read_flow_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=run_ids)), limit=200
            )
            lines = [str(error)]
            for r in runs:
                if r.state is not None and r.state.is_completed() and "stage:completed" in r.tags:
                    continue
                lines.append(f"{r.name}: {r.state.name if r.state else None} {sorted(r.tags)}")
                for state in sorted(client.read_flow_run_states(r.id), key=lambda x: x.timestamp)[-8:]:
                    lines.append(f"   {state.timestamp:%H:%M:%S.%f} {state.name}: {state.message or ''}")
        raise TimeoutError("\n".join(lines[:60])) from error
    with get_client(sync_client=True) as client:
        every = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[LIFECYCLE_FLOW])), limit=200
        )
    names = Counter(r.name for r in every)
    assert len(names) == count
    assert set(names.values()) == {1}, "a mentorship has two lifecycle runs"


def assert_consequences_exactly_once(cluster: Cluster, pairs: list[Pair]) -> None:
    def handled() -> bool:
        with Session(cluster.db) as s:
            return not s.scalar(select(func.count()).where(Mentorship.last_seq > Mentorship.processed_seq))

    wait_until(handled, timeout=120, interval=1, what="every event handled")
    expected = sum(sum(c.values()) for c in EXPECTED_MAIL.values()) * len(pairs)

    def all_mail() -> bool:
        return len([m for m in cluster.mailbox.messages if not _kind(m).startswith("reminder_")]) >= expected

    wait_until(all_mail, timeout=120, interval=1, what=f"{expected} mails")
    ids = cluster.mailbox.message_ids()
    # SMTP has no two-phase commit: a sender killed between the relay's "250 accepted" and its
    # own commit leaves the row unsent, and it goes out again, with the same Message-ID (the
    # window is milliseconds wide; services/outbox.py). One task worker is killed here, so at
    # most one mail may come twice; every other is delivered exactly once.
    twice = len(ids) - len(set(ids))
    print(f"mails: {len(set(ids))} distinct, {twice} delivered twice with the same Message-ID")  # noqa: T201
    assert twice <= 1, f"{twice} mails went out twice"
    by_address: dict[str, Counter[str]] = {}
    seen: set[str] = set()
    for message in cluster.mailbox.messages:
        if str(message["Message-ID"]) in seen:
            continue  # the same mail again (see above): counted once
        seen.add(str(message["Message-ID"]))
        if not _kind(message).startswith("reminder_"):
            by_address.setdefault(parseaddr(str(message["To"]))[1], Counter())[_kind(message)] += 1
    with Session(cluster.db) as s:
        earned: dict[int, Counter[str]] = {}
        for user_id, kind in s.execute(select(Achievement.user_id, Achievement.kind)):
            earned.setdefault(user_id, Counter())[kind] += 1
        certificates = Counter(s.scalars(select(Certificate.user_id)))
    for p in pairs:
        assert by_address.get(p.mentee_email) == EXPECTED_MAIL["mentee"], p.mentee_email
        assert by_address.get(p.mentor_email) == EXPECTED_MAIL["mentor"], p.mentor_email
        assert earned.get(p.mentee_id) == EXPECTED_ACHIEVEMENTS["mentee"], p.mentee_id
        assert earned.get(p.mentor_id) == EXPECTED_ACHIEVEMENTS["mentor"], p.mentor_id
        assert certificates[p.mentee_id] == certificates[p.mentor_id] == 1


def _kind(message: Any) -> str:
    return str(message["X-Mentorflow-Kind"])
