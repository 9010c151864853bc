"""One job's run on a chunker replica (split from ``chunker.py``, which owns requests,
leases and dispatch): plan chunks with VAD block by block, send each to ASR as soon as it
is final, retry chunks whose replica failed, and diarize the whole file alongside.

A resumed run starts from the job's stored state: chunks already planned keep their
boundaries, chunks already transcribed are skipped, and planning continues after the last
planned chunk. Segments go to the store per chunk; it publishes them in time order with the
speakers known so far. Every diarization pass (provisional per block, then final) goes to
the store too, which renames its speakers onto the ones shown and sends the revisions.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from tenacity import RetryCallState

from deployments.metrics import ChunkerMetrics
from serve_app.asr.decoding import ChunkTranscript, DecodeOptions
from serve_app.audio.chunking import Chunk, IncrementalPlanner
from serve_app.audio.vad import detect_speech
from serve_app.autoscaling.cold_start import note_if_cold
from serve_app.config import ChunkerConfig
from serve_app.jobs.model import ChunkRecord, ChunkState, Job
from serve_app.retrying import replica_calls
from serve_app.transcript.timefmt import format_display

logger = logging.getLogger("ray.serve")

DIARIZATION_DISABLED = "speaker diarization is disabled on this server"
DIARIZER_STARTING = "Speaker diarizer starting (scaled to zero while idle)"


@dataclass(frozen=True)
class JobContext:
    """What a run needs from its replica: the job store and the ASR and diarizer handles
    (``diarizer`` None: diarization disabled), and the chunker's config."""

    store: Any
    asr: Any
    diarizer: Any | None
    config: ChunkerConfig
    metrics: ChunkerMetrics


class JobRun:
    """One job's fan-out: chunks to ASR, the whole file to the diarizer."""

    def __init__(self, context: JobContext, job: Job, audio: np.ndarray, t0: float) -> None:
        self.store, self.config, self.metrics = context.store, context.config, context.metrics
        self.job, self.job_id, self.audio, self.t0 = job, job.job_id, audio, t0
        # Every write carries the run's lease token: once another runner holds the job,
        # the store refuses them (LeaseLostError, never retried) and this run stops.
        self.fence = job.lease_fence
        self.sr = self.config.sample_rate
        options = job.options
        self.asr = context.asr.options(multiplexed_model_id=options.model_name)
        self.language = job.language or options.language or (None if job.multilingual else "en")
        self.decode = DecodeOptions(
            task=options.task, prompt=options.prompt, temperature=options.temperature
        )
        self.diarizer = context.diarizer if options.diarize else None
        self.diarization_note = (
            DIARIZATION_DISABLED if options.diarize and context.diarizer is None else ""
        )
        self.planned: list[ChunkRecord] = list(job.chunks)
        self.semaphore = asyncio.Semaphore(self.config.max_inflight_chunks)

    @property
    def planned_any(self) -> bool:
        return bool(self.planned)

    async def execute(self) -> None:
        done = set(await self.store.chunk_results.remote(self.job_id))
        diarization = asyncio.create_task(self._diarize()) if self.diarizer else None
        try:
            async with asyncio.TaskGroup() as group:
                for record in self.planned:
                    if record.index not in done:
                        await self._dispatch(group, record)
                if not self.job.planning_done:
                    await self._plan(group)
            if diarization is not None:
                await diarization
        finally:
            if diarization is not None and not diarization.done():
                diarization.cancel()

    async def _plan(self, group: asyncio.TaskGroup) -> None:
        """VAD block by block after the last planned chunk; chunks dispatched when final."""
        cfg = self.config
        # Leave room for the VAD padding so a span never exceeds the chunk length.
        max_speech_s = cfg.chunk_length_s - 2 * cfg.vad.speech_pad_ms / 1000
        start = self.planned[-1].end_sample if self.planned else 0
        planner = IncrementalPlanner(
            self.audio.shape[0],
            int(cfg.chunk_length_s * self.sr),
            join_samples=int(cfg.vad.speech_pad_ms / 1000 * self.sr) + 1,
            start=start,
            first_index=len(self.planned),
            first_chunk_samples=int(cfg.first_chunk_s * self.sr) if cfg.first_chunk_s else None,
        )
        block = int(cfg.vad_block_s * self.sr)
        vad_s = 0.0
        for block_start in range(start - start % block, self.audio.shape[0], block):
            piece = self.audio[block_start : block_start + block]
            began = time.perf_counter()
            spans = await asyncio.to_thread(detect_speech, piece, cfg.vad, max_speech_s)
            vad_s += time.perf_counter() - began
            shifted = [(a + block_start, b + block_start) for a, b in spans]
            await self._add(group, planner.add_block(shifted, block_start), done=False)
        await self._add(group, planner.finish(), done=True)
        self.metrics.stage("vad", vad_s)
        if not self.planned:
            await self.store.update_job.remote(
                self.job_id, message="No speech detected", fence=self.fence
            )
        await self.store.update_job.remote(
            self.job_id, timings={"vad_s": time.perf_counter() - self.t0}, fence=self.fence
        )

    async def _add(self, group: asyncio.TaskGroup, chunks: list[Chunk], done: bool) -> None:
        records = [
            ChunkRecord(
                index=c.index,
                start=c.start_s(self.sr),
                end=c.end_s(self.sr),
                start_sample=c.start,
                end_sample=c.end,
            )
            for c in chunks
        ]
        if records or done:
            await self.store.add_chunks.remote(self.job_id, records, done, fence=self.fence)
        for record in records:
            self.planned.append(record)
            await self._dispatch(group, record)

    async def _dispatch(self, group: asyncio.TaskGroup, record: ChunkRecord) -> None:
        if self.language is None:
            # Detect once, on the first chunk, so every chunk is decoded in one language;
            # retried like a chunk when its replica fails.
            async for attempt in replica_calls(
                self.config.chunk_attempts, self.config.retry_backoff_s
            ):
                with attempt:
                    self.language, _ = await self.asr.detect_language.remote(self._slice(record))
        if self.job.language != self.language:
            self.job.language = self.language
            await self.store.update_job.remote(
                self.job_id, language=self.language, fence=self.fence
            )
        group.create_task(self._transcribe(record))

    def _slice(self, record: ChunkRecord) -> np.ndarray:
        # Slicing is a view; the handle copies just this span to the replica.
        return self.audio[record.start_sample : record.end_sample]

    async def _transcribe(self, record: ChunkRecord) -> None:
        """One chunk, retried with backoff when its replica fails (died, removed,
        unavailable, pushing back); an error in the input (``AppError``) is not retried."""

        async def retrying(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            logger.warning("job %s chunk %d: %s; retrying", self.job_id, record.index, exc)
            self.metrics.retries.inc()
            await self.store.update_chunk.remote(self.job_id, record, fence=self.fence)

        planned = time.perf_counter()
        failure: Exception | None = None  # the ASR call's (a store error is not retried)
        async with self.semaphore:
            try:
                async for attempt in replica_calls(
                    self.config.chunk_attempts, self.config.retry_backoff_s, retrying
                ):
                    number = attempt.retry_state.attempt_number
                    record.state, record.started_at, record.attempts = (
                        ChunkState.RUNNING,
                        time.time(),
                        number,
                    )
                    await self.store.update_chunk.remote(self.job_id, record, fence=self.fence)
                    with attempt:
                        try:
                            result: ChunkTranscript = await self.asr.transcribe_chunk.remote(
                                self._slice(record), self.language, self.decode
                            )
                        except Exception as exc:
                            failure = exc
                            record.error = f"attempt {number}: {type(exc).__name__}: {exc}"[:500]
                            raise
            except Exception as exc:
                if exc is not failure:
                    raise
                span = f"{format_display(record.start)}-{format_display(record.end)}"
                record.state = ChunkState.FAILED
                await self.store.update_chunk.remote(self.job_id, record, fence=self.fence)
                raise RuntimeError(
                    f"chunk {record.index + 1} ({span}) after {record.attempts} attempt(s): {exc}"
                ) from exc
        answered = time.perf_counter()
        # The ASR pass itself, and the rest of the wait: semaphore, Serve's queue, batching.
        self.metrics.chunk("asr", result.transcribe_s)
        self.metrics.chunk("queue", answered - planned - result.transcribe_s)
        await self.store.complete_chunk.remote(
            self.job_id, record.index, result.segments, fence=self.fence
        )
        self.metrics.chunk("publish", time.perf_counter() - answered)

    async def _note(self, message: str) -> None:
        await self.store.update_job.remote(self.job_id, message=message, fence=self.fence)

    async def _diarize(self) -> None:
        """Stream diarization passes to the store. If diarization fails, the transcript is
        still delivered (with the speakers of the last pass, or none) and says so, rather
        than failing the job."""
        assert self.diarizer is not None
        opts = self.job.options
        duration = max(self.audio.shape[0] / self.sr, 1e-9)
        starting = asyncio.create_task(  # the diarizer may be scaled to zero: say so
            note_if_cold("Diarizer", 2.0, lambda: self._note(DIARIZER_STARTING))
        )
        try:
            # Voiceprints with every pass when the owner's known speakers name this job's
            # speakers live; with the final pass only otherwise (kept for later matches).
            live = await self.store.uses_known_speakers.remote(self.job_id)
            stream = self.diarizer.options(stream=True).diarize.remote(
                self.audio, opts.num_speakers, opts.min_speakers, opts.max_speakers, live
            )
            async for item in stream:
                starting.cancel()
                await self.store.update_speakers.remote(
                    self.job_id,
                    item.exclusive_turns,
                    item.final,
                    fence=self.fence,
                    overlap_turns=item.turns,
                    centroids=item.centroids,
                )
                if item.final:
                    self.metrics.stage("diarization", item.diarize_s)
                    await self.store.update_job.remote(
                        self.job_id,
                        diarization_progress=100.0,
                        message=f"Speaker diarization found {len(item.speakers)} speakers",
                        timings={"diarize_s": item.diarize_s},
                        fence=self.fence,
                    )
                    return
                await self.store.update_job.remote(
                    self.job_id,
                    diarization_progress=round(min(99.0, 100 * item.covered_s / duration), 1),
                    message=f"Diarizing speakers ({item.covered_s:.0f} s of {duration:.0f} s)",
                    fence=self.fence,
                )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.exception("diarization of job %s failed", self.job_id)
            self.diarization_note = f"speaker diarization failed: {exc}"[:300]
        finally:
            starting.cancel()
        await self.store.update_job.remote(self.job_id, no_diarization=True, fence=self.fence)
