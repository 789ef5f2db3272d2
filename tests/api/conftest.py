"""Fixtures of the API suite: the lifecycle walker, and a real server for concurrency tests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.app import create_app
from models.settings import Settings
from tests.api.helpers import Flow
from tests.support import Clock, People, Person


@pytest.fixture
def flow(client: TestClient, people: People, clock: Clock, db: Engine) -> Flow:
    return Flow(client, people, clock, db)


@pytest.fixture
def operator(people: People) -> Person:
    return people.operator()


@pytest.fixture
def live_url(db: Engine, clock: Clock, settings: Settings, woken: list[int]) -> Iterator[str]:
    """The app served by uvicorn in a background thread on a free port, on the test database:
    requests from several threads really run at the same time (sync endpoints run in
    uvicorn's thread pool). The engine is not told (``woken`` collects the ids instead)."""
    app = create_app(settings, engine=db, clock=clock, on_fact=woken.append)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped while starting"
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    sock.close()
