"""Server-sent events for the streaming chat routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi.responses import StreamingResponse

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
