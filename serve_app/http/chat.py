"""``/api/chat``: questions about a transcript, answered by the local LLM."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from serve_app.http.deps import AssistantDep, SettingsDep
from serve_app.http.errors import ERROR_RESPONSES
from serve_app.http.limits import check_chat
from serve_app.http.llm_starting import LLMStartingDep
from serve_app.http.sse import event_stream
from serve_app.llm.schemas import ChatModelList, ChatRequest, ChatResponse

router = APIRouter(prefix="/api/chat", tags=["chat"])


@router.get("/models", response_model=ChatModelList)
async def chat_models(assistant: AssistantDep) -> ChatModelList:
    return ChatModelList(models=assistant.list_models())


@router.post(
    "/",
    response_model=ChatResponse,
    responses={
        **ERROR_RESPONSES,
        200: {"content": {"text/event-stream": {}}, "description": "JSON, or SSE with stream"},
    },
)
async def chat(
    req: ChatRequest, assistant: AssistantDep, settings: SettingsDep, starting: LLMStartingDep
) -> ChatResponse | Response:
    """One answer; with ``stream: true`` server-sent events ``{"delta": "..."}`` and a
    last ``{"done": true, "usage": {...}, "model_used", "context"}``. An LLM scaled to zero
    that is still cold after a short wait: 503 ``starting`` with ``Retry-After``."""
    check_chat(req, settings.limits)
    if req.stream:
        return await event_stream(starting.stream(req.model_name, assistant.chat_stream(req)))
    return await starting.call(req.model_name, assistant.chat(req))
