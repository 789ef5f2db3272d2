"""The ``mentorflow`` command: ``up``, ``migrate``, ``user add``, ``demo``, ``mail``."""

from __future__ import annotations

import argparse
import getpass
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
    print(f"database migrated: {_safe_url(settings.sqlalchemy_url)}")
    return 0


def _safe_url(url: str) -> str:
    if "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://***@{rest.split('@', 1)[1]}"


def add_user(args: argparse.Namespace) -> int:
    from services.users import MIN_PASSWORD_LENGTH, create_user

    if args.password is not None:
        print(
            "warning: a password on the command line can be read from the process list and the"
            " shell's history; leave out --password to be asked for it",
            file=sys.stderr,
        )
    password = args.password if args.password is not None else _read_password()
    if password is None:
        print("error: the two passwords differ", file=sys.stderr)
        return 1
    if len(password) < MIN_PASSWORD_LENGTH:
        print(f"error: a password needs at least {MIN_PASSWORD_LENGTH} characters", file=sys.stderr)
        return 1
    try:
        with session_scope() as session:
            user = create_user(
                session,
                email=args.email,
                password=password,
                display_name=args.name,
                roles=[Role(r) for r in args.role],
                now=datetime.now(UTC),
            )
            print(f"created user {user.id} <{user.email}> roles: {', '.join(args.role)}")
    except DomainError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def _read_password() -> str | None:
    """Asked for twice on a terminal (not echoed); else the first line of standard input, for
    scripts: ``printf '%s\\n' "$PASSWORD" | mentorflow user add ...``. None if the two differ."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    return first if getpass.getpass("The same again: ") == first else None


def demo(_args: argparse.Namespace) -> int:
    from deployments.demo import DEMO_PASSWORD, create_demo

    if get_settings().env == "production":
        print(
            "error: the demo creates accounts whose password it prints; it is refused when"
            " MENTORFLOW_ENV=production",
            file=sys.stderr,
        )
        return 1
    migrate(_args)
    with session_scope() as session:
        cast, mentorship_id = create_demo(session, now=datetime.now(UTC))
    print(f"demo users (password for all: {DEMO_PASSWORD}):")
    for person in cast:
        speaks = " (German)" if person.locale == "de" else ""
        print(f"  {person.email:32} {person.name:14} {', '.join(r.value for r in person.roles)}{speaks}")
    if mentorship_id is not None:
        print(
            f"mentorship {mentorship_id}: Tara and Mira, intro meeting held, agreement v1 "
            "waiting for Mira's approval"
        )
    return 0


def up(args: argparse.Namespace) -> int:
    from deployments.up import run

    return run(with_engine=not args.no_engine)


def mail(args: argparse.Namespace) -> int:
    """Show the mail the local sink caught (newest last)."""
    from deployments.mailsink import caught_mail

    found = caught_mail(get_settings().data_dir / "mail")
    try:
        for item in found[-args.last :]:
            print(f"--- {item.path.name}  to: {item.to}\n    {item.subject}")
            if args.body:
                print("    " + item.text.strip().replace("\n", "\n    "))
        print(f"{len(found)} message(s) caught")
    except BrokenPipeError:  # `mentorflow mail | head`: the reader has seen enough
        sys.stderr.close()  # and Python's own note on the closed pipe would be noise
    return 0


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
    p_mail = commands.add_parser("mail", help="show mail caught by the local sink")
    p_mail.add_argument("--last", type=int, default=20, help="how many of the newest to show")
    p_mail.add_argument("--body", action="store_true", help="print the text of each mail")
    p_mail.set_defaults(handler=mail)
    p_user = commands.add_parser("user", help="manage users")
    user_commands = p_user.add_subparsers(dest="user_command", required=True)
    p_add = user_commands.add_parser("add", help="create a user")
    p_add.add_argument("--email", required=True)
    p_add.add_argument(
        "--password", help="better left out: then it is asked for (or read from standard input)"
    )
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
