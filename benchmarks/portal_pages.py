"""Every portal page's server time with many mentorships: participants', operators' and the
signed-out ones.

    python -m benchmarks.portal_pages [--sizes 1000 10000] [--backends sqlite postgresql] [--rounds 10]

For each backend and size: the database ``benchmarks/operator_pages.py`` fills (a fresh one,
migrated), then each page ``--rounds`` times through the app in this process (FastAPI's
TestClient: routing, services, SQL, templates; no network, no uvicorn), signed in by the
portal's cookie as the mentee of an active pair (agreement approved, three meetings held, one
proposed), as that pair's mentor (ten mentees) and as the operator. Reported: median and 95th
percentile in ms after one warm-up request per page (template compilation). The smaller
size is the baseline of the same run.
"""

from __future__ import annotations

import argparse
import time
from statistics import median, quantiles

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from api.app import create_app
from api.portal.session import COOKIE
from benchmarks.operator_pages import NOW, database, fill
from models import Meeting, Mentorship
from models.settings import get_settings
from tests.support import Clock, mint_token

#: (who, label, path); ``{pair}``, ``{meeting}`` and ``{mentee}`` are filled in.
PAGES = [
    ("nobody", "sign-in", "/portal/login"),
    ("nobody", "forgotten password", "/portal/password/forgot"),
    ("mentee", "home", "/portal"),
    ("mentee", "find a mentor", "/portal/mentors"),
    ("mentee", "mentorship", "/portal/mentorships/{pair}"),
    ("mentee", "agreement", "/portal/mentorships/{pair}/agreement"),
    ("mentee", "meeting", "/portal/meetings/{meeting}"),
    ("mentee", "notifications", "/portal/notifications"),
    ("mentee", "profile", "/portal/profile"),
    ("mentee", "account", "/portal/account"),
    ("mentee", "certificates", "/portal/certificates"),
    ("mentor", "home (ten mentees)", "/portal"),
    ("mentor", "mentorship", "/portal/mentorships/{pair}"),
    ("operator", "overview", "/portal/program"),
    ("operator", "mentorships, first page", "/portal/program/mentorships"),
    ("operator", "mentorships, page 3", "/portal/program/mentorships?page=3"),
    ("operator", "mentorships, waiting for the mentee", "/portal/program/mentorships?waiting=mentee"),
    ("operator", "mentorships, name search", "/portal/program/mentorships?q=mentee%2077"),
    ("operator", "people", "/portal/program/people"),
    ("operator", "a person", "/portal/program/people/{mentee}"),
    ("operator", "audit log", "/portal/program/audit"),
    ("operator", "program settings", "/portal/program/settings"),
]


def cast(engine: Engine) -> dict[str, object]:
    """The active pair whose people sign in, its proposed meeting, and the operator's id."""
    with Session(engine) as s:
        pair = s.scalars(
            select(Mentorship).where(Mentorship.stage == "active").order_by(Mentorship.id)
        ).first()
        assert pair is not None
        meeting = s.scalars(
            select(Meeting.id).where(Meeting.mentorship_id == pair.id).order_by(Meeting.id)
        ).first()
        return {"pair": pair.id, "meeting": meeting, "mentee": pair.mentee_id, "mentor": pair.mentor_id}


def measure(backend: str, size: int, rounds: int) -> dict[str, tuple[float, float]]:
    with database(backend, size) as engine:
        operator_id = fill(engine, size)
        ids = cast(engine)
        settings = get_settings()
        app = create_app(settings, engine=engine, clock=Clock(NOW), on_fact=lambda _id: None)
        cookies = {
            "mentee": mint_token(engine, settings, int(str(ids["mentee"])), now=NOW),
            "mentor": mint_token(engine, settings, int(str(ids["mentor"])), now=NOW),
            "operator": mint_token(engine, settings, operator_id, now=NOW),
        }
        found: dict[str, tuple[float, float]] = {}
        with TestClient(app) as client:
            for who, label, template in PAGES:
                client.cookies.clear()
                if who in cookies:
                    client.cookies.set(COOKIE, cookies[who], path="/portal")
                path = template.format(**ids)
                times = []
                for n in range(rounds + 1):
                    start = time.perf_counter()
                    response = client.get(path, follow_redirects=False)
                    if n:  # the first is the warm-up
                        times.append((time.perf_counter() - start) * 1000)
                    if response.status_code != 200:
                        raise SystemExit(f"{who} {path}: {response.status_code} {response.text[:300]}")
                found[f"{who}: {label}"] = (median(times), quantiles(times, n=20)[-1])
        print(f"  {backend}, {size:,} mentorships: done", flush=True)  # noqa: T201
        return found


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    runs = {(b, s): measure(b, s, args.rounds) for b in args.backends for s in args.sizes}
    print("\nmedian / p95 ms; target ≤ 100 ms")  # noqa: T201
    print("| page | " + " | ".join(f"{b} {s:,}" for b, s in runs) + " |")  # noqa: T201
    print("|---|" + "---:|" * len(runs))  # noqa: T201
    for who, label, _ in PAGES:
        key = f"{who}: {label}"
        cells = [f"{'**' if runs[r][key][0] > 100 else ''}{runs[r][key][0]:.0f}" for r in runs]
        cells = [
            f"{c}{'**' if c.startswith('**') else ''} / {runs[r][key][1]:.0f}"
            for c, r in zip(cells, runs, strict=True)
        ]
        print(f"| {key} | " + " | ".join(cells) + " |")  # noqa: T201


if __name__ == "__main__":
    main()
