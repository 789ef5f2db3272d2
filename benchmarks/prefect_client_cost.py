"""What one Prefect client costs to make, with certifi's CA bundle and with a bundle of one.

    .venv/bin/python benchmarks/prefect_client_cost.py [--clients 200]

Prefect makes a client per task run on a task worker, per ``.delay()``, per resume and per
``run_deployment``; each builds a TLS context from ``PREFECT_API_SSL_CERT_FILE`` (certifi's
bundle by default), even for a plain-HTTP API. ``deployments/prefect_tls.py`` points plain-HTTP
set-ups at a one-certificate bundle. This measures the CPU time of making (and closing) a
client both ways, alternating, in one run. No server is needed: making a client connects to
nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from deployments.prefect_tls import SETTING, light_tls_settings


def cost_ms(clients: int) -> list[float]:
    from prefect import get_client
    from prefect.context import refresh_global_settings_context

    refresh_global_settings_context()
    times = []
    for _ in range(clients):
        began = time.process_time()
        with get_client(sync_client=True):
            pass
        times.append((time.process_time() - began) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    os.environ["PREFECT_API_URL"] = "http://127.0.0.1:4200/api"
    home = Path(tempfile.mkdtemp(prefix="prefect-client-cost-"))
    light = light_tls_settings(dict(os.environ), home)[SETTING]
    results: dict[str, list[float]] = {"certifi bundle (Prefect's default)": [], "one-certificate bundle": []}
    for _ in range(args.rounds):  # alternate, so both see the same machine
        os.environ.pop(SETTING, None)
        results["certifi bundle (Prefect's default)"] += cost_ms(args.clients)
        os.environ[SETTING] = light
        results["one-certificate bundle"] += cost_ms(args.clients)
    print(f"CPU ms per Prefect client, {args.rounds} x {args.clients} clients each way")  # noqa: T201
    for name, times in results.items():
        times.sort()
        p95 = times[int(0.95 * (len(times) - 1))]
        print(f"  {name:36} median {statistics.median(times):6.2f}  p95 {p95:6.2f}")  # noqa: T201


if __name__ == "__main__":
    main()
