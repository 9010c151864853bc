"""Per-route bounds on what one summary or chat request may ask for (``ingress.limits``).

Past a bound the answer is a 400 that names it and its value, before any LLM work."""

from __future__ import annotations

from typing import Any

from serve_app.config import LimitsConfig
from serve_app.errors import InvalidRequestError
from serve_app.llm.schemas import ChatRequest, TranscriptInput

OPENAI_CHAT_FIELDS = frozenset(
    {
        "model",
        "messages",
        "max_tokens",
        "max_completion_tokens",
        "temperature",
        "top_p",
        "n",
        "stop",
        "stream",
        "stream_options",
        "presence_penalty",
        "frequency_penalty",
        "seed",
        "user",
        "response_format",
        "logprobs",
        "top_logprobs",
        "ignore_eos",
    }
)
"""The ``/v1/chat/completions`` fields forwarded to vLLM (``ignore_eos``, a vLLM extension,
lets a benchmark generate exactly ``max_tokens`` tokens)."""


def check_transcript(req: TranscriptInput, limits: LimitsConfig) -> None:
    if len(req.transcript) > limits.max_transcript_segments:
        raise InvalidRequestError(
            f"transcript has {len(req.transcript)} segments; the limit is "
            f"{limits.max_transcript_segments} (ingress.limits.max_transcript_segments)"
        )


def check_chat(req: ChatRequest, limits: LimitsConfig) -> None:
    check_transcript(req, limits)
    _check_messages(len(req.messages), limits)
    _check_max_tokens(req.max_tokens, limits)


def check_openai_chat(body: dict[str, Any], limits: LimitsConfig) -> None:
    unknown = sorted(set(body) - OPENAI_CHAT_FIELDS)
    if unknown:
        raise InvalidRequestError(
            f"unsupported field(s) {', '.join(unknown)}; this server accepts "
            f"{', '.join(sorted(OPENAI_CHAT_FIELDS))}"
        )
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidRequestError("messages must be a non-empty list of {role, content}")
    _check_messages(len(messages), limits)
    for field in ("max_tokens", "max_completion_tokens"):
        value = body.get(field)
        if value is not None:
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InvalidRequestError(f"{field} must be a positive integer")
            _check_max_tokens(value, limits, field)
    if body.get("n") not in (None, 1):
        raise InvalidRequestError("n must be 1 on this server")


def _check_messages(count: int, limits: LimitsConfig) -> None:
    if count > limits.max_messages:
        raise InvalidRequestError(
            f"{count} messages; the limit is {limits.max_messages} (ingress.limits.max_messages)"
        )


def _check_max_tokens(value: int, limits: LimitsConfig, field: str = "max_tokens") -> None:
    if value > limits.max_tokens:
        raise InvalidRequestError(
            f"{field} {value} is above this server's cap of {limits.max_tokens} "
            "(ingress.limits.max_tokens)"
        )
