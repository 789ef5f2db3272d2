"""The tree stays lint-clean, typed and layered (DESIGN.md rule 5), checked by the suite itself."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# the console script installed with import-linter (dev extra); `python -m importlinter.cli`
# runs nothing and exits 0, so the script is what the test must call
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


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
    """The contracts in pyproject.toml's [tool.importlinter] hold."""
    assert LINT_IMPORTS.exists(), f"{LINT_IMPORTS} is missing: install the dev extra (requirements.lock)"
    layers = run(str(LINT_IMPORTS), "--no-cache", "--no-logo")
    output = layers.stdout + layers.stderr
    assert layers.returncode == 0, output
    assert re.search(r"^Contracts: [1-9]\d* kept, 0 broken\.$", layers.stdout, re.MULTILINE), output


def test_no_document_refers_to_shared() -> None:
    """A clone has no ../shared beside it: the project's documents stand on their own."""
    listed = run("git", "ls-files", "-z", "*.md")
    assert listed.returncode == 0, listed.stderr
    documents = [name for name in listed.stdout.split("\0") if name]
    assert documents, "git ls-files found no *.md file"
    mentions = [
        f"{name}:{number}: {line.strip()}"
        for name in documents
        for number, line in enumerate((ROOT / name).read_text(encoding="utf-8").splitlines(), 1)
        if "../shared" in line
    ]
    assert not mentions, "\n".join(mentions)
