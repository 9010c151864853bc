"""The HTTP ingress: the FastAPI app of ``serve_app.http`` on a Serve deployment.

Thin by design: routes validate and map to schemas; this class only supplies the backend
(chunker handle + job-store actor) the routes depend on.
"""

from __future__ import annotations

from typing import Any

from ray import serve

from deployments.job_store import connect_job_store
from serve_app.config import AppConfig
from serve_app.job_store import EventBatch
from serve_app.jobs import Job, JobOptions
from serve_app.models import build_registry
from serve_app.retranscribe import SpanTranscript
from serve_app.transcript import Segment


class ServeBackend:
    """``TranscriptionBackend`` over Serve handles and the job-store actor."""

    def __init__(self, chunker: Any, retranscriber: Any, job_store: Any) -> None:
        self._chunker = chunker
        self._retranscriber = retranscriber
        self._store = job_store

    async def submit(self, job_id: str, data: bytes, options: JobOptions) -> Job:
        job: Job = await self._chunker.submit.remote(job_id, data, options)
        return job

    async def get_job(self, job_id: str) -> Job | None:
        job: Job | None = await self._store.get_job.remote(job_id)
        return job

    async def get_segments(self, job_id: str) -> list[Segment] | None:
        segments: list[Segment] | None = await self._store.get_segments.remote(job_id)
        return segments

    async def list_jobs(self) -> list[Job]:
        jobs: list[Job] = await self._store.list_jobs.remote()
        return jobs

    async def retranscribe_clip(
        self, data: bytes, model_name: str | None, language: str | None
    ) -> SpanTranscript:
        result: SpanTranscript = await self._retranscriber.transcribe_clip.remote(
            data, model_name, language
        )
        return result

    async def retranscribe_span(
        self,
        job_id: str,
        start: float,
        end: float,
        model_name: str | None,
        language: str | None,
        apply: bool,
    ) -> SpanTranscript:
        result: SpanTranscript = await self._retranscriber.transcribe_span.remote(
            job_id, start, end, model_name, language, apply
        )
        return result

    async def wait_events(self, job_id: str, cursor: int, timeout_s: float) -> EventBatch | None:
        batch: EventBatch | None = await self._store.wait_events.remote(job_id, cursor, timeout_s)
        return batch


@serve.ingress()
class Ingress:
    """FastAPI ingress; the app is built per replica, after the handles exist."""

    def __init__(
        self, chunker: Any, retranscriber: Any, config: AppConfig, assistant: Any = None
    ) -> None:
        from deployments.assistant import ServeAssistantBackend
        from serve_app.llm_schemas import ChatModel

        self._config = config
        self._backend = ServeBackend(chunker, retranscriber, connect_job_store(config.job_store))
        self._registry = build_registry(config.models, config.asr)
        self._assistant = (
            None
            if assistant is None
            else ServeAssistantBackend(
                assistant,
                [
                    ChatModel(id=m.name, name=m.name, description=m.description)
                    for m in config.llm.served_models()
                ],
            )
        )

    def __serve_build_asgi_app__(self) -> Any:
        from serve_app.http.app import create_http_app

        return create_http_app(
            self._backend,
            self._registry,
            self._config.ingress,
            behind_serve_proxy=True,
            assistant=self._assistant,
        )
