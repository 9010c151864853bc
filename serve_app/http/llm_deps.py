"""The assistant backend (summary/chat) from ``app.state``; 503 when no LLM is deployed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends
from fastapi.responses import StreamingResponse
from starlette.requests import HTTPConnection

from serve_app.assistant_backend import AssistantBackend
from serve_app.errors import LLMUnavailableError


def get_assistant(conn: HTTPConnection) -> AssistantBackend:
    assistant: AssistantBackend | None = getattr(conn.app.state, "assistant", None)
    if assistant is None:
        raise LLMUnavailableError("The LLM is not enabled on this server (llm.enabled: false)")
    return assistant


AssistantDep = Annotated[AssistantBackend, Depends(get_assistant)]

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


async def event_stream(stream: AsyncIterator[Any]) -> StreamingResponse:
    """A server-sent-event response whose first item is awaited *before* answering, so that
    validation errors (unknown model, empty transcript) still get the error envelope."""
    iterator = aiter(stream)
    try:
        first = await anext(iterator)
    except StopAsyncIteration:
        first = None

    async def body() -> AsyncIterator[str]:
        if first is not None:
            yield first
        async for item in iterator:
            yield item

    return StreamingResponse(body(), media_type="text/event-stream", headers=SSE_HEADERS)
