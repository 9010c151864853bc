"""OpenAI-compatible ``POST /v1/chat/completions``, forwarded to the served LLM.

Only the OpenAI fields listed in ``serve_app.http.limits.OPENAI_CHAT_FIELDS`` are accepted
(anything else is a 400 naming it), with the route limits on messages and ``max_tokens``;
vLLM validates the values in the LLM replica. ``model`` is resolved by the assistant: a
served name or a configured alias, else 400 listing them.

Message content is text only: a string, or a list of ``{"type": "text", "text": ...}``
parts. Any other part (``image_url``, ``audio_url``, ``input_audio``, ``video_url``,
``file``, ...) is a 400 before anything is forwarded, so no URL is ever fetched on a
caller's behalf.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse, Response

from serve_app.errors import InvalidRequestError
from serve_app.http.deps import AssistantDep, SettingsDep
from serve_app.http.errors import ERROR_RESPONSES
from serve_app.http.limits import check_openai_chat
from serve_app.http.llm_starting import LLMStartingDep
from serve_app.http.sse import event_stream

router = APIRouter(prefix="/v1", tags=["openai"])


@router.post("/chat/completions", responses=ERROR_RESPONSES)
async def chat_completions(
    assistant: AssistantDep,
    settings: SettingsDep,
    starting: LLMStartingDep,
    body: Annotated[dict[str, Any], Body()],
) -> Response:
    """A cold LLM scaled to zero: 503 ``starting`` with ``Retry-After`` after a short wait."""
    check_openai_chat(body, settings.limits)
    check_text_only(body["messages"])
    model = body.get("model") if isinstance(body.get("model"), str) else None
    if body.get("stream"):
        return await event_stream(starting.stream(model, assistant.openai_chat_stream(body)))
    return JSONResponse(await starting.call(model, assistant.openai_chat(body)))


def check_text_only(messages: list[Any]) -> None:
    """400 unless every message's content is a string or a list of text parts."""
    for i, message in enumerate(messages):
        content = message.get("content") if isinstance(message, dict) else None
        if content is None or isinstance(content, str):
            continue
        if not isinstance(content, list):
            raise InvalidRequestError(f"messages[{i}].content must be a string or a list of parts")
        for j, part in enumerate(content):
            kind = part.get("type") if isinstance(part, dict) else None
            if kind != "text" or set(part) != {"type", "text"} or not isinstance(part["text"], str):
                raise InvalidRequestError(
                    f"messages[{i}].content[{j}]: only text parts "
                    f'({{"type": "text", "text": "..."}}) are accepted, got {str(kind)[:40]!r}'
                )
