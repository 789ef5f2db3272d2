"""How many requests may hold a database session at once, waited for in the event loop.

FastAPI runs the session dependency, the signed-in-user dependency and the endpoint in its
thread pool (40 threads), one hop each, and the session keeps its transaction (and its
connection) between the hops. When more requests than threads arrived at once, every thread
could be taken by requests waiting for the database while the requests holding it waited for
a thread to go on: on SQLite a reader's ``BEGIN IMMEDIATE`` waited for the write lock held by
a request that waited for a thread (until the 30 s busy timeout answered 500), on PostgreSQL a
checkout waited for a pooled connection held the same way (30 s pool timeout). Found by
``benchmarks/api_load.py``: 60 simultaneous ``GET /api/me`` on SQLite, 200 on PostgreSQL.

A request now waits for a slot without a thread, and only then opens its session; with fewer
slots than threads (and than pooled connections), whoever holds a slot always finds a thread
and a connection. SQLite gets one slot: every request's ``BEGIN IMMEDIATE`` serializes them
anyway, and a waiter here goes on the moment the slot is free instead of SQLite's sleeping
retries.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from weakref import WeakKeyDictionary

from fastapi import Request
from sqlalchemy import Engine

#: Below SQLAlchemy's default pool (5 + 10 overflow) and the thread pool's 40 threads.
POSTGRESQL_SLOTS = 10


class DatabaseSlots:
    """A semaphore per event loop (tests run one app under several loops)."""

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self._by_loop: WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = WeakKeyDictionary()

    @classmethod
    def for_engine(cls, engine: Engine) -> DatabaseSlots:
        return cls(1 if engine.dialect.name == "sqlite" else POSTGRESQL_SLOTS)

    def semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        found = self._by_loop.get(loop)
        if found is None:
            found = self._by_loop[loop] = asyncio.Semaphore(self.slots)
        return found


async def database_slot(request: Request) -> AsyncIterator[None]:
    """Held from before the session opens until after it closes (FastAPI exits dependencies
    in reverse order)."""
    slots: DatabaseSlots = request.app.state.database_slots
    async with slots.semaphore():
        yield
