"""Files the API and the portal hand out: named for saving, and kept out of shared caches."""

from __future__ import annotations

from datetime import datetime

from fastapi.responses import Response

CSV = "text/csv; charset=utf-8"


def csv_download(body: str, name: str, now: datetime) -> Response:
    """``{name}-{date}.csv``, saved rather than shown; it holds people's names: ``no-store``."""
    return Response(
        body.encode(),
        media_type=CSV,
        headers={
            "Content-Disposition": f'attachment; filename="{name}-{now:%Y-%m-%d}.csv"',
            "Cache-Control": "no-store",
        },
    )
