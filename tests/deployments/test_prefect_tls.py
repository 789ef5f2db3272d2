"""The one-certificate CA bundle for Prefect clients of a plain-HTTP API."""

from __future__ import annotations

import ssl
from pathlib import Path

from deployments.prefect_tls import SETTING, light_tls_settings


def test_a_plain_http_api_gets_a_bundle_of_one_certificate(tmp_path: Path) -> None:
    settings = light_tls_settings({"PREFECT_API_URL": "http://127.0.0.1:4200/api"}, tmp_path / "home")

    bundle = Path(settings[SETTING])
    assert bundle.parent == tmp_path / "home"
    assert bundle.read_text().count("BEGIN CERTIFICATE") == 1
    context = ssl.create_default_context(cafile=str(bundle))  # what Prefect's client does with it
    assert len(context.get_ca_certs()) == 1
    # a second process finds it there and gets the same answer
    assert light_tls_settings({"PREFECT_API_URL": "http://127.0.0.1:4200/api"}, tmp_path / "home") == settings


def test_https_and_a_deployers_own_bundle_are_left_alone(tmp_path: Path) -> None:
    assert light_tls_settings({"PREFECT_API_URL": "https://prefect.example.org/api"}, tmp_path) == {}
    own = {"PREFECT_API_URL": "http://10.0.0.5:4200/api", SETTING: "/etc/ssl/ours.pem"}
    assert light_tls_settings(own, tmp_path) == {}
    assert light_tls_settings({}, tmp_path) == {}  # no API URL: nothing to decide
    assert not list(tmp_path.iterdir())
