"""The machine a benchmark runs on: what it is, for the report (cores, CPU, memory, load), and
how busy all its cores are."""

from __future__ import annotations

import os
from pathlib import Path


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "unknown CPU",
    )
    mem = status_like("/proc/meminfo", "MemTotal") / 2**20
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"nproc {os.cpu_count()}, {cpu}, {mem:.0f} GiB, load average {load}"


def status_like(path: str, key: str) -> int:
    """The number after ``key:`` in a ``/proc`` file of that form (kB for memory)."""
    for line in Path(path).read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    return 0


def machine_ticks() -> tuple[int, int]:
    """(busy, all) jiffies of every core since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)
