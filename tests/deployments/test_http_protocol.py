"""Several API processes (``uvicorn --workers N``) answer keep-alive requests without Nagle's
delay when run with ``deployments.http_protocol`` (see its docstring for the ~44 ms it costs)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import uvicorn

from deployments.http_protocol import UVICORN_HTTP
from tests.engine.harness import free_port, wait_until


async def tiny_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    assert scope["type"] == "http"
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


@contextmanager
def server_as_workers_run_it(http: str) -> Iterator[tuple[str, uvicorn.Server]]:
    """A server on a socket bound by ``Config.bind_socket``, as uvicorn's supervisor binds the
    one it hands to its ``--workers``."""
    config = uvicorn.Config(tiny_app, host="127.0.0.1", port=free_port(), http=http, log_level="warning")
    server = uvicorn.Server(config)
    listener = config.bind_socket()
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, timeout=10, what="uvicorn")
        yield f"http://127.0.0.1:{config.port}", server
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()


def nodelay_of_open_connections(server: uvicorn.Server) -> list[int]:
    return [
        protocol.transport.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        for protocol in server.server_state.connections
    ]


@pytest.mark.parametrize(
    ("http", "nodelay"),
    [
        ("h11", 0),  # uvicorn's own: Nagle stays on (when this fails, uvicorn has fixed it)
        (UVICORN_HTTP, 1),
    ],
)
def test_connections_of_a_shared_listener_send_without_delay(http: str, nodelay: int) -> None:
    with server_as_workers_run_it(http) as (base, server), httpx.Client(base_url=base) as client:
        assert client.get("/").text == "ok"
        assert nodelay_of_open_connections(server) == [nodelay]
