"""The operators' list, overview and exports with many mentorships: server time per request.

    python -m benchmarks.operator_pages [--sizes 1000 10000] [--backends sqlite postgresql] [--rounds 15]

For each backend and size: a fresh database (PostgreSQL: its own database on the server of
``MENTORFLOW_TEST_PG`` or 127.0.0.1:5432, dropped after), migrated, filled in bulk with a
program of that many mentorships (a tenth requested, a tenth in intro, six tenths active with
an agreement and three meetings held, one proposed, a tenth completed, a tenth ended early;
a mentor per ten mentees). Each request runs ``--rounds`` times through the app in this process
(FastAPI's TestClient: routing, services, SQL, templates; no network); reported are the median
and the 95th percentile in ms, and the rows it answered. The smaller size is the baseline in
the same run: a page that stays fast grows far less than the data. The bulk fill writes no
next steps (as a database migrated to 0017): they are worked out and stored once first, as the
minute sweep would, and that time is printed.
"""

from __future__ import annotations

import argparse
import os
import time
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from statistics import median, quantiles

from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert, text
from sqlalchemy.orm import Session

os.environ.setdefault("MENTORFLOW_ENV", "test")
os.environ.setdefault("MENTORFLOW_SECRET_KEY", "benchmark-secret-key-0123456789-abcdefghij")
os.environ.setdefault("MENTORFLOW_ENGINE", "off")
os.environ.setdefault("MENTORFLOW_PASSWORD_HASHING", "cheap")

from api.app import create_app  # noqa: E402
from api.portal.session import COOKIE  # noqa: E402
from benchmarks.databases import migrated_database  # noqa: E402
from models import (  # noqa: E402
    AgreementVersion,
    Attendance,
    Meeting,
    Mentorship,
    Profile,
    User,
    UserRole,
)
from models.settings import get_settings  # noqa: E402
from services import next_steps  # noqa: E402
from tests.support import Clock, mint_token  # noqa: E402

#: The seed's "now": the start of this hour, so that an API on the real clock
#: (``benchmarks/api_load.py``) sees the program as seeded (live meetings two days ahead) and
#: not a month on, with every seeded meeting started and its next step stale.
NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
STAGE_BY_TENTH = {0: "requested", 1: "intro", 8: "completed", 9: "ended"}
REQUESTS = [
    ("API list, a page", "/api/admin/mentorships?limit=50"),
    ("API list, waiting for the mentor", "/api/admin/mentorships?waiting_for=mentor&limit=50"),
    ("API list, overdue", "/api/admin/mentorships?overdue=true&limit=50"),
    ("API list, name search", "/api/admin/mentorships?q=mentee%2077&limit=50"),
    ("API overview", "/api/admin/overview"),
    ("portal overview", "/portal/program"),
    ("portal list, a page", "/portal/program/mentorships?page=3"),
    ("portal list, waiting for the mentee", "/portal/program/mentorships?waiting=mentee"),
    ("CSV of every mentorship", "/api/admin/exports/mentorships.csv"),
    ("API stats", "/api/admin/stats"),
]


def fill(engine: Engine, size: int) -> int:
    """``size`` mentorships in bulk (Core inserts, no services: seconds, not minutes); the
    operator's user id."""
    mentors = max(1, size // 10)
    users: list[dict[str, object]] = []
    roles: list[dict[str, object]] = []
    profiles: list[dict[str, object]] = []
    for n in range(size + mentors + 1):
        kind = "operator" if n == 0 else "mentor" if n <= mentors else "mentee"
        users.append(
            {
                "id": n + 1,
                "email": f"{kind}{n}@example.org",
                "password_hash": "!",
                "display_name": f"{kind.title()} {n}",
                "locale": "en",
                "timezone": "Europe/Berlin",
                "created_at": NOW - timedelta(days=200),
            }
        )
        roles.append({"user_id": n + 1, "role": kind})
        profiles.append({"user_id": n + 1, "updated_at": NOW - timedelta(days=200)})
    pairs: list[dict[str, object]] = []
    versions: list[dict[str, object]] = []
    meetings: list[dict[str, object]] = []
    answers: list[dict[str, object]] = []
    meeting_id = 0
    for i in range(size):
        stage = STAGE_BY_TENTH.get(i % 10, "active")
        requested = NOW - timedelta(days=120 - (i % 90), hours=i % 24)
        pairs.append(
            {
                "id": i + 1,
                "mentee_id": mentors + 2 + i,
                "mentor_id": 2 + i % mentors,
                "stage": stage,
                "request_message": "Hello",
                "closing_reason": "moving away" if stage == "ended" else None,
                "requested_at": requested,
                "accepted_at": None if stage == "requested" else requested + timedelta(hours=5),
                "activated_at": requested + timedelta(days=9) if stage in ("active", "completed") else None,
                "finished_at": NOW - timedelta(days=3) if stage in ("completed", "ended") else None,
                "last_activity_at": requested + timedelta(days=30),
                "last_seq": 0,
                "processed_seq": 0,
                "version": 1,
            }
        )
        if stage not in ("active", "completed"):
            continue
        versions.append(
            {
                "mentorship_id": i + 1,
                "number": 1,
                "status": "approved",
                "author_id": mentors + 2 + i,
                "period_start": requested.date(),
                "period_end": (requested + timedelta(days=180)).date(),
                "planned_meetings": 6,
                "contact_modes": ["video"],
                "contact_frequency": "monthly",
                "content_plan": [{"topic": "leadership", "notes": ""}],
                "notes": "",
                "created_at": requested + timedelta(days=8),
                "updated_at": requested + timedelta(days=8),
                "submitted_at": requested + timedelta(days=8),
                "decided_at": requested + timedelta(days=9),
                "version": 1,
            }
        )
        for k in range(4):
            meeting_id += 1
            held = k < 3
            starts = requested + timedelta(days=7 + 14 * k) if held else NOW + timedelta(days=2)
            meetings.append(
                {
                    "id": meeting_id,
                    "mentorship_id": i + 1,
                    "status": "held" if held else "proposed",
                    "is_intro": k == 0,
                    "is_final": False,
                    "starts_at": starts,
                    "duration_minutes": 60,
                    "mode": "video",
                    "location": "",
                    "agenda": "",
                    "topics": ["leadership"],
                    "proposed_by_id": mentors + 2 + i,
                    "created_at": starts - timedelta(days=3),
                    "held_at": starts + timedelta(hours=1) if held else None,
                    "version": 1,
                }
            )
            if held:
                for who in (mentors + 2 + i, 2 + i % mentors):
                    answers.append(
                        {"meeting_id": meeting_id, "user_id": who, "attended": True, "answered_at": starts}
                    )
    with engine.begin() as conn:
        for model, rows in (
            (User, users),
            (UserRole, roles),
            (Profile, profiles),
            (Mentorship, pairs),
            (AgreementVersion, versions),
            (Meeting, meetings),
            (Attendance, answers),
        ):
            for start in range(0, len(rows), 2000):
                conn.execute(insert(model), rows[start : start + 2000])
        if engine.dialect.name == "postgresql":  # the ids above were explicit: move the sequences on
            for model in (User, Mentorship, Meeting):
                table = f'"{model.__tablename__}"'
                sequence = f"pg_get_serial_sequence('{table}', 'id')"
                conn.execute(text(f"SELECT setval({sequence}, max(id)) FROM {table}"))
    return 1


def database(backend: str, size: int) -> AbstractContextManager[Engine]:
    return migrated_database(backend, f"mentorflow_bench_{os.getpid()}_{size}")


def measure(backend: str, size: int, rounds: int) -> list[tuple[str, float, float, int]]:
    with database(backend, size) as engine:
        began = time.perf_counter()
        operator_id = fill(engine, size)
        print(f"  {backend}, {size:,} mentorships: filled in {time.perf_counter() - began:.1f} s")  # noqa: T201
        began = time.perf_counter()
        with Session(engine) as session:  # what the minute sweep does first after migration 0017
            refreshed = next_steps.refresh_stale(session, now=NOW)
            session.commit()
        print(f"  next steps of {refreshed:,} worked out and stored in {time.perf_counter() - began:.1f} s")  # noqa: T201
        settings = get_settings()
        app = create_app(settings, engine=engine, clock=Clock(NOW), on_fact=lambda _id: None)
        token = mint_token(engine, settings, operator_id, now=NOW)
        found = []
        with TestClient(app) as client:
            client.cookies.set(COOKIE, token, path="/portal")
            headers = {"Authorization": f"Bearer {token}"}
            for label, path in REQUESTS:
                times = []
                for _ in range(rounds):
                    start = time.perf_counter()
                    response = client.get(path, headers=headers)
                    times.append((time.perf_counter() - start) * 1000)
                    if response.status_code != 200:
                        raise SystemExit(f"{path}: {response.status_code} {response.text[:300]}")
                rows = int(response.headers.get("X-Total-Count", "0"))
                found.append((label, median(times), quantiles(times, n=20)[-1], rows))
        return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    for backend in args.backends:
        results = {size: measure(backend, size, args.rounds) for size in args.sizes}
        print(f"\n{backend}: median / p95 ms (matching rows)")  # noqa: T201
        print("| request | " + " | ".join(f"{s:,}" for s in args.sizes) + " |")  # noqa: T201
        print("|---|" + "---|" * len(args.sizes))  # noqa: T201
        for i, (label, _) in enumerate(REQUESTS):
            cells = []
            for size in args.sizes:
                _, med, p95, rows = results[size][i]
                cells.append(f"{med:.0f} / {p95:.0f}" + (f" ({rows:,})" if rows else ""))
            print(f"| {label} | " + " | ".join(cells) + " |")  # noqa: T201


if __name__ == "__main__":
    main()
