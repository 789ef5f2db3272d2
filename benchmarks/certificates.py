"""Certificates: render time per PDF, the renderer's memory over many in a row, download time.

    python -m benchmarks.certificates [--parts first forked steady memory download]
        [--rounds 20] [--fresh 3] [--forks 4] [--count 1000] [--requests 300]
        [--backends sqlite postgresql]

- **first**: ``--fresh`` new interpreters per language, each importing ``tasks.certificate``
  and rendering two certificates: the first pays WeasyPrint's set-up (fontconfig, fonts, its
  style sheets), the second is steady.
- **forked**: as the runner's forkserver starts a closing pass (``deployments/warm_start.py``):
  a process imports ``PRELOAD``, then forks ``--forks`` children that each render two
  certificates (mentee and mentor). Three ways: the preload as it is, plus a warm-up render of
  a minimal page, or of a throwaway certificate, in the server before it forks.
- **steady**: in this process, after a first render, ``--rounds`` renders of each kind (English
  and German, 10 and 50 meetings held), taking turns; baseline: a minimal page.
- **memory**: a new interpreter renders ``--count`` certificates in a row (the four kinds in
  turn, each with its own verification code) and reports its RSS every 100.
- **download**: per backend a fresh app database (PostgreSQL: its own database on the server of
  ``MENTORFLOW_TEST_PG`` or 127.0.0.1:5432, dropped after), migrated, holding 200 stored
  certificates (a mentor's 100 and their mentees'); then ``--requests`` times
  ``GET /api/certificates/{id}.pdf`` as the mentor, through the app in this process (FastAPI's
  TestClient: routing, auth, SQL; no network), taking turns with ``GET /api/me`` as baseline.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from statistics import median, quantiles
from typing import Any

os.environ.setdefault("MENTORFLOW_ENV", "test")
os.environ.setdefault("MENTORFLOW_SECRET_KEY", "benchmark-secret-key-0123456789-abcdefghij")
os.environ.setdefault("MENTORFLOW_ENGINE", "off")
os.environ.setdefault("MENTORFLOW_PASSWORD_HASHING", "cheap")

from benchmarks.machine import machine  # noqa: E402
from services.certificates import CertificateFacts, HeldMeeting  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
KINDS = [("en", 10), ("en", 50), ("de", 10), ("de", 50)]
MINIMAL_PAGE = "<html><body><h1>Hello</h1><p>A minimal page.</p></body></html>"
TOPICS = [("Career orientation", "Job applications"), ("Networking",), ("Salary negotiation",)]


def facts(locale: str, meetings: int, holder: str = "mentee") -> CertificateFacts:
    """A certificate as the closing pass would state it (cf. tests/tasks/test_certificate_pdf)."""
    held = [date(2025, 3, 12) + timedelta(weeks=i) for i in range(meetings)]
    names = ("Anna Schmidt", "Jonas Weber") if holder == "mentee" else ("Jonas Weber", "Anna Schmidt")
    return CertificateFacts(
        mentorship_id=7,
        holder_id=1,
        holder_name=names[0],
        holder_role="mentee" if holder == "mentee" else "mentor",
        holder_locale=locale,
        other_name=names[1],
        other_role="mentor" if holder == "mentee" else "mentee",
        period_start=date(2025, 3, 1),
        period_end=held[-1],
        meetings=tuple(HeldMeeting(held_on=day, topics=TOPICS[i % 3]) for i, day in enumerate(held)),
        topics=("Career orientation", "Job applications", "Networking", "Salary negotiation"),
        program_name="Mentoring Rhein-Main",
    )


def render(locale: str, meetings: int, n: int = 0, holder: str = "mentee") -> bytes:
    from tasks.certificate import render_certificate_pdf

    url = f"https://mentoring.example.org/verify/Xy3_k9-AbCd{n:06d}"
    return render_certificate_pdf(facts(locale, meetings, holder), url, locale=locale, issued_on=NOW.date())


def render_minimal() -> bytes:
    from weasyprint import HTML

    pdf: bytes = HTML(string=MINIMAL_PAGE).write_pdf()
    return pdf


def timed(action: Callable[[], object]) -> float:
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


def pages(pdf: bytes) -> int:
    import io

    import pypdf

    return len(pypdf.PdfReader(io.BytesIO(pdf)).pages)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f}" if seconds >= 0.01 else f"{seconds * 1000:.1f}"


def pct(values: list[float], p: int) -> float:
    return quantiles(values, n=100, method="inclusive")[p - 1]


# --- children: each runs in a new interpreter ----------------------------------------------------


def child_first(locale: str) -> dict[str, float]:
    imported = timed(lambda: importlib.import_module("tasks.certificate"))
    first = timed(lambda: render(locale, 10, 1))
    second = timed(lambda: render(locale, 10, 2, holder="mentor"))
    return {"import": imported, "first": first, "second": second, "rss": rss_mb()}


def child_forked(warmup: str, forks: int) -> list[dict[str, float]]:
    from deployments.warm_start import PRELOAD

    for module in PRELOAD:
        importlib.import_module(module)
    warm = {"none": lambda: None, "page": render_minimal, "certificate": lambda: render("en", 1)}[warmup]
    warmup_s = timed(warm)
    results = []
    for n in range(forks):
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the flow run: mentee's then mentor's certificate
            os.close(read_end)
            times = {
                "first": timed(lambda: render("en", 10, n)),  # noqa: B023 - called at once
                "second": timed(lambda: render("en", 10, n, holder="mentor")),  # noqa: B023
                "warmup": warmup_s,
            }
            os.write(write_end, json.dumps(times).encode())
            os._exit(0)
        os.close(write_end)
        with os.fdopen(read_end) as pipe:
            results.append(json.loads(pipe.read()))
        os.waitpid(pid, 0)
    return results


def child_memory(count: int) -> list[dict[str, float]]:
    importlib.import_module("tasks.certificate")
    samples = [{"n": 0, "rss": rss_mb(), "ms": 0.0}]
    began, since = time.perf_counter(), 0
    for n in range(1, count + 1):
        render(*KINDS[n % len(KINDS)], n)
        if n == 1 or n % 100 == 0 or n == count:
            took = (time.perf_counter() - began) / (n - since)
            samples.append({"n": n, "rss": rss_mb(), "ms": took * 1000})
            began, since = time.perf_counter(), n
    return samples


def run_child(*args: str) -> Any:
    from tests.engine.harness import PYCACHE

    env = {**os.environ, "PYTHONPYCACHEPREFIX": str(PYCACHE)}
    command = [sys.executable, "-m", "benchmarks.certificates", "--child", *args]
    done = subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- parts ---------------------------------------------------------------------------------------


def part_first(fresh: int) -> None:
    run_child("first", "en")  # not counted: fills the bytecode cache the others read
    print("\n### First render in a new interpreter (median of", fresh, "processes, ms)\n")
    print("| language | import `tasks.certificate` | first PDF | second PDF | RSS after |")
    print("|---|---:|---:|---:|---:|")
    for locale in ("en", "de"):
        runs = [run_child("first", locale) for _ in range(fresh)]
        cells = [ms(median(r[key] for r in runs)) for key in ("import", "first", "second")]
        print(f"| {locale} | " + " | ".join(cells) + f" | {median(r['rss'] for r in runs):.0f} MB |")


def part_forked(forks: int) -> None:
    print(f"\n### Forked from a preloaded server, as a closing pass runs ({forks} forks each, ms)\n")
    print(
        "| server before it forks | warm-up in the server | mentee's PDF (first), median / max | "
        "mentor's PDF (second), median / max |"
    )
    print("|---|---:|---:|---:|")
    labels = {
        "none": "imports `PRELOAD` (as now)",
        "page": "… + renders a minimal page",
        "certificate": "… + renders a throwaway certificate",
    }
    for warmup, label in labels.items():
        runs = run_child("forked", warmup, str(forks))
        first, second = [r["first"] for r in runs], [r["second"] for r in runs]
        print(
            f"| {label} | {ms(runs[0]['warmup'])} | {ms(median(first))} / {ms(max(first))} |"
            f" {ms(median(second))} / {ms(max(second))} |"
        )


def part_steady(rounds: int) -> dict[tuple[str, int], bytes]:
    pdfs = {kind: render(*kind) for kind in KINDS}  # also the first render: not counted
    render_minimal()
    times: dict[str, list[float]] = {}
    for n in range(rounds):
        for locale, meetings in KINDS:
            times.setdefault(f"{locale}, {meetings} meetings held", []).append(
                timed(lambda: render(locale, meetings, n))  # noqa: B023 - called at once
            )
        times.setdefault("baseline: minimal page", []).append(timed(render_minimal))
    print(f"\n### Steady state, in one warm process ({rounds} renders each, taking turns)\n")
    print("| PDF | p50 ms | p95 ms | max ms | pages | size |")
    print("|---|---:|---:|---:|---:|---:|")
    sizes = [*(pdfs[k] for k in KINDS), render_minimal()]
    for (label, values), pdf in zip(times.items(), sizes, strict=True):
        print(
            f"| {label} | {ms(median(values))} | {ms(pct(values, 95))} | {ms(max(values))} |"
            f" {pages(pdf)} | {len(pdf) / 1024:.0f} KB |"
        )
    return pdfs


def part_memory(count: int) -> None:
    samples = run_child("memory", str(count))
    print(f"\n### RSS of a new interpreter rendering {count:,} certificates in a row\n")
    print("| certificates rendered | RSS | ms per PDF (since the previous row) |")
    print("|---:|---:|---:|")
    for s in samples:
        print(
            f"| {s['n']:,} | {s['rss']:.0f} MB | {s['ms']:.0f} |"
            if s["n"]
            else f"| 0 | {s['rss']:.0f} MB | |"
        )
    if len(samples) > 3:
        grown = samples[-1]["rss"] - samples[2]["rss"]
        print(f"\nfrom {samples[2]['n']:,} to {samples[-1]['n']:,}: {grown:+.1f} MB")


def app_database(backend: str) -> AbstractContextManager[Any]:
    from benchmarks.databases import migrated_database  # only the download part needs a database

    return migrated_database(backend, f"mentorflow_bench_certificates_{os.getpid()}")


def fill(engine: Any, pdfs: list[bytes], pairs: int = 100) -> dict[int, int]:
    """A mentor (user 1) and ``pairs`` mentees, each pair completed with both certificates;
    the mentor's certificate ids and their sizes."""
    import hashlib

    from sqlalchemy import insert, select

    from models import Certificate, Mentorship, Profile, User, UserRole

    users: list[dict[str, Any]] = []
    roles: list[dict[str, Any]] = []
    profiles: list[dict[str, Any]] = []
    mentorships: list[dict[str, Any]] = []
    certificates: list[dict[str, Any]] = []
    for n in range(pairs + 1):
        kind = "mentor" if n == 0 else "mentee"
        users.append(
            {
                "id": n + 1,
                "email": f"{kind}{n}@example.org",
                "password_hash": "!",
                "display_name": f"{kind.title()} {n}",
                "locale": "en",
                "timezone": "Europe/Berlin",
                "created_at": NOW - timedelta(days=400),
            }
        )
        roles.append({"user_id": n + 1, "role": kind})
        profiles.append({"user_id": n + 1, "updated_at": NOW - timedelta(days=400)})
    for i in range(pairs):
        requested = NOW - timedelta(days=380 - i)
        mentorships.append(
            {
                "id": i + 1,
                "mentee_id": i + 2,
                "mentor_id": 1,
                "stage": "completed",
                "request_message": "Hello",
                "requested_at": requested,
                "accepted_at": requested + timedelta(hours=5),
                "activated_at": requested + timedelta(days=9),
                "finished_at": requested + timedelta(days=200),
                "last_activity_at": requested + timedelta(days=200),
                "last_seq": 0,
                "processed_seq": 0,
                "version": 1,
            }
        )
        for holder, role in ((1, "mentor"), (i + 2, "mentee")):
            pdf = pdfs[len(certificates) % len(pdfs)]
            certificates.append(
                {
                    "mentorship_id": i + 1,
                    "user_id": holder,
                    "role": role,
                    "verification_code": f"code-{i}-{role}",
                    "issued_at": requested + timedelta(days=200),
                    "pdf": pdf,
                    "sha256": hashlib.sha256(pdf).hexdigest(),
                    "summary": {"holder_name": f"Person {holder}", "role": role, "meetings_held": 10},
                    "notes": "",
                }
            )
    with engine.begin() as conn:
        for model, rows in (
            (User, users),
            (UserRole, roles),
            (Profile, profiles),
            (Mentorship, mentorships),
            (Certificate, certificates),
        ):
            conn.execute(insert(model), rows)
        mine = conn.execute(select(Certificate.id, Certificate.pdf).where(Certificate.user_id == 1)).all()
    return {row.id: len(row.pdf) for row in mine}


def measure_download(backend: str, pdfs: list[bytes], requests: int) -> dict[str, list[float]]:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from models.settings import get_settings
    from tests.support import Clock, mint_token

    with app_database(backend) as engine:
        sizes = fill(engine, pdfs)
        settings = get_settings()
        app = create_app(settings, engine=engine, clock=Clock(NOW), on_fact=lambda _id: None)
        headers = {"Authorization": f"Bearer {mint_token(engine, settings, 1, now=NOW)}"}
        ids = sorted(sizes)
        times: dict[str, list[float]] = {"pdf": [], "me": []}
        with TestClient(app) as client:
            for n in range(requests + 20):  # the first 20 of each are not counted
                cert_id = ids[n % len(ids)]
                began = time.perf_counter()
                response = client.get(f"/api/certificates/{cert_id}.pdf", headers=headers)
                took_pdf = time.perf_counter() - began
                if response.status_code != 200 or len(response.content) != sizes[cert_id]:
                    raise SystemExit(f"certificate {cert_id}: {response.status_code} {response.text[:200]}")
                began = time.perf_counter()
                response = client.get("/api/me", headers=headers)
                took_me = time.perf_counter() - began
                if response.status_code != 200:
                    raise SystemExit(f"/api/me: {response.status_code} {response.text[:200]}")
                if n >= 20:
                    times["pdf"].append(took_pdf)
                    times["me"].append(took_me)
        return times


def part_download(pdfs: list[bytes], requests: int, backends: list[str]) -> None:
    results = {backend: measure_download(backend, pdfs, requests) for backend in backends}
    size = sum(len(p) for p in pdfs) / len(pdfs) / 1024
    print(f"\n### Download through the app, {requests} requests each, taking turns (ms)\n")
    print("| request | backend | p50 | p95 | p99 | max |")
    print("|---|---|---:|---:|---:|---:|")
    for key, label in (
        ("pdf", f"`GET /api/certificates/{{id}}.pdf` (≈ {size:.0f} KB)"),
        ("me", "`GET /api/me`"),
    ):
        for backend, times in results.items():
            values = times[key]
            print(
                f"| {label} | {backend} | {ms(median(values))} | {ms(pct(values, 95))} |"
                f" {ms(pct(values, 99))} | {ms(max(values))} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description="Certificates: render, memory, download")
    parser.add_argument("--parts", nargs="+", default=["first", "forked", "steady", "memory", "download"])
    parser.add_argument("--rounds", type=int, default=20, help="steady renders of each kind")
    parser.add_argument("--fresh", type=int, default=3, help="new interpreters per language")
    parser.add_argument("--forks", type=int, default=4, help="forked flow runs per warm-up way")
    parser.add_argument("--count", type=int, default=1000, help="certificates in a row (memory)")
    parser.add_argument("--requests", type=int, default=300, help="downloads per backend")
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        runs: dict[str, Callable[..., object]] = {
            "first": child_first,
            "forked": child_forked,
            "memory": child_memory,
        }
        print(json.dumps(runs[kind](*[int(a) if a.isdigit() else a for a in rest])))
        return

    print(f"machine: {machine()}")
    began = time.perf_counter()
    if "first" in args.parts:
        part_first(args.fresh)
    if "forked" in args.parts:
        part_forked(args.forks)
    pdfs = part_steady(args.rounds) if "steady" in args.parts else {k: render(*k) for k in KINDS}
    if "memory" in args.parts:
        part_memory(args.count)
    if "download" in args.parts:
        part_download(list(pdfs.values()), args.requests, args.backends)
    took = time.perf_counter() - began
    print(f"\nload average after: {machine().split('load average ')[1]}; took {took:.0f} s")


if __name__ == "__main__":
    main()
