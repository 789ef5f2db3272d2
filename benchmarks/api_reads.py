"""API reads beside a busy writer, on SQLite: this tree against a baseline revision, same run.

    python -m benchmarks.api_reads [--baseline REV] [--rounds 6] [--seconds 8] [--readers 8]

Each side gets its own SQLite file (migrated by that side's code) and one uvicorn process
serving ``api.main:app`` from that side's source; the baseline runs from a ``git worktree`` at
``REV``. The engine is off: this measures the API and the database. Load, per round and side:
``readers`` threads read a mentorship and its event log as its mentee, while one writer saves
another pair's agreement draft again and again. The sides alternate round by round, so both
see the same machine. Reported: reads per second, read and write latency, and the ratios.
Written to decide whether GETs should read without SQLite's write lock (BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from statistics import median, quantiles

import httpx
from sqlalchemy import Engine

from models.db import make_engine
from models.settings import Settings
from tests.engine.harness import PYTHON, free_port, wait_until
from tests.support import TERMS, Clock, Journey, People

ROOT = Path(__file__).resolve().parent.parent
SECRET = "benchmark-secret-key-0123456789-abcdefghij"
SERVER_ENV = {
    "MENTORFLOW_ENV": "test",
    "MENTORFLOW_SECRET_KEY": SECRET,
    "MENTORFLOW_PASSWORD_HASHING": "cheap",
    "MENTORFLOW_ENGINE": "off",
}


@dataclass
class Side:
    name: str
    source: Path
    database: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    reads_per_second: list[float] = field(default_factory=list)
    read_latency: list[float] = field(default_factory=list)
    write_latency: list[float] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MENTORFLOW_")}
        return {**env, **SERVER_ENV, "MENTORFLOW_DATABASE_URL": f"sqlite:///{self.database}"}

    def migrate(self) -> None:
        command = [PYTHON, "-c", f"from migrations import upgrade; upgrade('sqlite:///{self.database}')"]
        subprocess.run(command, cwd=self.source, env=self.env(), check=True)

    def start(self, log: Path) -> None:
        command = [PYTHON, "-m", "uvicorn", "api.main:app", "--port", str(self.port)]
        command += ["--log-level", "warning", "--no-access-log"]
        with log.open("ab") as out:
            self.process = subprocess.Popen(command, cwd=self.source, env=self.env(), stdout=out, stderr=out)
        wait_until(self._healthy, timeout=60, interval=0.2, what=f"{self.name} server")

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=15)


@dataclass(frozen=True)
class Scene:
    """Who reads what and who writes where, the same on both sides."""

    read_urls: tuple[str, ...]
    reader_auth: dict[str, str]
    write_url: str
    writer_auth: dict[str, str]


def seed(db: Engine) -> Scene:
    settings = Settings(secret_key=SECRET, env="test", password_hashing="cheap")
    clock = Clock(datetime.now(UTC).replace(microsecond=0))  # the servers check tokens against real time
    people = People(db, settings, clock)
    reader, writer = people.mentee(), people.mentee()
    read_pair = Journey(db, clock, reader, people.mentor()).request().accept()
    write_pair = Journey(db, clock, writer, people.mentor()).request().accept()
    base = f"/api/mentorships/{read_pair.mentorship_id}"
    return Scene(
        read_urls=(base, f"{base}/events", f"{base}/agreement"),
        reader_auth=reader.auth,
        write_url=f"/api/mentorships/{write_pair.mentorship_id}/agreement",
        writer_auth=writer.auth,
    )


def load(side: Side, scene: Scene, *, seconds: float, readers: int) -> None:
    stop = threading.Event()
    reads: list[float] = []
    writes: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()

    def check(response: httpx.Response) -> None:
        if response.status_code != 200:
            with lock:
                failures.append(f"{response.request.method} {response.request.url.path}: {response.text}")
            stop.set()

    def read() -> None:
        with httpx.Client(base_url=side.url, headers=scene.reader_auth, timeout=30) as client:
            n = 0
            while not stop.is_set():
                began = time.perf_counter()
                response = client.get(scene.read_urls[n % len(scene.read_urls)])
                took = time.perf_counter() - began
                check(response)
                n += 1
                with lock:
                    reads.append(took)

    def write() -> None:
        body = {**TERMS, "period_start": str(TERMS["period_start"]), "period_end": str(TERMS["period_end"])}
        with httpx.Client(base_url=side.url, headers=scene.writer_auth, timeout=30) as client:
            while not stop.is_set():
                began = time.perf_counter()
                response = client.put(scene.write_url, json=body)
                took = time.perf_counter() - began
                check(response)
                with lock:
                    writes.append(took)

    threads = [threading.Thread(target=read) for _ in range(readers)] + [threading.Thread(target=write)]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(f"{side.name}: {failures[0]}")
    side.reads_per_second.append(len(reads) / seconds)
    side.read_latency += reads
    side.write_latency += writes


def p95(values: list[float]) -> float:
    return quantiles(values, n=20, method="inclusive")[-1]


def report(sides: list[Side]) -> None:
    print(f"\n{'':34} {'reads/s':>9} {'read p50':>9} {'read p95':>9} {'write p50':>10} {'write p95':>10}")
    for side in sides:
        print(
            f"{side.name:34} {median(side.reads_per_second):>9.0f}"
            f" {median(side.read_latency) * 1000:>7.1f}ms {p95(side.read_latency) * 1000:>7.1f}ms"
            f" {median(side.write_latency) * 1000:>8.1f}ms {p95(side.write_latency) * 1000:>8.1f}ms"
        )
    ours, base = sides
    throughput = median(ours.reads_per_second) / median(base.reads_per_second)
    print(
        f"\nratio this tree / baseline: reads/s {throughput:.2f};"
        f" write p95 {p95(ours.write_latency) / p95(base.write_latency):.2f},"
        f" read p95 {p95(ours.read_latency) / p95(base.read_latency):.2f} (below 1: faster)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="API reads beside a writer, this tree vs a baseline")
    parser.add_argument("--baseline", default="HEAD~1", help="git revision to compare with")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--readers", type=int, default=8)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="mentorflow-api-reads-"))
    worktree = work / "baseline"
    subprocess.run(["git", "worktree", "add", "--detach", str(worktree), args.baseline], cwd=ROOT, check=True)
    revision = subprocess.run(
        ["git", "rev-parse", "--short", args.baseline], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()
    sides = [
        Side("this tree", ROOT, work / "ours.db"),
        Side(f"baseline {args.baseline} ({revision})", worktree, work / "baseline.db"),
    ]
    try:
        print(f"machine: nproc {os.cpu_count()}, load average (1 min) {os.getloadavg()[0]:.1f}")
        scenes = []
        for side in sides:
            side.migrate()
            scenes.append(seed(make_engine(f"sqlite:///{side.database}")))
            side.start(work / f"{side.name.split()[0]}.log")
        for round_no in range(args.rounds):
            for side, scene in zip(sides, scenes, strict=True):
                load(side, scene, seconds=args.seconds, readers=args.readers)
            print(f"round {round_no + 1}/{args.rounds}")
        print(f"load average after: {os.getloadavg()[0]:.1f}")
        report(sides)
    finally:
        for side in sides:
            side.stop()
        subprocess.run(["git", "worktree", "remove", "--force", str(worktree)], cwd=ROOT, check=False)


if __name__ == "__main__":
    main()
