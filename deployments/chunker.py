"""The chunker: decodes an upload, finds speech, cuts chunks in silence and fans them out to
the ASR replicas, publishing segments to the job store in time order as they become final.

``submit`` validates the audio by content (so bad uploads get a 400 before any job exists)
and returns at once; the job then runs as an asyncio task on this replica, which Serve does
not count as an ongoing request. The decoded audio is held here; at most
``max_inflight_chunks`` slices of it are in flight to ASR at a time, and a diarized job also
sends the whole array to the diarizer (one more copy, through the object store).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from deployments.job_store import connect_job_store
from serve_app.asr.decoding import ChunkTranscript, DecodeOptions
from serve_app.asr.registry import build_registry
from serve_app.audio.chunking import Chunk, IncrementalPlanner
from serve_app.audio.decode import AudioInfo, decode_audio, probe_audio
from serve_app.audio.store import AudioStore
from serve_app.audio.vad import detect_speech
from serve_app.config import AppConfig, ChunkerConfig
from serve_app.diarization.alignment import attach_speakers
from serve_app.diarization.results import DiarizationOutput
from serve_app.errors import AppError
from serve_app.jobs.model import ChunkInfo, ChunkRecord, ChunkState, Job, JobOptions, JobStatus
from serve_app.paths import resolve_path
from serve_app.transcript.segments import Segment, finalize_chunk_segments
from serve_app.transcript.timefmt import format_display

logger = logging.getLogger("ray.serve")

# Progress budget (percent): decoding is quick; the rest follows the transcript.
DECODED_AT, DONE_AT = 4.0, 99.0
DIARIZATION_DISABLED = "speaker diarization is disabled on this server"
# Share of the job's progress bar each diarization step covers (the rest is quick).
DIARIZATION_STEPS = {"segmentation": (0.0, 0.35), "embeddings": (0.35, 0.6)}


class Chunker:
    """Decode, VAD, chunk; orchestrates each job's transcription."""

    def __init__(self, asr: Any, diarizer: Any | None, config: AppConfig) -> None:
        self._asr = asr
        self._diarizer = diarizer
        self._config = config.chunker
        self._registry = build_registry(config.models, config.asr)
        self._store = connect_job_store(config.job_store)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        store = config.audio_store
        # The original upload is kept so any span can be re-transcribed later.
        self._audio_store = (
            AudioStore(resolve_path(store.directory), store.ttl_s) if store.enabled else None
        )

    async def submit(self, job_id: str, data: bytes, options: JobOptions) -> Job:
        """Validate the upload and start the job. Raises ``InvalidAudioError`` (400) etc."""
        spec = self._registry.validate(options.model_name, options.language, options.task)
        info = await asyncio.to_thread(probe_audio, data)
        if self._audio_store is not None:
            await asyncio.to_thread(self._keep_audio, job_id, data, info)
        options = options.model_copy(update={"model_name": spec.name})
        job = Job(job_id=job_id, options=options, message="Queued for transcription")
        if info.duration is not None:
            job.audio_duration = info.duration
        await self._store.create_job.remote(job)
        task = asyncio.create_task(self._run(job_id, data, options, spec.multilingual))
        self._tasks[job_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(job_id, None))
        return job

    def _keep_audio(self, job_id: str, data: bytes, info: AudioInfo) -> None:
        assert self._audio_store is not None
        self._audio_store.save(job_id, data, info)
        self._audio_store.sweep()

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
            await self._update(
                job_id,
                message="Detecting speech",
                progress=DECODED_AT,
                audio_duration=audio.shape[0] / self._config.sample_rate,
                timings={"decode_s": decoded - started},
            )
            run = _JobRun(
                _JobContext(self._store, self._asr, self._diarizer, self._config),
                job_id,
                audio,
                options,
                multilingual,
                decoded,
            )
            await run.execute()
            del audio
            finished = time.perf_counter()
            message = "Transcription completed"
            if not run.records:
                message += ": no speech detected"
            if run.diarization_note:
                message += f" ({run.diarization_note})"
            await self._update(
                job_id,
                status=JobStatus.COMPLETED,
                message=message,
                progress=100.0,
                segments=run.held or None,
                timings={"transcribe_s": finished - decoded, "total_s": finished - started},
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # A TaskGroup wraps the first chunk failure; report that one.
            while isinstance(exc, ExceptionGroup) and exc.exceptions:
                exc = exc.exceptions[0]
            reason = exc.message if isinstance(exc, AppError) else f"{type(exc).__name__}: {exc}"
            logger.exception("job %s failed", job_id)
            await self._update(
                job_id, status=JobStatus.FAILED, message=f"Transcription failed: {reason}"
            )


@dataclass(frozen=True)
class _JobContext:
    """What a job run needs from its chunker replica: the job store, the ASR and diarizer
    handles (``None``: diarization disabled) and the chunker's config."""

    store: Any
    asr: Any
    diarizer: Any | None
    config: ChunkerConfig


class _JobRun:
    """One job's fan-out: VAD block by block, chunks dispatched as soon as they are final,
    segments published strictly in time order as the chunks before them complete."""

    def __init__(
        self,
        context: _JobContext,
        job_id: str,
        audio: np.ndarray,
        options: JobOptions,
        multilingual: bool,
        t0: float,
    ) -> None:
        self.store, self.config = context.store, context.config
        self.job_id, self.audio, self.options, self.t0 = job_id, audio, options, t0
        self.sr = self.config.sample_rate
        self.duration = audio.shape[0] / self.sr
        self.asr = context.asr.options(multiplexed_model_id=options.model_name)
        self.language = options.language or (None if multilingual else "en")
        self.decode = DecodeOptions(
            task=options.task, prompt=options.prompt, temperature=options.temperature
        )
        self.records: list[ChunkRecord] = []
        self.diarizer = context.diarizer if options.diarize else None
        self.diarization_note = (
            DIARIZATION_DISABLED if options.diarize and context.diarizer is None else ""
        )
        self.diarization_progress: float | None = 0.0 if self.diarizer else None
        # With diarization, segments are held until speakers are known, then published.
        self.held: list[Segment] = []
        self.planning_done = False
        self.semaphore = asyncio.Semaphore(self.config.max_inflight_chunks)
        self.publish_lock = asyncio.Lock()
        self.ready: dict[int, tuple[Chunk, ChunkTranscript]] = {}
        self.next_index, self.done, self.last_end = 0, 0, 0.0
        self.first_segment_s: float | None = None

    async def execute(self) -> None:
        cfg = self.config
        # Leave room for the VAD padding so a span never exceeds the chunk length.
        max_speech_s = cfg.chunk_length_s - 2 * cfg.vad.speech_pad_ms / 1000
        planner = IncrementalPlanner(
            self.audio.shape[0],
            int(cfg.chunk_length_s * self.sr),
            join_samples=int(cfg.vad.speech_pad_ms / 1000 * self.sr) + 1,
        )
        block = int(cfg.vad_block_s * self.sr)
        # Diarization runs on the whole file, concurrently with the ASR fan-out.
        diarization = asyncio.create_task(self._diarize()) if self.diarizer else None
        try:
            await self._fan_out(planner, block, max_speech_s)
            if diarization is not None:
                turns = await diarization
                if turns is not None:
                    self.held = attach_speakers(self.held, turns)
        finally:
            if diarization is not None and not diarization.done():
                diarization.cancel()

    async def _fan_out(self, planner: IncrementalPlanner, block: int, max_speech_s: float) -> None:
        cfg = self.config
        async with asyncio.TaskGroup() as group:
            for block_start in range(0, self.audio.shape[0], block):
                piece = self.audio[block_start : block_start + block]
                spans = await asyncio.to_thread(detect_speech, piece, cfg.vad, max_speech_s)
                shifted = [(a + block_start, b + block_start) for a, b in spans]
                for chunk in planner.add_block(shifted, block_start):
                    await self._dispatch(group, chunk)
            for chunk in planner.finish():
                await self._dispatch(group, chunk)
            self.planning_done = True
            await self._report(
                message=f"Transcribing {len(self.records)} chunks"
                if self.records
                else "No speech detected",
                timings={"vad_s": time.perf_counter() - self.t0},
            )

    async def _dispatch(self, group: asyncio.TaskGroup, chunk: Chunk) -> None:
        if self.language is None:
            # Detect once, on the first chunk, so every chunk is decoded in one language.
            self.language, _ = await self.asr.detect_language.remote(
                self.audio[chunk.start : chunk.end]
            )
            await self.store.update_job.remote(self.job_id, language=self.language)
        elif not self.records:
            await self.store.update_job.remote(self.job_id, language=self.language)
        self.records.append(
            ChunkRecord(index=chunk.index, start=chunk.start_s(self.sr), end=chunk.end_s(self.sr))
        )
        group.create_task(self._transcribe(chunk))

    async def _transcribe(self, chunk: Chunk) -> None:
        async with self.semaphore:
            record = self.records[chunk.index]
            record.state, record.started_at = ChunkState.RUNNING, time.time()
            await self.store.update_chunk.remote(self.job_id, record)
            try:
                # Slicing is a view; the handle copies just this span to the replica.
                result: ChunkTranscript = await self.asr.transcribe_chunk.remote(
                    self.audio[chunk.start : chunk.end], self.language, self.decode
                )
            except Exception as exc:
                record.state, record.error = ChunkState.FAILED, str(exc)[:500]
                await self.store.update_chunk.remote(self.job_id, record)
                span = f"{format_display(record.start)}-{format_display(record.end)}"
                raise RuntimeError(f"chunk {chunk.index + 1} ({span}): {exc}") from exc
        record.state, record.finished_at = ChunkState.DONE, time.time()
        async with self.publish_lock:
            self.done += 1
            self.ready[chunk.index] = (chunk, result)
            # Publish every chunk that is now final, in time order.
            publish: list[Segment] = []
            while self.next_index in self.ready:
                c, r = self.ready.pop(self.next_index)
                final = finalize_chunk_segments(
                    r.segments, c.start_s(self.sr), c.end_s(self.sr), self.last_end
                )
                self.records[self.next_index].segments = len(final)
                if final:
                    self.last_end = final[-1].end
                publish.extend(final)
                self.next_index += 1
            if self.diarizer is not None:
                self.held.extend(publish)
                publish = []
            timings = None
            if publish and self.first_segment_s is None:
                self.first_segment_s = time.perf_counter() - self.t0
                timings = {"first_segment_s": self.first_segment_s}
            await self._report(
                message=f"Transcribed chunk {self.done} of {len(self.records)}",
                segments=publish,
                timings=timings,
            )

    async def _report(self, message: str, **changes: Any) -> None:
        total = len(self.records)
        # Progress follows the transcript through the audio (and diarization, when on).
        transcribed_until = self.records[self.next_index - 1].end if self.next_index else 0.0
        fraction = min(1.0, transcribed_until / self.duration if self.duration else 1.0)
        if self.diarization_progress is not None:
            fraction = (fraction + self.diarization_progress) / 2
            message = f"{message}; diarizing speakers {100 * self.diarization_progress:.0f}%"
        await self.store.update_job.remote(
            self.job_id,
            message=message,
            progress=DECODED_AT + (DONE_AT - DECODED_AT) * fraction,
            chunk_info=ChunkInfo(
                current_chunk=self.done,
                total_chunks=total,
                chunk_progress=round(100.0 * self.done / total, 1) if total else 0.0,
                diarization_progress=None
                if self.diarization_progress is None
                else round(100 * self.diarization_progress, 1),
            ),
            chunks=self.records,
            **changes,
        )

    async def _diarize(self) -> list[dict[str, Any]] | None:
        """Exclusive speaker turns, or ``None`` (with a note) if diarization failed: the
        transcript is still delivered, without speakers, rather than failing the job."""
        assert self.diarizer is not None
        opts = self.options
        try:
            stream = self.diarizer.options(stream=True).diarize.remote(
                self.audio, opts.num_speakers, opts.min_speakers, opts.max_speakers
            )
            async for item in stream:
                if isinstance(item, DiarizationOutput):
                    self.diarization_progress = 1.0
                    await self._report(
                        message=f"Speaker diarization found {len(item.speakers)} speakers",
                        timings={"diarize_s": item.diarize_s},
                    )
                    return item.exclusive_turns
                base, weight = DIARIZATION_STEPS.get(item.step, (0.95, 0.05))
                progress = base + weight * item.fraction
                if progress > (self.diarization_progress or 0.0):
                    self.diarization_progress = progress
                    await self._report(message=f"Diarizing speakers ({item.step})")
        except Exception as exc:
            logger.exception("diarization of job %s failed", self.job_id)
            self.diarization_note = f"speaker diarization failed: {exc}"[:300]
        self.diarization_progress = None
        return None
