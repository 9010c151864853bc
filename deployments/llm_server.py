"""The LLM replica: Ray Serve's ``LLMServer`` (vLLM) plus plain-Python methods, and the
``LLMConfig`` that deploys it (:func:`to_llm_config`).

Importing this module imports ``ray.serve.llm`` and so vllm: only ``build_llm_graph`` (when
the LLM is enabled) and the LLM replica itself (``LLMConfig.server_cls =
"deployments.llm_server:TranscriptLLMServer"``) do. Every added method takes and returns
plain dicts and strings, so callers (the summary/chat deployment, forwarding
``/v1/chat/completions``) never import vllm or build vLLM request objects themselves.

Handle protocol (what callers may use): ``chat_text``, ``chat_text_stream``,
``count_tokens``, ``openai_chat``, ``openai_chat_stream``.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import AsyncIterator
from typing import Any

from ray.serve.llm import LLMConfig, LLMServer
from ray.serve.llm.openai_api_models import ChatCompletionRequest

from serve_app.errors import InvalidRequestError, LLMUnavailableError
from serve_app.llm.settings import LLMSettings


def _error_message(item: Any) -> str:
    err = getattr(item, "error", None)
    return str(getattr(err, "message", None) or item)


def _raise_engine_error(item: Any) -> None:
    message = _error_message(item)
    code = getattr(getattr(item, "error", None), "code", 500)
    if isinstance(code, int) and 400 <= code < 500:
        raise InvalidRequestError(f"LLM rejected the request: {message}")
    raise LLMUnavailableError(f"LLM error: {message}")


def _sse_payloads(batch: Any) -> list[str]:
    """JSON payloads of one batch of ``data: ...`` strings from ``LLMServer.chat``."""
    out = []
    for sse in batch if isinstance(batch, list) else [batch]:
        if not isinstance(sse, str):
            _raise_engine_error(sse)
        for line in sse.splitlines():
            payload = line.removeprefix("data: ").strip()
            if payload and payload != "[DONE]":
                out.append(payload)
    return out


class TranscriptLLMServer(LLMServer):
    """``LLMServer`` with plain-dict chat methods (usage counts straight from vLLM)."""

    def _request(self, body: dict[str, Any]) -> Any:
        body = {**body, "model": self._llm_config.model_id}
        if body.get("stream"):
            # Usage in the last chunk: the token counts callers report are the engine's.
            body["stream_options"] = {"include_usage": True, "continuous_usage_stats": False}
        try:
            return ChatCompletionRequest(**body)
        except ValueError as exc:
            raise InvalidRequestError(f"invalid chat request: {exc}") from exc

    async def chat_text(self, messages: list[dict[str, Any]], **params: Any) -> dict[str, Any]:
        """One completion: ``{"text", "finish_reason", "usage": {prompt_tokens, ...}}``."""
        req = self._request({"messages": messages, "stream": False, **params})
        stream: Any = await self.chat(req)
        async for item in stream:
            if not hasattr(item, "choices"):
                _raise_engine_error(item)
            choice = item.choices[0]
            usage = item.usage.model_dump() if item.usage else {}
            return {
                "text": choice.message.content or "",
                "finish_reason": choice.finish_reason,
                "usage": usage,
            }
        raise LLMUnavailableError("LLM returned nothing")

    async def chat_text_stream(
        self, messages: list[dict[str, Any]], **params: Any
    ) -> AsyncIterator[dict[str, Any]]:
        """Yields ``{"delta": str}`` per token batch, then ``{"usage", "finish_reason"}``."""
        req = self._request({"messages": messages, "stream": True, **params})
        finish_reason = None
        usage: dict[str, Any] = {}
        batches: Any = await self.chat(req)
        async for batch in batches:
            for payload in _sse_payloads(batch):
                chunk = json.loads(payload)
                if chunk.get("usage"):
                    usage = chunk["usage"]
                for choice in chunk.get("choices") or []:
                    finish_reason = choice.get("finish_reason") or finish_reason
                    delta = (choice.get("delta") or {}).get("content")
                    if delta:
                        yield {"delta": delta}
        yield {"usage": usage, "finish_reason": finish_reason}

    async def _get_tokenizer(self) -> Any:
        tokenizer = getattr(self, "_transcript_tokenizer", None)
        if tokenizer is None:
            # The engine's own tokenizer (vLLM's /tokenize task is not enabled for
            # generation models), else the same files loaded by transformers.
            client = getattr(self.engine, "_engine_client", None)
            getter = getattr(client, "get_tokenizer", None)
            if getter is not None:
                tokenizer = getter()
                if inspect.isawaitable(tokenizer):
                    tokenizer = await tokenizer
            if tokenizer is None:
                from transformers import AutoTokenizer

                loading: Any = self._llm_config.model_loading_config
                source = loading.model_source
                tokenizer = AutoTokenizer.from_pretrained(source)
            self._transcript_tokenizer = tokenizer
        return tokenizer

    async def count_tokens(self, texts: list[str]) -> list[int]:
        """Token counts of plain texts with the served model's own tokenizer."""
        tokenizer = await self._get_tokenizer()
        return [len(tokenizer.encode(text, add_special_tokens=False)) for text in texts]

    async def openai_chat(self, body: dict[str, Any]) -> dict[str, Any]:
        """``/v1/chat/completions`` without streaming: the OpenAI response as a dict."""
        req = self._request({**body, "stream": False})
        stream: Any = await self.chat(req)
        async for item in stream:
            if not hasattr(item, "choices"):
                _raise_engine_error(item)
            result: dict[str, Any] = item.model_dump(mode="json", exclude_none=True)
            return result
        raise LLMUnavailableError("LLM returned nothing")

    async def openai_chat_stream(self, body: dict[str, Any]) -> AsyncIterator[str]:
        """``/v1/chat/completions`` with ``stream: true``: SSE lines, ``[DONE]`` last."""
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        req = self._request({**body, "stream": True})
        batches: Any = await self.chat(req)
        async for batch in batches:
            for payload in _sse_payloads(batch):
                if not include_usage and '"choices":[]' in payload.replace(" ", ""):
                    continue  # the usage-only chunk the client did not ask for
                yield f"data: {payload}\n\n"
        yield "data: [DONE]\n\n"


def to_llm_config(settings: LLMSettings, model_name: str | None = None) -> LLMConfig:
    """Build the ``ray.serve.llm.LLMConfig`` for one model (default: the default model).

    Raises :class:`LLMModelNotAvailable` when the model has no usable source, before any
    replica starts.
    """
    model = settings.get_model(model_name)
    kwargs: dict[str, Any] = {
        "model_loading_config": {"model_id": model.name, "model_source": model.model_source()},
        "engine_kwargs": settings.engine_kwargs_for(model),
        "deployment_config": settings.deployment_config(),
        "runtime_env": {"env_vars": settings.engine_env_vars(model)},
        "log_engine_metrics": settings.log_engine_metrics,
    }
    if settings.server_cls:
        kwargs["server_cls"] = settings.server_cls
    if settings.stream_batching_interval_ms is not None:
        kwargs["experimental_configs"] = {
            "stream_batching_interval_ms": settings.stream_batching_interval_ms
        }
    if settings.device == "cpu":
        # A CPU-only bundle makes Ray pick its CPU backend (no GPU request, "mp" executor).
        kwargs["accelerator_config"] = {"kind": "cpu"}
        kwargs["placement_group_config"] = {
            "bundles": [{"CPU": settings.num_cpus}],
            "strategy": "STRICT_PACK",
        }
    else:
        kwargs["accelerator_config"] = {"kind": "gpu"}
        if settings.num_gpus != 1.0:
            kwargs["placement_group_config"] = {
                "bundles": [{"GPU": settings.num_gpus, "CPU": 1}] * settings.tensor_parallel_size,
                "strategy": "STRICT_PACK" if settings.tensor_parallel_size == 1 else "PACK",
            }
        if settings.accelerator_type:
            kwargs["accelerator_type"] = settings.accelerator_type
    return LLMConfig(**kwargs)
