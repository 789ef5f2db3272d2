"""``mentorflow up``: migrate, start the parts, print where they are, stop them on Ctrl-C."""

from __future__ import annotations

import uvicorn

from migrations import upgrade
from models.settings import get_settings


def run(*, with_engine: bool = True) -> int:
    settings = get_settings()
    if settings.sqlalchemy_url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.sqlalchemy_url)
    uvicorn.run("api.main:app", host=settings.host, port=settings.port, log_level="info")
    return 0
