"""Server-sent events for the streaming chat routes (sse-starlette's ``EventSourceResponse``:
framing, keep-alive comments, closing the stream when the client goes away).

Events are ``data: <json>`` frames ending in a blank line (``\\n`` separators: the web UI
splits on ``\\n\\n``). ``/v1/chat/completions`` streams frames the LLM server has already
framed the OpenAI way; they pass through unchanged."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from sse_starlette import EventSourceResponse, ServerSentEvent

SSE_HEADERS = {"Cache-Control": "no-cache"}
KEEPALIVE_S = 15
"""A ``: ping`` comment this often while the model is quiet, so proxies keep the stream."""


def _frame(item: str | dict[str, Any]) -> bytes | ServerSentEvent:
    if isinstance(item, dict):
        return ServerSentEvent(data=json.dumps(item), sep="\n")
    return item.encode()  # framed already (the OpenAI stream from the LLM server)


async def event_stream(stream: AsyncIterator[Any]) -> EventSourceResponse:
    """A server-sent-event response of ``stream``'s events (dicts, sent as JSON) or ready
    frames (strings). Its first item is awaited *before* answering, so that validation
    errors (unknown model, empty transcript) still get the error envelope."""
    iterator = aiter(stream)
    try:
        first = await anext(iterator)
    except StopAsyncIteration:
        first = None

    async def body() -> AsyncIterator[bytes | ServerSentEvent]:
        if first is not None:
            yield _frame(first)
        async for item in iterator:
            yield _frame(item)

    return EventSourceResponse(body(), headers=SSE_HEADERS, sep="\n", ping=KEEPALIVE_S)
