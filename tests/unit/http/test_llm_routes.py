"""The summary/chat routes as plain FastAPI: 503 without an LLM, validation, the envelope.

Answers from a real model are tested in ``tests/serve/test_llm.py``.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from serve_app.asr.registry import ModelRegistry
from serve_app.config import IngressConfig
from serve_app.http.factory import create_http_app
from tests.unit.http.test_routes import StoreOnlyBackend

CHAT = {"transcript": [{"start": 0, "end": 1, "text": "hi"}], "messages": []}


def make_client(tmp_path, assistant=None) -> TestClient:
    app = create_http_app(
        StoreOnlyBackend(), ModelRegistry(tmp_path), IngressConfig(), assistant=assistant
    )
    return TestClient(app, raise_server_exceptions=False)


def test_without_an_llm_every_route_is_503_in_the_envelope(tmp_path):
    client = make_client(tmp_path)
    for method, path, body in [
        ("GET", "/api/chat/models", None),
        ("POST", "/api/summary/", {"transcript": []}),
        ("GET", "/api/summary/status/x", None),
        ("POST", "/api/chat/", {**CHAT, "messages": [{"role": "user", "content": "?"}]}),
        ("POST", "/v1/chat/completions", {"model": "m", "messages": []}),
    ]:
        r = client.request(method, path, json=body)
        assert r.status_code == 503, (path, r.text)
        assert r.json()["code"] == "llm_unavailable" and "llm.enabled" in r.json()["detail"]
    ids = [m["id"] for m in client.get("/v1/models").json()["data"]]
    assert ids[0] == "whisper-1"  # ASR models are still listed


def test_request_validation_happens_before_the_llm(tmp_path):
    client = make_client(tmp_path, assistant=object())  # never called: 422 comes first
    r = client.post("/api/chat/", json=CHAT)  # no messages
    assert r.status_code == 422 and "messages" in r.json()["detail"]
    r = client.post("/api/summary/", json={"transcript": [], "format": "haiku"})
    assert r.status_code == 422 and "format" in r.json()["detail"]
    r = client.post("/api/summary/", json={"transcript": [], "max_length": 1})
    assert r.status_code == 422 and "max_length" in r.json()["detail"]
