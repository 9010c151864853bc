"""OpenAI-compatible ``POST /v1/chat/completions``, forwarded to the served LLM.

The body is passed through as a dict (vLLM validates it in the LLM replica); only
``model`` is resolved here: a served name or a configured alias, else 400 listing them.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse, Response

from serve_app.http.deps import AssistantDep
from serve_app.http.errors import ERROR_RESPONSES
from serve_app.http.sse import event_stream

router = APIRouter(prefix="/v1", tags=["openai"])


@router.post("/chat/completions", responses=ERROR_RESPONSES)
async def chat_completions(
    assistant: AssistantDep, body: Annotated[dict[str, Any], Body()]
) -> Response:
    if body.get("stream"):
        return await event_stream(assistant.openai_chat_stream(body))
    return JSONResponse(await assistant.openai_chat(body))
