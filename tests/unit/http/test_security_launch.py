"""Starting exposed (issue 28, requirement 1): serving on a non-loopback address, or answering
non-loopback names, needs API keys; the message says how to add them. The CLI finds the
local admin key of a ``make run`` on this machine by itself."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from pydantic import ValidationError

from serve_app.asr.registry import ModelRegistry
from serve_app.config import AuthConfig, IngressConfig
from serve_app.http.factory import create_http_app
from serve_app.launch import ExposureError, check_exposure, is_loopback
from tests.unit.http.test_routes import StoreOnlyBackend


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"])
def test_loopback_addresses(host):
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.5", "example.com", ""])
def test_other_addresses(host):
    assert not is_loopback(host)


def test_exposed_without_keys_refuses_to_start_and_says_how(monkeypatch):
    monkeypatch.delenv("NO_KEYS_HERE", raising=False)
    check_exposure("127.0.0.1", IngressConfig())  # make run: fine
    for host in ("0.0.0.0", "10.0.0.5", "::"):
        with pytest.raises(ExposureError) as refused:
            check_exposure(host, IngressConfig())
        message = str(refused.value)
        for words in ("ingress.auth", "enabled: true", "TRANSCRIBE_API_KEYS", "keys_file"):
            assert words in message, words
    no_keys = IngressConfig(
        cors_origins=["https://a.example"], auth=AuthConfig(enabled=True, keys_env="NO_KEYS_HERE")
    )
    with pytest.raises(ExposureError, match="NO_KEYS_HERE"):
        check_exposure("0.0.0.0", no_keys)
    monkeypatch.setenv("NO_KEYS_HERE", "alice=sk-alice")
    check_exposure("0.0.0.0", no_keys)


def test_deploy_checks_before_starting_anything(tmp_path, monkeypatch):
    from serve_app import launch

    started: list[object] = []
    monkeypatch.setattr("ray.serve.start", lambda **kw: started.append(kw))
    config = tmp_path / "serve.yaml"
    app = {"import_path": "serve_app.app:build_app", "args": {"config": "configs/local-cpu.yaml"}}
    config.write_text(yaml.safe_dump({"http_options": {"host": "0.0.0.0"}, "applications": [app]}))
    with pytest.raises(ExposureError):
        launch.deploy(config)
    assert started == []


def test_non_loopback_names_need_keys():
    with pytest.raises(ValidationError, match="allowed_hosts"):
        IngressConfig(allowed_hosts=["transcribe.example.com"])
    with pytest.raises(ValidationError, match="allowed_hosts"):
        IngressConfig(allowed_hosts=["*"])
    IngressConfig(allowed_hosts=["localhost:8000", "127.0.0.1"])


def test_anonymous_mode_refuses_a_listener_that_is_not_loopback(tmp_path):
    """``serve deploy`` with auth off behind a proxy bound to 0.0.0.0: the Host header is the
    caller's to choose, so anonymous access stops at the listener's address."""
    settings = IngressConfig(auth=AuthConfig(local_key_file=str(tmp_path / "key")))
    app = create_http_app(StoreOnlyBackend(), ModelRegistry(tmp_path), settings)
    exposed = TestClient(app, base_url="http://10.0.0.5:8000", raise_server_exceptions=False)
    r = exposed.get("/api/transcribe/jobs", headers={"Host": "localhost:8000"})
    assert r.status_code == 503 and "ingress.auth" in r.json()["detail"]
    assert exposed.get("/health", headers={"Host": "localhost:8000"}).status_code == 200


def test_cli_sends_the_local_key_to_a_loopback_server(tmp_path, monkeypatch):
    from serve_app.client.api import local_key

    key_file = tmp_path / "local-key"
    monkeypatch.setenv("TRANSCRIBE_LOCAL_KEY_FILE", str(key_file))
    assert local_key("http://127.0.0.1:8000") is None  # no make run here yet
    key_file.write_text("local-abc\n")
    assert local_key("http://127.0.0.1:8000") == "local-abc"
    assert local_key("http://localhost:8000/") == "local-abc"
    assert local_key("https://transcribe.example.com") is None  # never sent elsewhere


def test_the_local_key_file_is_private(tmp_path):
    from serve_app.http.auth import load_local_key

    path = tmp_path / "var" / "local-key"
    key = load_local_key(path)
    assert len(key) > 40 and path.stat().st_mode & 0o777 == 0o600
    assert load_local_key(Path(path)) == key  # made once, then read
