"""OpenAI-compatible ``POST /v1/chat/completions``, forwarded to the served LLM.

Only the OpenAI fields listed in ``serve_app.http.limits.OPENAI_CHAT_FIELDS`` are accepted
(anything else is a 400 naming it), with the route limits on messages and ``max_tokens``;
vLLM validates the values in the LLM replica. ``model`` is resolved by the assistant: a
served name or a configured alias, else 400 listing them.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse, Response

from serve_app.http.deps import AssistantDep, SettingsDep
from serve_app.http.errors import ERROR_RESPONSES
from serve_app.http.limits import check_openai_chat
from serve_app.http.sse import event_stream

router = APIRouter(prefix="/v1", tags=["openai"])


@router.post("/chat/completions", responses=ERROR_RESPONSES)
async def chat_completions(
    assistant: AssistantDep, settings: SettingsDep, body: Annotated[dict[str, Any], Body()]
) -> Response:
    check_openai_chat(body, settings.limits)
    if body.get("stream"):
        return await event_stream(assistant.openai_chat_stream(body))
    return JSONResponse(await assistant.openai_chat(body))
