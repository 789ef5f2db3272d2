"""Fixtures of the API suite: the lifecycle walker, and a real server for concurrency tests."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.api.helpers import Flow
from tests.support import Clock, People, Person


@pytest.fixture
def flow(client: TestClient, people: People, clock: Clock, db: Engine) -> Flow:
    return Flow(client, people, clock, db)


@pytest.fixture
def operator(people: People) -> Person:
    return people.operator()
