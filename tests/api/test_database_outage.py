"""The application database drops its connections (``pg_terminate_backend``, as a restart
or a failover does) while a write waits inside its transaction: the API answers a problem
document 503 with ``Retry-After``, nothing of the write is kept, and the same request sent
again with its Idempotency-Key then succeeds once. PostgreSQL only: SQLite has no
connections to drop."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import Engine, text

from tests.api.helpers import TERMS, Flow, problem
from tests.engine.harness import wait_until


def _waiting_on_a_lock(db: Engine) -> list[int]:
    with db.connect() as conn:
        query = text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return list(conn.scalars(query))


def test_a_dropped_database_connection_is_a_503_to_retry(live_url: str, db: Engine, flow: Flow) -> None:
    if db.dialect.name != "postgresql":
        pytest.skip("SQLite has no connections to drop")
    p = flow.pair("intro")
    flow.draft(p)
    flow.submit(p)
    headers = {**p.mentor.auth, "Idempotency-Key": "approve-once"}
    approve = ("POST", f"{live_url}{p.url}/agreement/approve")

    with db.connect() as holder, ThreadPoolExecutor(1) as pool:
        holder.execute(text("SELECT id FROM mentorship WHERE id = :id FOR UPDATE"), {"id": p.id})
        pending = pool.submit(httpx.request, *approve, json={"number": 1}, headers=headers, timeout=30)
        [waiting] = wait_until(lambda: _waiting_on_a_lock(db), timeout=10, what="the write waiting")
        with db.connect() as admin:  # every other session of this database: the API's pool too
            admin.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid NOT IN (pg_backend_pid(), :holder)"
                ),
                {"holder": holder.connection.dbapi_connection.info.backend_pid},  # type: ignore[union-attr]
            )
        began = time.monotonic()
        response = pending.result(timeout=30)
        holder.rollback()
    assert waiting
    body = problem(response, 503, detail="try again")
    assert body["title"] == "Service unavailable"
    assert response.headers["retry-after"] == "2"
    assert time.monotonic() - began < 5
    events = flow.events(p)
    assert "agreement.approved" not in [e["type"] for e in events]
    agreement = flow.get(f"{p.url}/agreement", p.mentee)
    assert (agreement["current"], agreement["pending"]["number"]) == (None, 1)

    again = httpx.request(*approve, json={"number": 1}, headers=headers, timeout=30)
    assert again.status_code == 200, again.text
    assert again.headers.get("idempotent-replayed") is None  # the first attempt left nothing
    assert [e["type"] for e in flow.events(p)].count("agreement.approved") == 1
    replay = httpx.request(*approve, json={"number": 1}, headers=headers, timeout=30)
    assert (replay.status_code, replay.json()) == (200, again.json())
    assert replay.headers["idempotent-replayed"] == "true"


def test_the_503_is_in_german_for_a_german_reader(live_url: str, db: Engine, flow: Flow) -> None:
    if db.dialect.name != "postgresql":
        pytest.skip("SQLite has no connections to drop")
    p = flow.pair("intro")
    with db.connect() as holder, ThreadPoolExecutor(1) as pool:
        holder.execute(text("SELECT id FROM mentorship WHERE id = :id FOR UPDATE"), {"id": p.id})
        headers = {**p.mentee.auth, "Accept-Language": "de"}
        pending = pool.submit(
            httpx.request, "PUT", f"{live_url}{p.url}/agreement", json=TERMS, headers=headers, timeout=30
        )
        wait_until(lambda: _waiting_on_a_lock(db), timeout=10, what="the write waiting")
        with db.connect() as admin:
            admin.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
        response = pending.result(timeout=30)
        holder.rollback()
    body = problem(response, 503, detail="Versuchen Sie es gleich noch einmal")
    assert body["title"] == "Dienst nicht verfügbar"
