"""Protections every response and request gets, whatever route serves it.

- **Security headers** on every answer (JSON, PDF, calendar files, HTML pages): no MIME
  sniffing, no framing, no referrer beyond our origin, and a Content-Security-Policy. The
  pages load nothing from elsewhere and run no script, so theirs allows only inline styles
  (the layout's) and forms posting back to us; everything else gets ``default-src 'none'``.
  ``/docs`` (Swagger UI, served from our origin by ``api/docs.py``) sets its own CSP, which
  lets its scripts run.
- **A size limit on request bodies**: a body larger than ``MAX_BODY_BYTES`` is refused with
  413 before it is read whole (a 100 MB profile was parsed into memory before).
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: No mentorflow input comes near this: an agreement with fifty topics and notes is ~250 kB.
MAX_BODY_BYTES = 1_000_000

HEADERS: list[tuple[bytes, bytes]] = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
PAGE_POLICY = (
    b"default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
    b"form-action 'self'; "
    b"frame-ancestors 'none'; base-uri 'none'"
)
OTHER_POLICY = b"default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
HSTS = b"max-age=31536000; includeSubDomains"


class SecurityMiddleware:
    """Adds the headers to every response and refuses bodies over the limit (pure ASGI, so
    streaming answers such as PDFs pass through untouched)."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await _too_large(send, self.max_body_bytes)
            return
        received = 0
        refused = False
        https = scope.get("scheme") == "https"

        async def limited_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes and not refused:
                    # a chunked body went past the limit: answer 413 now, and tell the app
                    # the client left, so it stops reading (what it answers is dropped)
                    refused = True
                    await _too_large(send, self.max_body_bytes)
                    return {"type": "http.disconnect"}
            return message

        async def send_with_headers(message: Message) -> None:
            if refused:
                return
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(n, v) for n, v in HEADERS if n not in present]
                if https:  # browsers remember to come back over HTTPS only (never sent over HTTP)
                    headers.append((b"strict-transport-security", HSTS))
                if b"content-security-policy" not in present:  # /docs brings its own
                    html = any(
                        n.lower() == b"content-type" and v.startswith(b"text/html") for n, v in headers
                    )
                    headers.append((b"content-security-policy", PAGE_POLICY if html else OTHER_POLICY))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except Exception:
            if not refused:
                raise


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _too_large(send: Send, limit: int) -> None:
    body = json.dumps(
        {
            "type": "about:blank",
            "title": "Content too large",
            "status": 413,
            "detail": f"The request body is larger than {limit // 1000} kB.",
        }
    ).encode()
    headers = [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())]
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": headers + HEADERS + [(b"content-security-policy", OTHER_POLICY)],
        }
    )
    await send({"type": "http.response.body", "body": body})
