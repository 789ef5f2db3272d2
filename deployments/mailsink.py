"""A local SMTP sink for one machine: catches every mail and keeps it as an ``.eml`` file.

``mentorflow up`` starts it when no ``MENTORFLOW_SMTP_URL`` is set; ``mentorflow mail`` lists
what it caught.
"""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope


class SaveToFolder:
    """aiosmtpd handler: one file per accepted message, named by arrival time."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:  # noqa: N802
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        content = envelope.original_content or b""
        (self.folder / f"{stamp}.eml").write_bytes(content)
        return "250 Message accepted for delivery"


def start_sink(folder: Path, host: str = "127.0.0.1", port: int = 1025) -> Controller:
    controller = Controller(SaveToFolder(folder), hostname=host, port=port)
    controller.start()
    return controller


@dataclass(frozen=True)
class CaughtMail:
    path: Path
    to: str
    subject: str
    text: str


def caught_mail(folder: Path) -> list[CaughtMail]:
    found = []
    for path in sorted(folder.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if not isinstance(message, EmailMessage):  # the default policy always makes one
            continue
        body = message.get_body(preferencelist=("plain", "html"))
        found.append(
            CaughtMail(path, str(message["To"]), str(message["Subject"]), body.get_content() if body else "")
        )
    return found
