"""The ``mentorflow`` command: ``up``, ``migrate``, ``user add``, ``demo``."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from migrations import upgrade
from models import Role
from models.db import session_scope
from models.settings import get_settings
from services.errors import DomainError


def migrate(_args: argparse.Namespace) -> int:
    settings = get_settings()
    if settings.sqlalchemy_url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.sqlalchemy_url)
    return 0


def _safe_url(url: str) -> str:
    if "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://***@{rest.split('@', 1)[1]}"


def add_user(args: argparse.Namespace) -> int:
    from services.users import create_user

    try:
        with session_scope() as session:
            create_user(
                session,
                email=args.email,
                password=args.password,
                display_name=args.name,
                roles=[Role(r) for r in args.role],
                now=datetime.now(UTC),
            )
    except DomainError:
        return 1
    return 0


def demo(_args: argparse.Namespace) -> int:
    from deployments.demo import create_demo

    migrate(_args)
    with session_scope() as session:
        cast, mentorship_id = create_demo(session, now=datetime.now(UTC))
    for _person in cast:
        pass
    if mentorship_id is not None:
        pass
    return 0


def up(args: argparse.Namespace) -> int:
    from deployments.up import run

    return run(with_engine=not args.no_engine)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="mentorflow", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    p_up = commands.add_parser("up", help="migrate, start everything, print the URLs")
    p_up.add_argument(
        "--no-engine", action="store_true", help="API only: no Prefect server, runner or mail sink"
    )
    p_up.set_defaults(handler=up)
    commands.add_parser("migrate", help="bring the database to the newest schema").set_defaults(
        handler=migrate
    )
    commands.add_parser("demo", help="create demo users and a mentorship in progress").set_defaults(
        handler=demo
    )
    p_user = commands.add_parser("user", help="manage users")
    user_commands = p_user.add_subparsers(dest="user_command", required=True)
    p_add = user_commands.add_parser("add", help="create a user")
    p_add.add_argument("--email", required=True)
    p_add.add_argument("--password", required=True)
    p_add.add_argument("--name", required=True)
    p_add.add_argument(
        "--role",
        action="append",
        required=True,
        choices=[r.value for r in Role],
        help="repeat for several roles",
    )
    p_add.set_defaults(handler=add_user)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    handler = args.handler
    return int(handler(args))


if __name__ == "__main__":
    sys.exit(main())
