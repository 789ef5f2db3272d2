"""The API under a constant request rate with many mentorships: latency per kind of request.

    python -m benchmarks.api_load [--db sqlite|postgresql|both] [--mentorships 10000]
        [--baseline 1000] [--rate 200] [--seconds 60] [--workers 1] [--skip KIND ...]

For each backend and size (the baseline size first, in the same run): a fresh migrated
database filled as ``benchmarks/operator_pages.py`` fills it, a sign-in for each person the
load acts as, ``uvicorn api.main:app`` with ``--workers`` processes and the engine off
(``MENTORFLOW_ENGINE=off``: no Prefect, the API and the database alone), one request of each
kind to warm it up, then locust, headless, one process, ``2 × rate`` users each paced to half a
request per second on average (exponential gaps: Poisson arrivals), for ``--seconds`` after
the users are spawned.
The mix is ``api_load_users.WEIGHTS``: participants' reads and writes, operators' list pages
and overview. Reported per kind and overall: p50 / p95 / p99 in ms (locust's histogram:
exact below 100 ms, to 10 ms below 1 s), failures (must be 0), the achieved rate, and the CPU
the API and locust used (cores) and the whole machine's busy share.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

os.environ.setdefault("MENTORFLOW_ENV", "test")
os.environ.setdefault("MENTORFLOW_SECRET_KEY", "benchmark-secret-key-0123456789-abcdefghij")
os.environ.setdefault("MENTORFLOW_ENGINE", "off")

from api.tokens import sign_in  # noqa: E402
from benchmarks.databases import migrated_database  # noqa: E402
from benchmarks.machine import machine_ticks  # noqa: E402
from benchmarks.operator_pages import fill  # noqa: E402
from deployments.http_protocol import UVICORN_HTTP  # noqa: E402
from models import Meeting, Mentorship, User  # noqa: E402
from models.settings import get_settings  # noqa: E402
from services import next_steps  # noqa: E402
from tests.engine.harness import PYTHON, free_port, wait_until  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
USERS_FILE = ROOT / "benchmarks" / "api_load_users.py"
SPAWN_SECONDS = 5
#: Longer than a user's gaps between requests (exponential, mean 2 s): with uvicorn's 5 s, a
#: request sent as the server closed the idle connection failed now and then (status 0), as
#: behind a proxy whose idle timeout outlasts the server's (deployments/README.md)
KEEP_ALIVE_SECONDS = 65
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Row:
    kind: str
    count: int
    failures: int
    p50: float
    p95: float
    p99: float
    rate: float


@dataclass(frozen=True)
class Run:
    backend: str
    size: int
    rows: list[Row]
    failures: list[str]
    api_cores: float
    locust_cores: float
    machine_busy: float


def scene(engine: Engine, *, people: int, feedback: int) -> dict[str, object]:
    """Who the load acts as: ``people`` active pairs (each with a meeting to read), pairs in
    intro whose mentee saves a draft, ``feedback`` (meeting, participant) slots of held
    meetings, the operator; each with a sign-in begun now (the server checks real time)."""
    now = datetime.now(UTC)
    with Session(engine) as s:
        active = s.execute(
            select(Mentorship.id, Mentorship.mentee_id, Mentorship.mentor_id)
            .where(Mentorship.stage == "active")
            .order_by(Mentorship.id)
            .limit(max(people, feedback // 6 + 1))
        ).all()
        intro = s.execute(
            select(Mentorship.id, Mentorship.mentee_id)
            .where(Mentorship.stage == "intro")
            .order_by(Mentorship.id)
            .limit(people)
        ).all()
        held = s.execute(
            select(Meeting.id, Meeting.mentorship_id)
            .where(Meeting.mentorship_id.in_([a.id for a in active]), Meeting.status == "held")
            .order_by(Meeting.id)
        ).all()
        first_meeting = dict(
            s.execute(
                select(Meeting.mentorship_id, func.min(Meeting.id))
                .where(Meeting.mentorship_id.in_([a.id for a in active[:people]]))
                .group_by(Meeting.mentorship_id)
            ).all()
        )
        pair_of = {a.id: a for a in active}
        slots = [
            (m.id, who) for m in held for who in (pair_of[m.mentorship_id][1], pair_of[m.mentorship_id][2])
        ]
        operator = s.scalars(select(User.id).order_by(User.id).limit(1)).one()
        wanted = {operator, *(who for _, who in slots[:feedback]), *(i.mentee_id for i in intro)}
        wanted |= {p for a in active[:people] for p in (a.mentee_id, a.mentor_id)}
        settings = get_settings()
        tokens = {
            u.id: sign_in(s, settings, u, now=now) for u in s.scalars(select(User).where(User.id.in_(wanted)))
        }
        s.commit()
    return {
        "today": str(now.date()),
        "period_end": str(now.date() + timedelta(days=180)),
        "operator": tokens[operator],
        "pairs": [
            {
                "id": a.id,
                "meeting": first_meeting[a.id],
                "mentee": tokens[a.mentee_id],
                "mentor": tokens[a.mentor_id],
            }
            for a in active[:people]
        ],
        "intro": [{"id": i.id, "mentee": tokens[i.mentee_id]} for i in intro],
        "feedback": [{"meeting": meeting, "token": tokens[who]} for meeting, who in slots[:feedback]],
    }


@contextmanager
def api_server(url: str, workers: int, folder: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``uvicorn api.main:app`` on a free port, as ``mentorflow up`` runs it, engine off."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MENTORFLOW_")}
    env |= {
        "MENTORFLOW_ENV": "test",
        "MENTORFLOW_SECRET_KEY": os.environ["MENTORFLOW_SECRET_KEY"],
        "MENTORFLOW_ENGINE": "off",
        "MENTORFLOW_DATABASE_URL": url,
        "MENTORFLOW_DATA_DIR": str(folder / "data"),
    }
    command = [PYTHON, "-m", "uvicorn", "api.main:app", "--port", str(port), "--workers", str(workers)]
    command += ["--http", UVICORN_HTTP]  # as deployments/README.md runs several processes
    command += ["--log-level", "warning", "--no-access-log", "--timeout-graceful-shutdown", "5"]
    command += ["--timeout-keep-alive", str(KEEP_ALIVE_SECONDS)]
    with (folder / "api.log").open("ab") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _healthy(base), timeout=60, interval=0.2, what="API server")
        yield base, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def warm_up(base: str, facts: dict[str, object]) -> None:
    """One request of each kind of read, so template and catalogue loading is not measured."""
    pair = facts["pairs"][0]  # type: ignore[index]
    me = {"Authorization": f"Bearer {pair['mentee']}"}
    operator = {"Authorization": f"Bearer {facts['operator']}"}
    paths = [
        ("/api/me", me),
        ("/api/mentorships", me),
        (f"/api/mentorships/{pair['id']}", me),
        (f"/api/mentorships/{pair['id']}/events", me),
        (f"/api/mentorships/{pair['id']}/agreement", me),
        (f"/api/meetings/{pair['meeting']}", me),
        ("/api/me/notifications", me),
        ("/api/admin/mentorships?limit=50", operator),
        ("/api/admin/overview", operator),
    ]
    with httpx.Client(base_url=base, timeout=60) as client:
        for path, auth in paths:
            response = client.get(path, headers=auth)
            if response.status_code != 200:
                raise SystemExit(f"warm-up {path}: {response.status_code} {response.text[:300]}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children still alive (uvicorn's workers)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if stat.parent.name == str(pid) or fields[1] == str(pid):  # fields[1]: the parent's pid
            total += (int(fields[11]) + int(fields[12])) / TICKS
    return total


def run_locust(base: str, scene_file: Path, prefix: Path, args: argparse.Namespace) -> tuple[float, float]:
    """Locust headless at ``args.rate``; returns its wall time and CPU seconds."""
    users = max(1, round(args.rate * 2))
    env = {
        **os.environ,
        "MENTORFLOW_LOAD_SCENE": str(scene_file),
        "MENTORFLOW_LOAD_PER_USER": str(args.rate / users),
        "MENTORFLOW_LOAD_SKIP": ",".join(args.skip),
    }
    command = [PYTHON, "-m", "locust", "-f", str(USERS_FILE), "--headless", "--host", base]
    command += ["-u", str(users), "-r", str(max(1, users // SPAWN_SECONDS)), "--reset-stats"]
    command += ["-t", f"{args.seconds + SPAWN_SECONDS}s", "--stop-timeout", "60", "--csv", str(prefix)]
    command += ["--only-summary", "--loglevel", "WARNING"]
    began = time.perf_counter()
    with (prefix.parent / "locust.log").open("ab") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
        _, _, usage = os.wait4(process.pid, 0)  # its exit code says only whether a request failed
        process.returncode = 0  # reaped by wait4
    return time.perf_counter() - began, usage.ru_utime + usage.ru_stime


def read_stats(prefix: Path) -> tuple[list[Row], list[str]]:
    rows = []
    with Path(f"{prefix}_stats.csv").open() as f:
        for line in csv.DictReader(f):
            rows.append(
                Row(
                    kind=line["Name"],
                    count=int(line["Request Count"]),
                    failures=int(line["Failure Count"]),
                    p50=_ms(line["50%"]),
                    p95=_ms(line["95%"]),
                    p99=_ms(line["99%"]),
                    rate=float(line["Requests/s"]),
                )
            )
    with Path(f"{prefix}_failures.csv").open() as f:
        failures = [
            f"{x['Occurrences']} × {x['Method']} {x['Name']}: {x['Error'][:200]}" for x in csv.DictReader(f)
        ]
    return rows, failures


def _ms(cell: str) -> float:
    """Locust writes N/A for a kind that got no request."""
    return float("nan") if cell == "N/A" else float(cell)


def measure(backend: str, size: int, args: argparse.Namespace) -> Run:
    with migrated_database(backend, f"mentorflow_load_{os.getpid()}_{size}") as engine:
        began = time.perf_counter()
        fill(engine, size)
        with Session(engine) as session:  # as the minute sweep keeps them on a live program
            next_steps.refresh_stale(session, now=datetime.now(UTC))
            session.commit()
        users = max(1, round(args.rate * 2))
        feedback = args.feedback_pool or int(args.rate * args.seconds * 0.05 * 1.5) + 100
        facts = scene(engine, people=min(users, size // 10 * 6), feedback=feedback)
        print(f"  {backend}, {size:,} mentorships: seeded in {time.perf_counter() - began:.1f} s", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(args.keep_logs or tmp) / f"{backend}-{size}"
            folder.mkdir(parents=True, exist_ok=True)
            scene_file = folder / "scene.json"
            scene_file.write_text(json.dumps(facts))
            url = engine.url.render_as_string(hide_password=False)
            with api_server(url, args.workers, folder) as (base, server):
                warm_up(base, facts)
                api_before, machine_before = cpu_seconds(server.pid), machine_ticks()
                wall, locust_cpu = run_locust(base, scene_file, folder / "stats", args)
                api_cpu, machine_after = cpu_seconds(server.pid) - api_before, machine_ticks()
            rows, failures = read_stats(folder / "stats")
    busy = (machine_after[0] - machine_before[0]) / max(1, machine_after[1] - machine_before[1])
    return Run(backend, size, rows, failures, api_cpu / wall, locust_cpu / wall, busy)


def report(runs: list[Run]) -> None:
    kinds = [row.kind for row in runs[0].rows]
    print("\np50 / p95 / p99 ms (requests, failures)")
    header = " | ".join(f"{r.backend} {r.size:,}" for r in runs)
    print(f"| request | {header} |")
    print("|---|" + "---:|" * len(runs))
    for kind in kinds:
        cells = []
        for run in runs:
            row = next((x for x in run.rows if x.kind == kind), None)
            if row is None or not row.count:
                cells.append("—")
                continue
            failed = f", **{row.failures} failed**" if row.failures else ""
            cells.append(f"{row.p50:.0f} / {row.p95:.0f} / {row.p99:.0f} ({row.count:,}{failed})")
        label = "**all requests**" if kind == "Aggregated" else kind
        print(f"| {label} | " + " | ".join(cells) + " |")
    rates = " | ".join(f"{next(x.rate for x in r.rows if x.kind == 'Aggregated'):.1f}" for r in runs)
    print(f"| achieved rate, req/s | {rates} |")
    print(
        "| CPU: API / locust, cores | "
        + " | ".join(f"{r.api_cores:.2f} / {r.locust_cores:.2f}" for r in runs)
        + " |"
    )
    achieved = [next(x.rate for x in r.rows if x.kind == "Aggregated") for r in runs]
    per_request = [1000 * r.api_cores / max(0.001, rate) for r, rate in zip(runs, achieved, strict=True)]
    print("| API CPU per request, ms | " + " | ".join(f"{ms:.1f}" for ms in per_request) + " |")
    print(
        "| machine busy (2 cores = 100 %) | "
        + " | ".join(f"{100 * r.machine_busy:.0f} %" for r in runs)
        + " |"
    )
    for run in runs:
        for failure in run.failures:
            print(f"  {run.backend} {run.size:,}: {failure}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--mentorships", type=int, default=10000)
    parser.add_argument("--baseline", type=int, default=1000, help="a smaller size run first; 0: none")
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second, constant")
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--skip", nargs="*", default=[], help="kinds of request left out of the mix")
    parser.add_argument(
        "--feedback-pool", type=int, default=0, help="feedback slots to seed (default: enough)"
    )
    parser.add_argument(
        "--keep-logs", default="", help="a folder for the logs, scene and CSVs (else a temporary one)"
    )
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    sizes = [s for s in (args.baseline, args.mentorships) if s]
    print(f"load average before: {' / '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    runs = [measure(backend, size, args) for backend in backends for size in sizes]
    print(f"load average after: {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")
    report(runs)


if __name__ == "__main__":
    main()
