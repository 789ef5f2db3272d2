"""The ``mentorflow`` command as an operator uses it: migrate, add users, demo data."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from models import Mentorship, Stage, User

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def mentorflow(data_dir: Path, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        "PATH": "/usr/bin:/bin",
        "MENTORFLOW_DATA_DIR": str(data_dir),
        "MENTORFLOW_ENV": "development",
        "MENTORFLOW_PASSWORD_HASHING": "cheap",
        "MENTORFLOW_ENGINE": "off",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "deployments.cli", *args],
        cwd=ROOT,
        env=environment,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def database(data_dir: Path) -> Session:
    return Session(create_engine(f"sqlite:///{data_dir / 'mentorflow.db'}"))


def test_migrate_creates_the_schema_with_the_topic_catalogue(data_dir: Path) -> None:
    done = mentorflow(data_dir, "migrate")
    assert done.returncode == 0, done.stderr
    assert "database migrated" in done.stdout
    with database(data_dir) as s:
        assert s.execute(text("SELECT count(*) FROM topic")).scalar_one() >= 12


def test_user_add_with_several_roles_and_a_clear_refusal_for_a_duplicate(data_dir: Path) -> None:
    mentorflow(data_dir, "migrate")
    added = mentorflow(
        data_dir,
        "user",
        "add",
        "--email",
        "Olga@Example.org",
        "--password",
        "a long secret",
        "--name",
        "Olga",
        "--role",
        "operator",
        "--role",
        "mentor",
    )
    assert added.returncode == 0, added.stderr
    assert "roles: operator, mentor" in added.stdout
    with database(data_dir) as s:
        olga = s.scalars(select(User).where(User.email == "olga@example.org")).one()
        assert olga.role_names == {"operator", "mentor"}
    again = mentorflow(
        data_dir,
        "user",
        "add",
        "--email",
        "olga@example.org",
        "--password",
        "x" * 10,
        "--name",
        "Olga",
        "--role",
        "mentee",
    )
    assert again.returncode == 1
    assert "already exists" in again.stderr


def test_demo_prints_passwords_and_leaves_a_mentorship_under_way(data_dir: Path) -> None:
    first = mentorflow(data_dir, "demo")
    assert first.returncode == 0, first.stderr
    assert "password for all: mentorflow-demo" in first.stdout
    assert "tara.mentee@example.org" in first.stdout
    second = mentorflow(data_dir, "demo")  # running it twice adds nothing
    assert second.returncode == 0, second.stderr
    with database(data_dir) as s:
        assert s.scalar(select(func.count()).select_from(User)) == 5
        [mentorship] = s.scalars(select(Mentorship)).unique().all()
        assert mentorship.stage == Stage.INTRO
        assert s.execute(text("SELECT status FROM agreement_version")).scalar_one() == "pending"
        assert s.execute(text("SELECT status FROM meeting")).scalar_one() == "held"
        # the German-speaking people: German set as their language (mails too), a German profile
        jonas = s.scalars(select(User).where(User.email == "jonas.mentee@example.org")).one()
        assert jonas.locale == "de"
        assert "Werkstatt" in jonas.profile.mentee_goals
        tara = s.scalars(select(User).where(User.email == "tara.mentee@example.org")).one()
        assert tara.locale == ""  # hers follows her browser at the first sign-in
    jonas_line = next(line for line in first.stdout.splitlines() if "jonas.mentee@example.org" in line)
    assert jonas_line.endswith("(German)")


def test_user_add_reads_the_password_from_standard_input_and_warns_about_one_in_the_arguments(
    data_dir: Path,
) -> None:
    from services.passwords import verify_password

    mentorflow(data_dir, "migrate")
    quiet = mentorflow(
        data_dir, "user", "add", "--email", "mia@example.org", "--name", "Mia", "--role", "mentee",
        stdin="from a pipe 123\n",
    )  # fmt: skip
    assert quiet.returncode == 0, quiet.stderr
    assert "warning" not in quiet.stderr
    loud = mentorflow(
        data_dir, "user", "add", "--email", "max@example.org", "--password", "on the line 123",
        "--name", "Max", "--role", "mentor",
    )  # fmt: skip
    assert loud.returncode == 0, loud.stderr
    assert "process list" in loud.stderr
    short = mentorflow(
        data_dir, "user", "add", "--email", "bo@example.org", "--name", "Bo", "--role", "mentee",
        stdin="a\n",
    )  # fmt: skip
    assert short.returncode == 1
    assert "at least 8 characters" in short.stderr
    with database(data_dir) as s:
        hashes = dict(s.execute(select(User.email, User.password_hash)).tuples().all())
    assert set(hashes) == {"mia@example.org", "max@example.org"}
    assert verify_password(hashes["mia@example.org"], "from a pipe 123")
    assert verify_password(hashes["max@example.org"], "on the line 123")


def test_demo_is_refused_in_production(data_dir: Path) -> None:
    refused = mentorflow(
        data_dir,
        "demo",
        MENTORFLOW_ENV="production",
        MENTORFLOW_SECRET_KEY="a-production-secret-of-forty-characters!",
        MENTORFLOW_PASSWORD_HASHING="standard",
    )
    assert refused.returncode == 1
    assert "refused when MENTORFLOW_ENV=production" in refused.stderr
    assert not (data_dir / "mentorflow.db").exists()
