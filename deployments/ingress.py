"""The HTTP ingress: the FastAPI app of ``serve_app.http`` on a Serve deployment.

Thin by design: routes validate and map to schemas; this file only supplies the two
backends the routes depend on, over handles: transcription (chunker, retranscriber and
job-store actor) and the assistant (summary and chat).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any, BinaryIO

from ray import serve
from ray.exceptions import ActorUnavailableError, RayActorError
from ray.serve.exceptions import BackPressureError

from deployments.job_store import connect_job_store
from deployments.metrics import IngressMetrics
from serve_app.asr.registry import build_registry
from serve_app.asr.routing import ASRRouter
from serve_app.audio.settings import open_audio_store
from serve_app.audio.store import AudioStore
from serve_app.autoscaling.cold_start import ColdStartGuard, LLMColdStart
from serve_app.config import AppConfig
from serve_app.errors import OverloadedError
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
from serve_app.priority import lower_priority
from serve_app.realtime.session import RealtimeServices
from serve_app.transcript.segments import Segment
from serve_app.transcript.spans import SpanTranscript

logger = logging.getLogger("ray.serve")

UPLOAD_BLOCK_BYTES = 1 << 20
STORE_OUTAGE_S = 120.0
"""Longest a live stream waits for a restarting job store before giving up."""


async def overloaded_as_503(
    response: Any, busy: str = "The server is busy and its queue is full"
) -> Any:
    """Serve's back-pressure (the deployment's queue is full) as our 503 with Retry-After."""
    try:
        return await response
    except BackPressureError as exc:
        raise OverloadedError(f"{busy}; retry later") from exc


class ServeBackend:
    """``TranscriptionBackend`` over Serve handles, the job-store actor and the audio store."""

    def __init__(
        self,
        chunker: Any,
        retranscriber: Any,
        job_store: Any,
        audio: AudioStore,
        metrics: IngressMetrics,
        retranscriber_starting: ColdStartGuard | None = None,
    ) -> None:
        self._chunker = chunker
        self._retranscriber = retranscriber
        # Scaled to zero: a request that would wait for the cold start answers "starting".
        self._retranscriber_starting = retranscriber_starting
        self._store = job_store
        self._audio = audio
        self._runs: set[asyncio.Task[None]] = set()
        self._metrics = metrics
        self._waiting = 0  # uploads kept, waiting for a chunker slot

    async def submit(
        self,
        job_id: str,
        upload: BinaryIO,
        options: JobOptions,
        idempotency_key: str | None = None,
        owner: str | None = None,
    ) -> Job:
        began = time.perf_counter()
        await asyncio.to_thread(self._keep, job_id, upload)
        self._metrics.upload.observe(time.perf_counter() - began)
        # The job runs inside this streaming request (see deployments/chunker.py): its first
        # item is the created job, then it lasts until the job ends.
        stream = self._chunker.options(stream=True).transcribe.remote(
            job_id, options, idempotency_key, owner, time.time()
        )
        self._count_waiting(+1)
        try:
            job: Job = await overloaded_as_503(
                anext(aiter(stream)), "Every transcription slot is busy and the queue is full"
            )
        except OverloadedError:
            await asyncio.to_thread(self._audio.delete, job_id)
            raise
        finally:
            self._count_waiting(-1)
        run = asyncio.create_task(self._follow(job, stream))
        self._runs.add(run)
        run.add_done_callback(self._runs.discard)
        return job

    def _keep(self, job_id: str, upload: BinaryIO) -> None:
        """Stream the spooled upload into the audio store, block by block."""
        with self._audio.open_writer(job_id) as out:
            shutil.copyfileobj(upload, out, UPLOAD_BLOCK_BYTES)

    def _count_waiting(self, change: int) -> None:
        self._waiting += change
        self._metrics.queued.set(self._waiting)

    async def _follow(self, job: Job, stream: Any) -> None:
        job_id = job.job_id
        try:
            async for _ in stream:
                pass
        except (RayActorError, ActorUnavailableError):
            # The chunker replica died: hand back the lease it was created with, so a
            # resume starts now. Under that runner and fencing token only: if another
            # runner took the job meanwhile, its lease stays.
            logger.warning("chunker running job %s died; releasing it for resume", job_id)
            if job.lease_owner is not None:
                with contextlib.suppress(Exception):
                    await self._store.release.remote(job_id, job.lease_owner, job.lease_fence)
        except Exception:
            logger.warning("job %s: run request ended with an error", job_id, exc_info=True)

    async def get_job(self, job_id: str) -> Job | None:
        job: Job | None = await self._store.get_job.remote(job_id)
        return job

    async def get_segments(self, job_id: str) -> list[Segment] | None:
        segments: list[Segment] | None = await self._store.get_segments.remote(job_id)
        return segments

    async def list_jobs(self, owner: str | None, offset: int, limit: int) -> JobPage:
        page: JobPage = await self._store.page_jobs.remote("transcription", owner, offset, limit)
        return page

    async def retranscribe_clip(
        self, data: bytes, model_name: str | None, language: str | None
    ) -> SpanTranscript:
        result: SpanTranscript = await overloaded_as_503(
            self._starting(self._retranscriber.transcribe_clip.remote(data, model_name, language))
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
        version: int | None = None,
    ) -> SpanTranscript:
        result: SpanTranscript = await overloaded_as_503(
            self._starting(
                self._retranscriber.transcribe_span.remote(
                    job_id, start, end, model_name, language, apply, version
                )
            )
        )
        return result

    async def _starting(self, response: Any) -> Any:
        if self._retranscriber_starting is None:
            return await response
        return await self._retranscriber_starting(response)

    async def edit_segment(
        self, job_id: str, version: int, segment_id: str, text: str | None, speaker: str | None
    ) -> TranscriptEdit:
        edit: TranscriptEdit = await self._store.edit_segment.remote(
            job_id, version, segment_id, text, speaker
        )
        return edit

    async def rename_speakers(
        self, job_id: str, version: int, names: Mapping[str, str]
    ) -> TranscriptEdit:
        edit: TranscriptEdit = await self._store.rename_speakers.remote(
            job_id, version, dict(names)
        )
        return edit

    async def open_audio(self, job_id: str) -> BinaryIO | None:
        return await asyncio.to_thread(self._audio.open, job_id)

    async def wait_events(self, job_id: str, cursor: int, timeout_s: float) -> EventBatch | None:
        deadline = time.monotonic() + STORE_OUTAGE_S
        delay = 0.2
        while True:
            try:
                batch: EventBatch | None = await self._store.wait_events.remote(
                    job_id, cursor, timeout_s
                )
                return batch
            except (RayActorError, ActorUnavailableError):
                # The store is restarting: it reloads every event with its seq, so polling
                # again from the same cursor loses and repeats nothing.
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(delay)
                delay = min(2.0, delay * 2)


class ServeAssistantBackend:
    """What the ingress's routes call: the assistant deployment through its handle."""

    def __init__(self, handle: Any, models: list[ChatModel]) -> None:
        self._handle = handle
        self._models = models

    def list_models(self) -> list[ChatModel]:
        return self._models

    async def chat(self, req: ChatRequest) -> ChatResponse:
        res: ChatResponse = await overloaded_as_503(self._handle.chat.remote(req))
        return res

    def chat_stream(self, req: ChatRequest) -> AsyncIterator[dict[str, Any]]:
        gen: AsyncIterator[dict[str, Any]] = self._handle.options(stream=True).chat_stream.remote(
            req
        )
        return gen

    async def openai_chat(self, body: dict[str, Any]) -> dict[str, Any]:
        res: dict[str, Any] = await overloaded_as_503(self._handle.openai_chat.remote(body))
        return res

    def openai_chat_stream(self, body: dict[str, Any]) -> AsyncIterator[str]:
        gen: AsyncIterator[str] = self._handle.options(stream=True).openai_chat_stream.remote(body)
        return gen

    async def submit_summary(self, req: SummaryRequest, owner: str | None) -> Job:
        job: Job = await overloaded_as_503(self._handle.submit_summary.remote(req, owner))
        return job

    async def summary_status(self, job_id: str, owner: str | None) -> SummaryJobStatus:
        res: SummaryJobStatus = await self._handle.summary_status.remote(job_id, owner)
        return res

    async def summary_result(self, job_id: str, owner: str | None) -> SummaryResult:
        res: SummaryResult = await self._handle.summary_result.remote(job_id, owner)
        return res


@serve.ingress()
class Ingress:
    """FastAPI ingress; the app is built per replica, after the handles exist."""

    def __init__(
        self, chunker: Any, retranscriber: Any, config: AppConfig, assistant: Any = None
    ) -> None:
        lower_priority(config.ingress.deployment.nice)
        self._config = config
        self._backend = ServeBackend(
            chunker,
            retranscriber,
            connect_job_store(config.job_store),
            open_audio_store(config.audio_store),
            IngressMetrics(),
            ColdStartGuard("Retranscriber", "re-transcriber", config.retranscriber.deployment),
        )
        self._registry = build_registry(config.models, config.asr)
        app_name = serve.get_replica_context().app_name
        self._realtime = RealtimeServices(  # /v1/realtime sessions run on this replica
            asr=ASRRouter.by_name(
                config.models, lambda name: serve.get_deployment_handle(name, app_name)
            ),
            diarizer=(
                serve.get_deployment_handle("Diarizer", app_name)
                if config.diarizer.enabled
                else None
            ),
            store=self._backend._store,
            audio=self._backend._audio,
            registry=self._registry,
            config=config.ingress.realtime,
            lease_s=config.job_store.lease_s,
        )
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
        from serve_app.http.factory import create_http_app

        app = create_http_app(
            self._backend,
            self._registry,
            self._config.ingress,
            behind_serve_proxy=True,
            assistant=self._assistant,
        )
        app.state.realtime = self._realtime
        # An LLM scaled to zero: chat and summary answer 503 "starting" during its cold start.
        app.state.llm_starting = LLMColdStart(self._config.llm)
        from serve_app.speakers.registry import SpeakerRegistry

        app.state.speakers = SpeakerRegistry(  # /api/speakers, known speakers
            self._backend._store,
            serve.get_deployment_handle("Diarizer", serve.get_replica_context().app_name)
            if self._config.diarizer.enabled
            else None,
            self._config.job_store.speakers,
            self._backend.open_audio,
        )
        return app
