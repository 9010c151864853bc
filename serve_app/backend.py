"""What the HTTP layer needs from the rest of the system.

The Serve ingress implements it with deployment and actor handles
(``deployments/ingress.py``); tests can implement it in-process. Routers depend only on
this Protocol, so they are plain FastAPI and testable without Ray.
"""

from __future__ import annotations

from typing import Protocol

from serve_app.job_store import EventBatch
from serve_app.jobs import Job, JobOptions
from serve_app.retranscribe import SpanTranscript
from serve_app.transcript import Segment


class TranscriptionBackend(Protocol):
    async def submit(self, job_id: str, data: bytes, options: JobOptions) -> Job:
        """Validate the audio and start a job; raises ``AppError`` subclasses."""
        ...

    async def get_job(self, job_id: str) -> Job | None: ...

    async def get_segments(self, job_id: str) -> list[Segment] | None: ...

    async def list_jobs(self) -> list[Job]: ...

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
    ) -> SpanTranscript:
        """Re-run a span of a job's kept audio; ``apply`` writes it into the job's result."""
        ...

    async def wait_events(self, job_id: str, cursor: int, timeout_s: float) -> EventBatch | None:
        """Events after ``cursor`` (long-poll); ``None`` for an unknown job."""
        ...
