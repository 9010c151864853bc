"""The chunker: decodes an upload, finds speech, cuts chunks in silence and fans them out to
the ASR replicas, publishing segments to the job store in time order as they become final.

``submit`` validates the audio by content (so bad uploads get a 400 before any job exists)
and returns at once; the job then runs as a task on this replica. The decoded audio is held
once, here; at most ``max_inflight_chunks`` slices of it are in flight to ASR at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any, Protocol

import numpy as np

from deployments.job_store import connect_job_store
from serve_app.audio import decode_audio, probe_audio
from serve_app.chunking import Chunk, detect_speech, plan_chunks
from serve_app.config import AppConfig, resolve_path
from serve_app.errors import AppError
from serve_app.jobs import ChunkInfo, ChunkRecord, ChunkState, Job, JobOptions, JobStatus
from serve_app.models import ModelRegistry
from serve_app.timefmt import format_display
from serve_app.transcript import ChunkTranscript, Segment, finalize_chunk_segments

logger = logging.getLogger("ray.serve")

# Progress budget per phase (percent): decoding and VAD are quick next to transcription.
DECODED_AT, PLANNED_AT, DONE_AT = 4.0, 8.0, 99.0
DIARIZATION_UNAVAILABLE = "speaker diarization is not available on this server yet"


class ChunkerHandle(Protocol):
    """Methods reachable through the chunker deployment handle."""

    async def submit(self, job_id: str, data: bytes, options: JobOptions) -> Job: ...


class Chunker:
    """Decode, VAD, chunk; orchestrates each job's transcription."""

    def __init__(self, asr: Any, config: AppConfig) -> None:
        self._asr = asr
        self._config = config.chunker
        self._registry = ModelRegistry(resolve_path(config.models.models_dir))
        self._store = connect_job_store(config.job_store)
        self._tasks: dict[str, asyncio.Task[None]] = {}

    async def submit(self, job_id: str, data: bytes, options: JobOptions) -> Job:
        """Validate the upload and start the job. Raises ``InvalidAudioError`` (400) etc."""
        spec = self._registry.spec(options.model_name)
        self._registry.resolve(options.model_name)
        info = await asyncio.to_thread(probe_audio, data)
        options = options.model_copy(update={"model_name": spec.name})
        job = Job(job_id=job_id, options=options, message="Queued for transcription")
        if info.duration is not None:
            job.audio_duration = info.duration
        await self._store.create_job.remote(job)
        task = asyncio.create_task(self._run(job_id, data, options, spec.multilingual))
        self._tasks[job_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(job_id, None))
        return job

    async def check_health(self) -> None:
        await self._store.ping.remote()

    async def __del__(self) -> None:
        # Replica shutting down: jobs it was running can no longer finish; say so.
        for job_id, task in list(self._tasks.items()):
            task.cancel()
            with contextlib.suppress(Exception):  # best effort: the store may be gone too
                await asyncio.wait_for(
                    self._store.update_job.remote(
                        job_id,
                        status=JobStatus.FAILED,
                        message="Transcription failed: the server shut down while processing",
                    ),
                    timeout=2,
                )

    # ---- the job ---------------------------------------------------------------------------

    async def _update(self, job_id: str, **changes: Any) -> None:
        await self._store.update_job.remote(job_id, **changes)

    async def _run(self, job_id: str, data: bytes, options: JobOptions, multilingual: bool) -> None:
        started = time.perf_counter()
        try:
            await self._update(job_id, message="Decoding audio", progress=1.0)
            audio = await asyncio.to_thread(decode_audio, data, self._config.sample_rate)
            del data  # the compressed upload is no longer needed; keep one copy of the audio
            decoded = time.perf_counter()
            duration = audio.shape[0] / self._config.sample_rate
            await self._update(
                job_id,
                message="Detecting speech",
                progress=DECODED_AT,
                audio_duration=duration,
                timings={"decode_s": decoded - started},
            )
            chunks = await asyncio.to_thread(self._plan, audio)
            planned = time.perf_counter()
            await self._transcribe_chunks(job_id, audio, chunks, options, multilingual, planned)
            del audio
            finished = time.perf_counter()
            message = "Transcription completed"
            if not chunks:
                message += ": no speech detected"
            if options.diarize:
                message += f" ({DIARIZATION_UNAVAILABLE})"
            await self._update(
                job_id,
                status=JobStatus.COMPLETED,
                message=message,
                progress=100.0,
                timings={
                    "vad_s": planned - decoded,
                    "transcribe_s": finished - planned,
                    "total_s": finished - started,
                },
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            reason = exc.message if isinstance(exc, AppError) else f"{type(exc).__name__}: {exc}"
            logger.exception("job %s failed", job_id)
            await self._update(
                job_id, status=JobStatus.FAILED, message=f"Transcription failed: {reason}"
            )

    def _plan(self, audio: np.ndarray) -> list[Chunk]:
        sr = self._config.sample_rate
        # Leave room for the VAD padding so a span never exceeds the chunk length.
        max_speech_s = self._config.chunk_length_s - 2 * self._config.vad.speech_pad_ms / 1000
        speech = detect_speech(audio, self._config.vad, max_speech_s)
        return plan_chunks(speech, audio.shape[0], int(self._config.chunk_length_s * sr))

    async def _transcribe_chunks(
        self,
        job_id: str,
        audio: np.ndarray,
        chunks: list[Chunk],
        options: JobOptions,
        multilingual: bool,
        t0: float,
    ) -> None:
        sr = self._config.sample_rate
        records = [ChunkRecord(index=c.index, start=c.start_s(sr), end=c.end_s(sr)) for c in chunks]
        total = len(chunks)
        await self._update(
            job_id,
            message=f"Transcribing {total} chunks" if total else "No speech detected",
            progress=PLANNED_AT,
            chunks=records,
            chunk_info=ChunkInfo(current_chunk=0, total_chunks=total, chunk_progress=0.0),
        )
        if not chunks:
            return
        asr = self._asr.options(multiplexed_model_id=options.model_name)
        language = options.language
        if language is None and not multilingual:
            language = "en"
        if language is None:
            # Detect once on the first chunk so every chunk is decoded in the same language.
            first = chunks[0]
            language, _ = await asr.detect_language.remote(audio[first.start : first.end])
        await self._update(job_id, language=language)

        semaphore = asyncio.Semaphore(self._config.max_inflight_chunks)

        async def transcribe(chunk: Chunk) -> tuple[Chunk, ChunkTranscript]:
            async with semaphore:
                record = records[chunk.index]
                record.state, record.started_at = ChunkState.RUNNING, time.time()
                await self._store.update_chunk.remote(job_id, record)
                # Slicing is a view; the handle copies just this span to the replica.
                try:
                    result: ChunkTranscript = await asr.transcribe_chunk.remote(
                        audio[chunk.start : chunk.end], language
                    )
                except Exception as exc:
                    record.state, record.error = ChunkState.FAILED, str(exc)[:500]
                    await self._store.update_chunk.remote(job_id, record)
                    span = f"{format_display(record.start)}-{format_display(record.end)}"
                    raise RuntimeError(f"chunk {chunk.index + 1} ({span}): {exc}") from exc
                return chunk, result

        pending = [asyncio.create_task(transcribe(c)) for c in chunks]
        ready: dict[int, tuple[Chunk, ChunkTranscript]] = {}
        next_index, done, last_end, first_segment_s = 0, 0, 0.0, None
        try:
            for next_done in asyncio.as_completed(pending):
                chunk, result = await next_done
                done += 1
                ready[chunk.index] = (chunk, result)
                record = records[chunk.index]
                record.state, record.finished_at = ChunkState.DONE, time.time()
                # Publish every chunk that is now final, in time order.
                publish: list[Segment] = []
                while next_index in ready:
                    c, r = ready.pop(next_index)
                    final = finalize_chunk_segments(
                        r.segments, c.start_s(sr), c.end_s(sr), last_end
                    )
                    records[next_index].segments = len(final)
                    if final:
                        last_end = final[-1].end
                    publish.extend(final)
                    next_index += 1
                if publish and first_segment_s is None:
                    first_segment_s = time.perf_counter() - t0
                await self._update(
                    job_id,
                    message=f"Transcribed chunk {done} of {total}",
                    progress=PLANNED_AT + (DONE_AT - PLANNED_AT) * done / total,
                    chunk_info=ChunkInfo(
                        current_chunk=done,
                        total_chunks=total,
                        chunk_progress=round(100.0 * done / total, 1),
                    ),
                    chunks=records,
                    segments=publish,
                    timings={"first_segment_s": first_segment_s} if first_segment_s else None,
                )
        except BaseException:
            for task in pending:
                task.cancel()
            raise
