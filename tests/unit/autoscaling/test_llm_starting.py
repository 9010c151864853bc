"""The LLM scaled to zero: chat, OpenAI chat and summary submission answer 503 ``starting``
with ``Retry-After`` while its deployment has no running replica, instead of holding the
client for the cold start; a warm or never-scaling LLM answers as before.

The routes run as plain FastAPI over a fake assistant (named so: no LLM is started here) and
a replica count given to the guard; a real cold start is what the Serve drills measure."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from serve_app.asr.registry import ModelRegistry
from serve_app.autoscaling.cold_start import LLMColdStart, llm_deployment_name
from serve_app.config import IngressConfig
from serve_app.http.factory import create_http_app
from serve_app.llm.schemas import ChatMessage, ChatModel, ChatResponse, ContextInfo, Usage
from serve_app.llm.settings import LLMSettings
from tests.unit.http.test_routes import StoreOnlyBackend

CHAT = {
    "transcript": [{"start": 0, "end": 1, "text": "hi"}],
    "messages": [{"role": "user", "content": "?"}],
}
OPENAI = {"model": "smollm2-135m-instruct", "messages": [{"role": "user", "content": "hi"}]}
MODEL = "smollm2-135m-instruct"
SCALES_TO_ZERO = {"default_model": MODEL, "autoscaling": {"min_replicas": 0, "max_replicas": 1}}


class FakeColdAssistant:
    """A fake assistant whose answers take ``answer_s`` (the LLM loading behind it)."""

    def __init__(self, answer_s: float) -> None:
        self.answer_s = answer_s
        self.summaries = 0

    def list_models(self) -> list[ChatModel]:
        return []

    async def chat(self, req: Any) -> ChatResponse:
        await asyncio.sleep(self.answer_s)
        return ChatResponse(
            message=ChatMessage(role="assistant", content="yes"),
            model_used="smollm2-135m-instruct",
            usage=Usage(prompt=1, completion=1, total=2),
            context=ContextInfo(
                strategy="full",
                total_segments=1,
                used_segments=1,
                transcript_tokens=1,
                context_window=4096,
            ),
        )

    async def chat_stream(self, req: Any) -> AsyncIterator[dict[str, Any]]:
        await asyncio.sleep(self.answer_s)
        yield {"delta": "yes"}
        yield {"done": True}

    async def openai_chat(self, body: dict[str, Any]) -> dict[str, Any]:
        await asyncio.sleep(self.answer_s)
        return {"choices": [{"message": {"content": "yes"}}]}

    async def openai_chat_stream(self, body: dict[str, Any]) -> AsyncIterator[str]:
        await asyncio.sleep(self.answer_s)
        yield 'data: {"choices": []}\n\n'

    async def submit_summary(self, req: Any, owner: str | None) -> Any:
        from serve_app.jobs.model import Job, JobOptions

        self.summaries += 1
        return Job(job_id="s1", kind="summary", options=JobOptions(model_name=MODEL))


def make_client(tmp_path, guard: LLMColdStart | None, answer_s: float) -> TestClient:
    app = create_http_app(
        StoreOnlyBackend(),
        ModelRegistry(tmp_path),
        IngressConfig(),
        assistant=FakeColdAssistant(answer_s),  # type: ignore[arg-type]
    )
    app.state.llm_starting = guard
    return TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False)


def guard_for(settings: dict[str, Any], running: int, woken: list[str]) -> LLMColdStart:
    async def replicas(deployment: str) -> int:
        return running

    return LLMColdStart(
        LLMSettings(**settings),
        wait_s=0.05,
        retry_after_s=90,
        replicas=replicas,
        wake=woken.append,
    )


def assert_starting(response: Any) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["code"] == "starting"
    assert "LLM is starting" in response.json()["detail"]
    assert response.headers["Retry-After"] == "90"


def test_cold_llm_answers_starting_on_every_llm_route(tmp_path):
    woken: list[str] = []
    client = make_client(tmp_path, guard_for(SCALES_TO_ZERO, 0, woken), answer_s=5.0)
    assert_starting(client.post("/api/chat/", json=CHAT))
    assert_starting(client.post("/api/chat/", json={**CHAT, "stream": True}))
    assert_starting(client.post("/v1/chat/completions", json=OPENAI))
    assert_starting(client.post("/v1/chat/completions", json={**OPENAI, "stream": True}))
    assert_starting(client.post("/api/summary/", json={"full_text": "hello there"}))
    # The summary was not queued, but the model's deployment was asked to start.
    assert woken == ["TranscriptLLMServer:smollm2-135m-instruct"]


def test_warm_llm_is_awaited_even_when_slow(tmp_path):
    client = make_client(tmp_path, guard_for(SCALES_TO_ZERO, 1, []), answer_s=0.3)
    assert client.post("/api/chat/", json=CHAT).json()["message"]["content"] == "yes"
    assert "yes" in client.post("/api/chat/", json={**CHAT, "stream": True}).text
    r = client.post("/api/summary/", json={"full_text": "hello there"})
    assert r.status_code == 200 and r.json()["job_id"] == "s1"


def test_a_cold_start_within_the_wait_is_just_the_answer(tmp_path):
    client = make_client(tmp_path, guard_for(SCALES_TO_ZERO, 0, []), answer_s=0.0)
    assert client.post("/api/chat/", json=CHAT).json()["message"]["content"] == "yes"


@pytest.mark.parametrize(
    "settings", [{"default_model": MODEL}, {"default_model": MODEL, "autoscaling": {}}]
)
def test_an_llm_that_never_scales_to_zero_is_never_guarded(tmp_path, settings):
    guard = guard_for(settings, 0, [])
    assert not guard.enabled
    client = make_client(tmp_path, guard, answer_s=0.2)
    assert client.post("/api/chat/", json=CHAT).json()["message"]["content"] == "yes"


def test_unknown_model_is_left_to_the_assistant():
    guard = guard_for(SCALES_TO_ZERO, 0, [])
    assert guard.deployment("no-such-model") is None
    assert guard.deployment(None) == "TranscriptLLMServer:smollm2-135m-instruct"


def test_deployment_name_is_the_one_ray_serve_llm_gives():
    from ray.llm._internal.serve.core.server.builder import _get_deployment_name
    from ray.serve.llm import LLMConfig

    for model_id in ["qwen2.5-7b-instruct", "Qwen/Qwen2.5-7B-Instruct"]:
        config = LLMConfig(model_loading_config={"model_id": model_id})
        ours = llm_deployment_name("deployments.llm_server:TranscriptLLMServer", model_id)
        assert ours == f"TranscriptLLMServer:{_get_deployment_name(config)}"
    assert llm_deployment_name(None, "a.b") == "LLMServer:a_b"
