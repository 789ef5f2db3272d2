"""uvicorn's HTTP/1.1 protocol with Nagle's algorithm off on every connection.

Run several API processes as ``uvicorn api.main:app --workers N --http
deployments.http_protocol:NoDelayH11Protocol``. Plain ``--workers N`` is slow on Linux: uvicorn
0.54 binds the listening socket it shares with its workers without naming the protocol (its
``proto`` is 0), accepted connections inherit that, and asyncio sets ``TCP_NODELAY`` only on
sockets whose ``proto`` says TCP. With Nagle on, a keep-alive response's last small segment
waits for the client's delayed ACK: every request after a connection's first took ~44 ms more
(``GET /healthz``: 44 ms against 3 ms with one process; uvicorn issue 3149). One process
(``mentorflow up``) is not affected: asyncio binds its socket itself.
"""

from __future__ import annotations

import asyncio
import socket

from uvicorn.protocols.http.h11_impl import H11Protocol


class NoDelayH11Protocol(H11Protocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)


#: What ``uvicorn --http`` takes to use it.
UVICORN_HTTP = f"{__name__}:{NoDelayH11Protocol.__qualname__}"
