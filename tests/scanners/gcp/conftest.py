"""GCP test isolation: no gcloud config, no credentials from the environment, a fast retry policy."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_gcp_env(monkeypatch, tmp_path_factory):
    # ADC would otherwise find a developer's `gcloud auth application-default login` file.
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path_factory.mktemp("gcloud")))
    for var in ("GOOGLE_APPLICATION_CREDENTIALS", "SKYWARDEN_GCP_ASSET_ENDPOINT", "GOOGLE_CLOUD_PROJECT"):
        monkeypatch.delenv(var, raising=False)
    # tests/conftest.py points the metadata server at a closed loopback port; never at 169.254.169.254.
    monkeypatch.setenv("GCE_METADATA_HOST", "127.0.0.1:9")
    monkeypatch.setenv("GCE_METADATA_IP", "127.0.0.1:9")
