"""Bounded HTTP inputs (issue 28, "Security" 5 and requirement 2): the JSON size limit with
any Content-Type or none, and text-only content on ``/v1/chat/completions`` (no URL is ever
fetched)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from serve_app.asr.registry import ModelRegistry
from serve_app.config import AuthConfig, IngressConfig, LimitsConfig
from serve_app.http.factory import create_http_app
from tests.unit.http.test_routes import StoreOnlyBackend


def settings(tmp_path: Path, **values) -> IngressConfig:
    return IngressConfig(auth=AuthConfig(local_key_file=str(tmp_path / "local-key")), **values)


def browser(app) -> TestClient:
    return TestClient(app, base_url="http://127.0.0.1:8000", raise_server_exceptions=False)


@pytest.fixture
def backend():
    return StoreOnlyBackend()


# ---- finding 5: the JSON size limit with any Content-Type -----------------------------------


@pytest.mark.parametrize(
    "content_type", ["APPLICATION/JSON", "Application/Json; charset=utf-8", "text/plain", None]
)
def test_json_limit_holds_with_any_content_type(backend, tmp_path, content_type):
    config = settings(tmp_path, limits=LimitsConfig(max_json_mb=0.01))
    client = browser(create_http_app(backend, ModelRegistry(tmp_path), config))
    body = b'{"transcript": [' + b'{"start": 0, "end": 1, "text": "hi"},' * 2000 + b"]}"
    headers = {} if content_type is None else {"Content-Type": content_type}
    r = client.post("/api/summary/", content=body, headers=headers)
    assert r.status_code == 413, r.text

    def chunks():  # no Content-Length: refused while streaming, never read whole
        yield from (body[i : i + 4096] for i in range(0, len(body), 4096))

    r = client.post("/api/summary/", content=chunks(), headers=headers)
    assert r.status_code == 413, r.text


# ---- requirement 2: /v1/chat/completions takes text only, never a URL -----------------------


class RecordingAssistant:
    """Records what reaches the LLM (a fake: no model runs here)."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []

    async def openai_chat(self, body):
        self.bodies.append(body)
        return {"choices": [{"message": {"role": "assistant", "content": "ok"}}]}


@pytest.mark.parametrize(
    "part",
    [
        {"type": "image_url", "image_url": {"url": "http://127.0.0.1:9/x.png"}},
        {"type": "audio_url", "audio_url": {"url": "file:///etc/passwd"}},
        {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}},
        {"type": "video_url", "video_url": {"url": "http://example.com/v.mp4"}},
        {"type": "file", "file": {"file_id": "f"}},
        {"type": "text"},
        {"type": "text", "text": "hi", "image_url": {"url": "http://x/y.png"}},
        "not a part",
    ],
)
def test_chat_completions_refuses_parts_that_are_not_text(tmp_path, part):
    assistant = RecordingAssistant()
    app = create_http_app(
        StoreOnlyBackend(), ModelRegistry(tmp_path), settings(tmp_path), assistant=assistant
    )
    client = browser(app)
    body = {"model": "m", "messages": [{"role": "user", "content": [part]}]}
    r = client.post("/v1/chat/completions", json=body)
    assert r.status_code == 400, r.text
    assert assistant.bodies == []  # refused before anything is forwarded
    text = {"type": "text", "text": "hello"}
    body = {"model": "m", "messages": [{"role": "user", "content": [text]}]}
    assert client.post("/v1/chat/completions", json=body).status_code == 200
    assert len(assistant.bodies) == 1
