"""The real stack as ``mentorflow up`` runs it, and a fast seed of live mentorships, shared by
the benchmarks that need the engine (``idle_cost``, ``throughput``; issue 12).

The stack: a Prefect server on PostgreSQL (its own database), the application database on
PostgreSQL (its own database, migrated), one runner (``python -m deployments.serve``), one task
worker (``python -m deployments.task_worker``), the API (``uvicorn api.main:app``) and an SMTP
sink that notes when each mail arrived.

Seeding (a real start costs ~1 s of CPU per run, so 10,000 real starts would take hours):

1. two template mentorships are driven for real through ``services`` (``tests/engine/walk.py``):
   one accepted (``intro``, its run suspended waiting for the first approved agreement) and one
   with its agreement approved (``active``, suspended waiting for the final meeting);
2. each seeded mentorship copies one template's application rows (users, roles, profiles, the
   mentorship, its events, agreement versions, meetings, attendances, notifications,
   achievements; new ids, emails and names) in bulk, and gets a flow run created through
   Prefect's API from the lifecycle deployment in the template run's Suspended state: name and
   idempotency key ``mentorship-{id}``, parameters, tags, empirical policy (its pause keys),
   the state's message and details (pause key, run input keyset, timeout), and the resume
   form's stored inputs (schema, description). Its ``flow_run_id`` is set as the real one's.

Everything ``stack`` starts is stopped and both databases are dropped at the end, also on failure.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession
from sqlalchemy import ColumnElement, Engine, Table, func, insert, select, text

from benchmarks.databases import migrated_database
from models.base import Base
from tests.engine.harness import (
    PG_ADMIN_URL,
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

#: The Prefect settings ``mentorflow up`` gives every part (``deployments.up.prefect_env``)
#: beyond the server's address and home.
UP_PREFECT_ENV = {
    "PREFECT_RUNNER_POLL_FREQUENCY": "1",
    "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "true",
    "PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE": "prefect.server.concurrency.lease_storage.filesystem",
}
#: Application tables a seeded mentorship copies from its template, parents first.
SEED_TABLES = (
    "user",
    "user_role",
    "profile",
    "mentorship",
    "event",
    "agreement_version",
    "meeting",
    "attendance",
    "notification",
    "achievement",
)
#: Tables whose own ids the copies keep track of (other rows point at them).
KEYED = ("user", "mentorship", "meeting")
CREATING_AT_ONCE = 16  # flow runs created concurrently through Prefect's API


def say(text: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {text}", flush=True)


# --- the stack ----------------------------------------------------------------------------------


class TimedMailbox(Mailbox):
    """The tests' SMTP sink, noting when each accepted message arrived (``time.time()``):
    ``arrived[i]`` is the arrival of ``messages[i]``."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived: list[float] = []

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: Envelope) -> str:
        answer = await super().handle_DATA(server, session, envelope)
        if answer.startswith("250"):
            self.arrived.append(time.time())
        return answer


@dataclass
class Stack:
    work: Path
    server: PrefectServer
    prefect_db: str
    app: Engine
    app_db: str
    mailbox: TimedMailbox
    api: Process
    runner: Process
    task_worker: Process
    api_url: str = ""

    @property
    def parts(self) -> dict[str, Process]:
        assert self.server.process is not None
        return {
            "API (uvicorn)": self.api,
            "Prefect server": self.server.process,
            "runner": self.runner,
            "task worker": self.task_worker,
        }


@contextmanager
def stack(
    work: Path, *, name: str = "idle", reconcile_every: str | None = "24h", env: dict[str, str] | None = None
) -> Iterator[Stack]:
    """The stack, its databases named ``mentorflow_{name}_…``; ``reconcile_every`` None leaves
    the reconciler's interval at its default (as ``up``); ``env`` adds settings for every part."""
    stamp = os.getpid()
    prefect_db, app_db = f"mentorflow_{name}_prefect_{stamp}", f"mentorflow_{name}_app_{stamp}"
    with ExitStack() as cleanup:
        app = cleanup.enter_context(migrated_database("postgresql", app_db))
        cleanup.callback(drop_pg_database, prefect_db)
        server = PrefectServer(
            home=work / "prefect-home",
            database_url=create_pg_database(prefect_db),
            server_env={  # as the scale-out test: the default pool runs dry on 2 cores
                "PREFECT_SERVER_DATABASE_SQLALCHEMY_POOL_SIZE": "20",
                "PREFECT_SERVER_DATABASE_SQLALCHEMY_MAX_OVERFLOW": "20",
                **(env or {}),
            },
        )
        server.home.mkdir()
        cleanup.callback(server.stop)
        server.start(timeout=240)
        mailbox = TimedMailbox()
        mailbox.start()
        cleanup.callback(mailbox.stop)
        settings = {
            **server.client_env(),
            "PREFECT_LOCAL_STORAGE_PATH": str(work / "results"),
            "MENTORFLOW_ENGINE": "prefect",
            "MENTORFLOW_DATABASE_URL": app.url.render_as_string(hide_password=False),
            "MENTORFLOW_DATA_DIR": str(work / "data"),
            "MENTORFLOW_SMTP_URL": mailbox.url,
            "MENTORFLOW_BASE_URL": "https://mentoring.example.org",
            **(env or {}),
        }
        if reconcile_every is not None:
            settings["MENTORFLOW_RECONCILE_EVERY"] = reconcile_every
        full_env = child_env(**settings)
        # this process states facts and reads runs as the API does
        os.environ.update({k: v for k, v in full_env.items() if k.startswith(("PREFECT_", "MENTORFLOW_"))})
        from prefect.context import refresh_global_settings_context

        refresh_global_settings_context()
        port = free_port()
        api = Process(
            [PYTHON, "-m", "uvicorn", "api.main:app", "--port", str(port), "--log-level", "warning"],
            env=full_env,
            log_path=work / "api.log",
        )
        runner = Process([PYTHON, "-m", "deployments.serve"], full_env, work / "runner.log")
        task_worker = Process([PYTHON, "-m", "deployments.task_worker"], full_env, work / "task-worker.log")
        for part in (api, runner, task_worker):
            cleanup.callback(part.stop)
            part.start()
        api_url = f"http://127.0.0.1:{port}"
        wait_until(lambda: _healthy(f"{api_url}/healthz"), timeout=120, what="the API")
        wait_until(deployments_exist, timeout=180, interval=0.5, what="the served deployments")
        wait_until(
            lambda: "serving handle-events" in task_worker.log_path.read_text(),
            timeout=120,
            what="the task worker",
        )
        yield Stack(work, server, prefect_db, app, app_db, mailbox, api, runner, task_worker, api_url)


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def prefect_sql(stack: Stack, query: str, *params: object) -> list[tuple[Any, ...]]:
    url = psycopg.conninfo.make_conninfo(PG_ADMIN_URL, dbname=stack.prefect_db)
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()


# --- templates: real mentorships, driven through services ------------------------------------------


@dataclass(frozen=True)
class Template:
    mentorship_id: int
    flow_run_id: str
    rows: dict[str, list[dict[str, Any]]]
    run: dict[str, Any]  # the flow run, as Prefect's API gives it
    inputs: dict[str, str]  # the resume form's stored inputs, by key


def drive_templates(stack: Stack) -> list[Template]:
    from tests.engine.walk import Walk
    from tests.support import Clock

    clock = Clock(datetime.now(UTC))
    intro = Walk(stack.app, clock=clock)
    intro.request()
    intro.accept()
    active = Walk(stack.app, clock=clock)
    active.request()
    active.accept()
    settled(stack, intro.mentorship_id, "intro")
    settled(stack, active.mentorship_id, "intro")
    active.agree()
    settled(stack, active.mentorship_id, "active")
    return [read_template(stack, w.mentorship_id) for w in (intro, active)]


def settled(stack: Stack, mentorship_id: int, stage: str, *, after_key: str | None = None) -> str:
    """Wait until the mentorship is in ``stage``, its events handled and its run suspended
    there (under a key other than ``after_key``); returns the run's pause key."""

    def done() -> str | None:
        with stack.app.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT stage, run_stage, last_seq, processed_seq, flow_run_id"
                    " FROM mentorship WHERE id = :i"
                ),
                {"i": mentorship_id},
            ).one()
        if row.stage != stage or row.run_stage != stage or row.last_seq != row.processed_seq:
            return None
        run = httpx.get(f"{stack.server.api_url}/flow_runs/{row.flow_run_id}", timeout=10).json()
        state = run["state"] or {}
        key = (state.get("state_details") or {}).get("pause_key")
        if state.get("type") != "PAUSED" or key == after_key or f"stage:{stage}" not in run["tags"]:
            return None
        return str(key)

    return wait_until(done, timeout=180, interval=0.2, what=f"mentorship {mentorship_id} waiting in {stage}")


def read_template(stack: Stack, mentorship_id: int) -> Template:
    tables = Base.metadata.tables
    rows: dict[str, list[dict[str, Any]]] = {}
    with stack.app.connect() as conn:
        m = conn.execute(select(tables["mentorship"]).where(tables["mentorship"].c.id == mentorship_id)).one()
        users = [m.mentee_id, m.mentor_id]
        meetings = list(
            conn.scalars(
                select(tables["meeting"].c.id).where(tables["meeting"].c.mentorship_id == mentorship_id)
            )
        )
        for name in SEED_TABLES:
            table = tables[name]
            where: ColumnElement[bool]
            if name == "user":
                where = table.c.id.in_(users)
            elif name == "mentorship":
                where = table.c.id == mentorship_id
            elif name in ("user_role", "profile"):
                where = table.c.user_id.in_(users)
            elif name == "attendance":
                where = table.c.meeting_id.in_(meetings)
            else:
                where = table.c.mentorship_id == mentorship_id
            rows[name] = [dict(r._mapping) for r in conn.execute(select(table).where(where))]
    flow_run_id = str(m.flow_run_id)
    run = httpx.get(f"{stack.server.api_url}/flow_runs/{flow_run_id}", timeout=10).json()
    keyset = run["state"]["state_details"]["run_input_keyset"]
    inputs = {}
    for key in (keyset["schema"], keyset["description"]):
        answer = httpx.get(f"{stack.server.api_url}/flow_runs/{flow_run_id}/input/{key}", timeout=10)
        answer.raise_for_status()
        inputs[key] = answer.text
    return Template(mentorship_id, flow_run_id, rows, run, inputs)


# --- seeding ----------------------------------------------------------------------------------------


def seed(stack: Stack, templates: list[Template], count: int) -> list[int]:
    """``count`` more mentorships, taking turns between the templates; returns their ids."""
    tables = Base.metadata.tables
    with stack.app.connect() as conn:
        next_id = {name: int(conn.scalar(select(func.max(tables[name].c.id))) or 0) + 1 for name in KEYED}
    plan: list[tuple[Template, dict[str, dict[Any, int]]]] = []
    for n in range(count):
        template = templates[n % len(templates)]
        maps: dict[str, dict[Any, int]] = {}
        for name in KEYED:
            maps[name] = {}
            for row in template.rows[name]:
                maps[name][row["id"]] = next_id[name]
                next_id[name] += 1
        plan.append((template, maps))
    ids = [maps["mentorship"][t.mentorship_id] for t, maps in plan]
    began = time.monotonic()
    runs = asyncio.run(create_runs(stack, [(t, mid) for (t, _), mid in zip(plan, ids, strict=True)]))
    say(f"{count:,} flow runs created in {time.monotonic() - began:.0f} s")
    copies: dict[str, list[dict[str, Any]]] = {name: [] for name in SEED_TABLES}
    for (template, maps), run_id in zip(plan, runs, strict=True):
        for name in SEED_TABLES:
            for row in template.rows[name]:
                copies[name].append(copied(tables[name], row, maps, run_id))
    with stack.app.begin() as conn:
        for name in SEED_TABLES:
            rows = copies[name]
            for start in range(0, len(rows), 2000):
                conn.execute(insert(tables[name]), rows[start : start + 2000])
        for name in KEYED:
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'id'),"
                    f' (SELECT max(id) FROM "{name}"))'
                )
            )
    return ids


def copied(table: Table, row: dict[str, Any], maps: dict[str, dict[Any, int]], run_id: str) -> dict[str, Any]:
    """A template's row for a new mentorship: its own ids, people and run."""
    new = dict(row)
    for column in table.columns:
        targets = {fk.column.table.name for fk in column.foreign_keys}
        target = next(iter(targets), None)
        if column.name == "id":
            if table.name in KEYED:
                new["id"] = maps[table.name][row["id"]]
            else:
                del new["id"]  # the database numbers it
        elif target in KEYED and row[column.name] is not None:
            new[column.name] = maps[target][row[column.name]]
    if table.name == "user":
        new["email"] = f"seed-{new['id']}@example.org"
        new["display_name"] = f"Seeded Person {new['id']}"
    if table.name == "mentorship":
        new["flow_run_id"] = run_id
    return new


async def create_runs(stack: Stack, wanted: list[tuple[Template, int]]) -> list[str]:
    """A flow run per mentorship, suspended as its template's run is; returns their ids."""
    limit = asyncio.Semaphore(CREATING_AT_ONCE)
    async with httpx.AsyncClient(base_url=stack.server.api_url, timeout=120) as client:
        made = 0

        async def create(template: Template, mentorship_id: int) -> str:
            nonlocal made
            async with limit:
                run_id = await create_run(client, template, mentorship_id)
            made += 1
            if made % 1000 == 0:
                say(f"  {made:,} flow runs created")
            return run_id

        return list(await asyncio.gather(*(create(t, m) for t, m in wanted)))


async def create_run(client: httpx.AsyncClient, template: Template, mentorship_id: int) -> str:
    run = template.run
    name = f"mentorship-{mentorship_id}"
    details = run["state"]["state_details"]
    body = {
        "name": name,
        "idempotency_key": name,
        "parameters": {"mentorship_id": mentorship_id},
        "tags": [name if t == f"mentorship-{template.mentorship_id}" else t for t in run["tags"]],
        "empirical_policy": run["empirical_policy"],
        "state": {
            "type": run["state"]["type"],
            "name": run["state"]["name"],
            "message": run["state"]["message"],
            "state_details": {
                k: details[k] for k in ("pause_timeout", "pause_reschedule", "pause_key", "run_input_keyset")
            },
        },
    }
    answer = await post(client, f"/deployments/{run['deployment_id']}/create_flow_run", body)
    run_id = str(answer.json()["id"])
    for key, value in template.inputs.items():
        await post(client, f"/flow_runs/{run_id}/input", {"key": key, "value": value})
    return run_id


async def post(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> httpx.Response:
    """POST, again after a pause when the busy server answers 5xx (its database pool ran dry);
    safe: the run has an idempotency key, and an input stored already answers 409."""
    for pause in (1, 2, 4, 8, 16, 32, 0):
        answer = await client.post(path, json=body)
        if answer.status_code < 500 and answer.status_code != 409:
            answer.raise_for_status()
            return answer
        if answer.status_code == 409:
            return answer
        if not pause:
            answer.raise_for_status()
        await asyncio.sleep(pause)
    raise AssertionError("unreachable")
