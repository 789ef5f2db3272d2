"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, MetaData, text

from migrations import upgrade
from models import Base
from models.db import make_engine
from tests.engine.harness import create_pg_database, drop_pg_database


def test_the_migrated_schema_matches_the_models(db: Engine) -> None:
    with db.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == [], "a model changed without a migration (alembic revision --autogenerate)"


def test_revision_0009_takes_the_ratings_out_of_the_event_log(database: Engine) -> None:
    """On a database at 0008 with a feedback event that still holds its rating."""
    if database.dialect.name == "sqlite":
        url = str(database.url).replace("test.db", "at-0008.db")
    else:
        url = create_pg_database("mentorflow_migration_0009", driver="psycopg")
    upgrade(url, "0008")
    old = make_engine(url)
    tables = MetaData()
    tables.reflect(bind=old)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    person = {"password_hash": "!", "locale": "en", "timezone": "UTC", "created_at": at}
    with old.begin() as conn:
        conn.execute(
            tables.tables["user"].insert(),
            [{"id": 1, "email": "a@example.org", "display_name": "A", **person},
             {"id": 2, "email": "b@example.org", "display_name": "B", **person}],
        )  # fmt: skip
        conn.execute(
            tables.tables["mentorship"].insert(),
            {"id": 1, "mentee_id": 1, "mentor_id": 2, "stage": "active", "request_message": "",
             "requested_at": at, "last_activity_at": at, "last_seq": 1, "processed_seq": 1, "version": 1},
        )  # fmt: skip
        conn.execute(
            tables.tables["event"].insert(),
            {"id": 1, "mentorship_id": 1, "seq": 1, "type": "feedback.given", "actor_id": 1,
             "payload": {"feedback_id": 7, "meeting_id": 3, "rating": 2}, "occurred_at": at, "failures": 0},
        )  # fmt: skip
    old.dispose()

    upgrade(url, "0009")

    migrated = make_engine(url)
    with migrated.connect() as conn:
        payload = conn.execute(text("SELECT payload FROM event WHERE id = 1")).scalar_one()
    migrated.dispose()
    if database.dialect.name == "postgresql":
        drop_pg_database("mentorflow_migration_0009")
    stored = json.loads(payload) if isinstance(payload, str) else payload
    assert stored == {"feedback_id": 7, "meeting_id": 3}
