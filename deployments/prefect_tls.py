"""A small CA bundle for Prefect clients that talk plain HTTP.

Prefect builds a TLS context for every client it creates, even for an ``http://`` API, from
certifi's whole bundle (about 150 certificates): 25-130 ms of CPU each time, measured on this
machine. It creates a client per task run (task workers), per ``.delay()``, per resume and per
``run_deployment``, so under a burst the API and the task workers spent a quarter to almost
half of their CPU loading certificates they never used (py-spy, the scale-out test; see
BENCHMARKS.md). A plain-HTTP API needs no CA at all, so for one we point
``PREFECT_API_SSL_CERT_FILE`` at a bundle of a single certificate (about 1 ms). An ``https://``
API, or a cert file set by the deployer, is left as it is.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

import certifi

SETTING = "PREFECT_API_SSL_CERT_FILE"
_FIRST_CERTIFICATE = re.compile(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n?", re.S)


def light_tls_settings(env: Mapping[str, str], home: Path) -> dict[str, str]:
    """``{PREFECT_API_SSL_CERT_FILE: …}`` for processes whose Prefect API is plain HTTP, else ``{}``.

    ``home`` is where the one-certificate bundle is written (Prefect's home directory).
    """
    if env.get(SETTING) or not env.get("PREFECT_API_URL", "").startswith("http://"):
        return {}
    bundle = home / "one-ca.pem"
    if not bundle.exists():
        match = _FIRST_CERTIFICATE.search(Path(certifi.where()).read_text(encoding="ascii"))
        if match is None:  # a certifi without certificates: leave Prefect's default
            return {}
        home.mkdir(parents=True, exist_ok=True)
        partial = bundle.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(match.group(0), encoding="ascii")
        partial.replace(bundle)
    return {SETTING: str(bundle)}
