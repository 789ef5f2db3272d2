#!/usr/bin/env python3
"""Set up and run mentorflow on a machine with only Python 3.11+ and git.

    python3 deployments/bootstrap.py up      # install, migrate, start everything, print URLs
    python3 deployments/bootstrap.py test    # install, then run the test suite; arguments go to
                                             # pytest (e.g. `test -m scaleout`: the fault scenario)

Creates ``.venv`` in the checkout, installs the pinned dependencies from ``requirements.lock``
(skipped when nothing changed since the last run), installs Debian's Chromium for the browser
tests when it is missing, then hands over. Standard library only: it runs before anything else
is installed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"
STAMP = VENV / ".installed-lock-sha256"


def say(message: str) -> None:
    print(f"[mentorflow] {message}", flush=True)


def run(*cmd: str | Path, **kwargs: object) -> None:
    subprocess.run([str(c) for c in cmd], check=True, **kwargs)  # type: ignore[call-overload]


def lock_digest() -> str:
    digest = hashlib.sha256()
    for name in ("requirements.lock", "pyproject.toml"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def ensure_venv() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - runs before the project is installed
        sys.exit("mentorflow needs Python 3.11 or newer")
    if not PYTHON.exists():
        say(f"creating virtual environment in {VENV}")
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = lock_digest()
    if STAMP.exists() and STAMP.read_text() == digest:
        return
    say("installing pinned dependencies (requirements.lock)")
    run(PYTHON, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "uv")
    try:
        run(BIN / "uv", "pip", "install", "--python", PYTHON, "--quiet", "-r", ROOT / "requirements.lock")
        run(BIN / "uv", "pip", "install", "--python", PYTHON, "--quiet", "--no-deps", "-e", ROOT)
    except (subprocess.CalledProcessError, FileNotFoundError):
        say("uv failed; falling back to pip")
        run(PYTHON, "-m", "pip", "install", "--quiet", "-r", ROOT / "requirements.lock")
        run(PYTHON, "-m", "pip", "install", "--quiet", "--no-deps", "-e", ROOT)
    compile_bytecode()
    STAMP.write_text(digest)


def compile_bytecode() -> None:
    """Every lifecycle resume is a fresh interpreter; where PYTHONDONTWRITEBYTECODE is set it
    would compile prefect and friends from source each time (about a second here)."""
    say("compiling bytecode once, so that flow runs start fast")
    targets = [str(p) for p in VENV.glob("lib/python3*/site-packages")]
    targets += [
        str(ROOT / name)
        for name in ("models", "services", "api", "tasks", "flows", "deployments", "migrations")
    ]
    # not check=True: a few packages ship files for other Python versions that never compile
    subprocess.run([str(PYTHON), "-m", "compileall", "-q", "-j", "0", *targets], stdout=subprocess.DEVNULL)


def ensure_chromium() -> None:
    """The portal's browser tests drive Debian's Chromium (a browser download cannot work here)."""
    if shutil.which("chromium") or os.environ.get("MENTORFLOW_SKIP_CHROMIUM"):
        return
    if not shutil.which("apt-get"):
        say("no chromium and no apt-get: browser tests will be skipped")
        return
    say("installing chromium from Debian's packages")
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run(*sudo, "apt-get", "update", "-qq", env=env)
    run(*sudo, "apt-get", "install", "-y", "-qq", "chromium", "poppler-utils", env=env)


def run_tests(arguments: list[str]) -> int:
    pytest = [str(PYTHON), "-m", "pytest"]
    if arguments:
        return subprocess.call([*pytest, *arguments])
    # Two workers; the engine tests share one Prefect server, so they stay on one worker.
    # Then the fault scenario at scale (tests/reliability, about three minutes), alone: it loads both
    # cores, and beside the engine tests both slowed each other down several times over.
    workers = os.environ.get("MENTORFLOW_TEST_WORKERS", "2")
    # --durations: the slowest tests, in every CI log, to keep the suite within its ten minutes
    suite = subprocess.call(
        [*pytest, "-n", workers, "--dist", "loadgroup", "-m", "not scaleout", "--durations", "25"]
    )
    if suite != 0:
        return suite
    return subprocess.call([*pytest, "-m", "scaleout", "tests/reliability"])


def ensure_postgres() -> Path | None:
    """The tests need a PostgreSQL: ``MENTORFLOW_TEST_PG``, else the one at 127.0.0.1:5432, else
    one of our own (deployments/local_postgres.py), whose data directory is returned."""
    if os.environ.get("MENTORFLOW_TEST_PG") or _answers("127.0.0.1", 5432):
        return None
    data = ROOT / ".mentorflow" / "test-postgres"
    say(f"no PostgreSQL at 127.0.0.1:5432: starting one of our own in {data.relative_to(ROOT)}")
    url = subprocess.run(
        [str(PYTHON), "-m", "deployments.local_postgres", "start", str(data)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    os.environ["MENTORFLOW_TEST_PG"] = url
    return data


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "up"
    os.chdir(ROOT)
    ensure_venv()
    if command == "up":
        os.execv(BIN / "mentorflow", [str(BIN / "mentorflow"), "up", *argv[2:]])
    if command == "test":
        ensure_chromium()
        own_postgres = ensure_postgres()
        try:
            return run_tests(argv[2:])
        finally:
            if own_postgres is not None:
                subprocess.call([str(PYTHON), "-m", "deployments.local_postgres", "stop", str(own_postgres)])
    sys.exit(f"unknown command {command!r}: use 'up' or 'test'")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
