"""Server-sent events of the streaming chat routes, byte for byte as clients read them
(the web UI splits on a blank line and reads ``data: `` lines). The assistant is a fake
(no LLM runs here); the streams of a real model are tested in ``tests/serve/test_llm.py``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi.testclient import TestClient

from serve_app.asr.registry import ModelRegistry
from serve_app.config import IngressConfig
from serve_app.errors import InvalidRequestError
from serve_app.http.factory import create_http_app
from serve_app.llm.schemas import ChatRequest
from tests.unit.http.test_routes import StoreOnlyBackend

EVENTS = [{"delta": "Hel"}, {"delta": "lo ✓"}, {"done": True, "usage": {"total": 3}}]
OPENAI = ['data: {"choices":[{"delta":{"content":"Hi"}}]}\n\n', "data: [DONE]\n\n"]


class FakeAssistant:
    """Streams fixed events; an empty transcript fails before the first event."""

    async def chat_stream(self, req: ChatRequest) -> AsyncIterator[dict[str, Any]]:
        if not req.transcript:
            raise InvalidRequestError("the transcript is empty")
        for event in EVENTS:
            yield event

    async def openai_chat_stream(self, body: dict[str, Any]) -> AsyncIterator[str]:
        if body["model"] != "m":
            raise InvalidRequestError(f"unknown model {body['model']}")
        for line in OPENAI:
            yield line


def _client(tmp_path) -> TestClient:
    app = create_http_app(
        StoreOnlyBackend(), ModelRegistry(tmp_path), IngressConfig(), assistant=FakeAssistant()
    )
    return TestClient(app, raise_server_exceptions=False)


def _chat(transcript: list[dict[str, Any]]) -> dict[str, Any]:
    messages = [{"role": "user", "content": "?"}]
    return {"transcript": transcript, "messages": messages, "stream": True}


def test_chat_events_are_data_lines_of_json(tmp_path):
    body = _chat([{"start": 0, "end": 1, "text": "hi"}])
    r = _client(tmp_path).post("/api/chat/", json=body)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    assert r.headers["cache-control"] == "no-cache" and r.headers["x-accel-buffering"] == "no"
    assert r.content == "".join(f"data: {json.dumps(e)}\n\n" for e in EVENTS).encode()


def test_openai_stream_lines_pass_through_unchanged(tmp_path):
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    r = _client(tmp_path).post("/v1/chat/completions", json=body)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    assert r.content == "".join(OPENAI).encode()


def test_an_error_before_the_first_event_is_an_error_envelope_not_a_stream(tmp_path):
    client = _client(tmp_path)
    r = client.post("/api/chat/", json=_chat([]))
    assert r.status_code == 400 and r.json()["detail"] == "the transcript is empty"
    body = {"model": "x", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    r = client.post("/v1/chat/completions", json=body)
    assert r.status_code == 400 and r.json()["detail"] == "unknown model x"


def test_a_quiet_model_gets_keepalive_comments_between_whole_frames(tmp_path, monkeypatch):
    import asyncio

    import serve_app.http.sse as sse

    async def slow(req: ChatRequest) -> AsyncIterator[dict[str, Any]]:
        for event in EVENTS:
            yield event
            await asyncio.sleep(0.3)

    monkeypatch.setattr(sse, "KEEPALIVE_S", 0.1)
    client = _client(tmp_path)
    monkeypatch.setattr(FakeAssistant, "chat_stream", lambda self, req: slow(req))
    r = client.post("/api/chat/", json=_chat([{"start": 0, "end": 1, "text": "hi"}]))
    frames = r.text.split("\n\n")
    assert any(f.startswith(": ping") for f in frames)
    data = [json.loads(f[6:]) for f in frames if f.startswith("data: ")]
    assert data == EVENTS
