"""What the HTTP layer needs from the rest of the system: one Protocol for transcription,
one for summary and chat.

The Serve ingress implements both over deployment and actor handles
(``deployments/ingress.py``); tests implement them in-process. Routers depend only on
these Protocols, so they are plain FastAPI and testable without Ray.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any, BinaryIO, Protocol

from serve_app.jobs.edits import TranscriptEdit
from serve_app.jobs.events import EventBatch
from serve_app.jobs.model import Job, JobOptions, JobPage
from serve_app.llm.schemas import (
    ChatModel,
    ChatRequest,
    ChatResponse,
    SummaryJobStatus,
    SummaryRequest,
    SummaryResult,
)
from serve_app.transcript.segments import Segment
from serve_app.transcript.spans import SpanTranscript


class TranscriptionBackend(Protocol):
    async def submit(
        self,
        job_id: str,
        upload: BinaryIO,
        options: JobOptions,
        idempotency_key: str | None = None,
        owner: str | None = None,
    ) -> Job:
        """Keep the upload, validate it and start a job owned by ``owner``; raises
        ``AppError`` subclasses. With an ``idempotency_key`` this owner already used, the
        job it created."""
        ...

    async def get_job(self, job_id: str) -> Job | None: ...

    async def get_segments(self, job_id: str) -> list[Segment] | None: ...

    async def list_jobs(self, owner: str | None, offset: int, limit: int) -> JobPage:
        """Transcription jobs of ``owner`` (``None``: everyone's), newest first."""
        ...

    async def retranscribe_clip(
        self, data: bytes, model_name: str | None, language: str | None
    ) -> SpanTranscript:
        """Transcribe an uploaded clip with ``model_name`` (the configured default if None)."""
        ...

    async def retranscribe_span(
        self,
        job_id: str,
        start: float,
        end: float,
        model_name: str | None,
        language: str | None,
        apply: bool,
        version: int | None = None,
    ) -> SpanTranscript:
        """Re-run a span of a job's kept audio; ``apply`` writes it into the job's completed
        result if that is still at ``version`` (None: any), else ``VersionConflictError``."""
        ...

    async def edit_segment(
        self, job_id: str, version: int, segment_id: str, text: str | None, speaker: str | None
    ) -> TranscriptEdit:
        """Edit a completed transcript made at ``version`` (``JobStore.edit_segment``)."""
        ...

    async def rename_speakers(
        self, job_id: str, version: int, names: Mapping[str, str]
    ) -> TranscriptEdit: ...

    async def open_audio(self, job_id: str) -> BinaryIO | None:
        """The job's kept audio (close it), ``None`` once it has expired."""
        ...

    async def wait_events(self, job_id: str, cursor: int, timeout_s: float) -> EventBatch | None:
        """Events with ``seq`` above ``cursor`` (long-poll); ``None`` for an unknown job.
        Rides out a restart of the job store (the cursor stays valid across it)."""
        ...


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

    async def submit_summary(self, req: SummaryRequest, owner: str | None) -> Job: ...

    async def summary_status(self, job_id: str, owner: str | None) -> SummaryJobStatus:
        """``owner`` None: any job (admin, or auth off); else only that owner's (404)."""
        ...

    async def summary_result(self, job_id: str, owner: str | None) -> SummaryResult: ...
