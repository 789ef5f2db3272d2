"""The test command's own promise: tests marked with one ``xdist_group`` run on one worker.

The engine tests share a Prefect server, a runner and a task worker per worker process
(``tests/engine/conftest.py``). pytest 9.2 with xdist 3.8 silently stopped honouring the mark
(xdist issue 1386): the engine tests were spread over both workers, each starting its own stack,
which cost the suite two set-ups and two engines competing for two cores. This runs a small
suite the way the test command does and checks where its grouped tests ran.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

GROUPED = """
import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.xdist_group("engine")


@pytest.mark.parametrize("n", range(6))
def test_grouped(n: int) -> None:
    Path(f"ran-{n}").write_text(os.environ["PYTEST_XDIST_WORKER"])
"""


def test_tests_of_one_xdist_group_run_on_one_worker(tmp_path: Path) -> None:
    (tmp_path / "test_grouped.py").write_text(GROUPED)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # not this project's settings
    ran = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "2", "--dist", "loadgroup", "-q"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    ran_tests = list(tmp_path.glob("ran-*"))
    assert len(ran_tests) == 6
    workers = {path.read_text() for path in ran_tests}
    assert len(workers) == 1, f"the group ran on {sorted(workers)}"
