"""The fault scenario's HTTP client: it behaves as a careful real client does when the
server is in trouble, and counts the trouble it met."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar
from uuid import uuid4

import httpx

T = TypeVar("T")


@dataclass
class Driver:
    """The test's HTTP client, as a careful real client: every write carries an
    Idempotency-Key, and a request that got no answer, a 5xx, or "the same key is being
    processed" is sent again with the same key after a pause. Every 5xx and connection
    error is counted, with the phase it happened in."""

    api: httpx.Client
    phase: str = "start"
    accepted: Counter[str] = field(default_factory=Counter)  # writes answered 2xx, once each, by phase
    resent: int = 0
    five_xx: Counter[tuple[str, int]] = field(default_factory=Counter)
    no_answer: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def write(self, method: str, url: str, who: dict[str, str], status: int = 200, **kw: Any) -> Any:
        headers = {**who, "Idempotency-Key": str(uuid4())}
        for _attempt in range(30):
            phase = self.phase
            try:
                response = self.api.request(method, url, headers=headers, **kw)
            except httpx.TransportError:
                self._count(self.no_answer, phase)
                time.sleep(1)
                continue
            if response.status_code >= 500:
                self._count(self.five_xx, (phase, response.status_code))
                time.sleep(float(response.headers.get("retry-after", 1)))
                continue
            if response.status_code == 409 and "Idempotency-Key" in response.text:
                time.sleep(1)  # its first sending is still being processed
                continue
            break
        assert response.status_code == status, (method, url, response.status_code, response.text)
        with self._lock:
            self.accepted[phase] += 1
        return response.json()

    def _count(self, counter: Counter[Any], key: Any) -> None:
        with self._lock:
            counter[key] += 1
            self.resent += 1


def each(pairs: list[T], step: Callable[[T], None]) -> None:
    """One step for every pair at once, eight requests in flight."""
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(step, pairs))
