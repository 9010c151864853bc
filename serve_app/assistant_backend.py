"""What the summary/chat routes need from the rest of the system.

``deployments/assistant.py:ServeAssistantBackend`` implements it over the assistant
deployment's handle; the routes depend only on this Protocol.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol

from serve_app.jobs import Job
from serve_app.llm_schemas import (
    ChatModel,
    ChatRequest,
    ChatResponse,
    SummaryJobStatus,
    SummaryRequest,
    SummaryResult,
)


class AssistantBackend(Protocol):
    def list_models(self) -> list[ChatModel]:
        """Served LLMs (config only, no call)."""
        ...

    async def chat(self, req: ChatRequest) -> ChatResponse:
        """Raises ``InvalidRequestError`` (unknown model, empty transcript) and
        ``LLMUnavailableError``."""
        ...

    def chat_stream(self, req: ChatRequest) -> AsyncIterator[dict[str, Any]]:
        """``{"delta"}`` events then one ``{"done": true, "usage", ...}``."""
        ...

    async def openai_chat(self, body: dict[str, Any]) -> dict[str, Any]: ...

    def openai_chat_stream(self, body: dict[str, Any]) -> AsyncIterator[str]:
        """Server-sent event strings (``data: {...}\\n\\n``), ``data: [DONE]`` last."""
        ...

    async def submit_summary(self, req: SummaryRequest) -> Job: ...

    async def summary_status(self, job_id: str) -> SummaryJobStatus: ...

    async def summary_result(self, job_id: str) -> SummaryResult: ...
