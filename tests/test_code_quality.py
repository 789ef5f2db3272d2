"""The tree stays lint-clean, typed and layered (DESIGN.md rule 5), checked by the suite itself."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ROOT.parent / "shared" / "tools" / "check_layers.py"


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_finds_nothing() -> None:
    lint = run(sys.executable, "-m", "ruff", "check", ".")
    assert lint.returncode == 0, lint.stdout + lint.stderr
    formatting = run(sys.executable, "-m", "ruff", "format", "--check", ".")
    assert formatting.returncode == 0, formatting.stdout + formatting.stderr


def test_mypy_strict_finds_nothing() -> None:
    typed = run(sys.executable, "-m", "mypy", ".")
    assert typed.returncode == 0, typed.stdout + typed.stderr


def test_no_import_breaks_the_layering() -> None:
    if not LAYERS.exists():
        pytest.skip("../shared/tools/check_layers.py is not beside this checkout")
    layers = run(sys.executable, str(LAYERS), str(ROOT))
    assert layers.returncode == 0, layers.stdout
