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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from tenacity import RetryCallState

from deployments.metrics import ChunkerMetrics
from serve_app.asr.decoding import ChunkTranscript, DecodeOptions
from serve_app.audio.chunking import Chunk, IncrementalPlanner
from serve_app.audio.stream import array_blocks
from serve_app.audio.vad import detect_speech
from serve_app.audio.window import SampleWindow
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


@dataclass(frozen=True)
class JobAudio:
    """A run's audio: ``blocks(n)`` gives it from the start in blocks of ``n`` samples (a
    streamed decode, so the run holds a window and never the file); ``whole``: the
    decoded array, held only when the diarizer needs the whole file."""

    blocks: Callable[[int], Iterator[np.ndarray]]
    whole: np.ndarray | None = None


class JobRun:
    """One job's fan-out: chunks to ASR as decoding reaches them, the whole file to the
    diarizer."""

    def __init__(
        self, context: JobContext, job: Job, audio: JobAudio | np.ndarray, t0: float
    ) -> None:
        if isinstance(audio, np.ndarray):  # decoded already: blocks are views of it
            whole = audio
            audio = JobAudio(lambda size: array_blocks(whole, size), whole)
        self.store, self.config, self.metrics = context.store, context.config, context.metrics
        self.job, self.job_id, self.audio, self.t0 = job, job.job_id, audio, t0
        self.total_samples: int | None = None
        """The audio's length, once the stream has reached its end."""
        self.peak_window_bytes = 0
        """The most decoded audio the run held at once (besides chunks in flight)."""
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
        waiting = [record for record in self.planned if record.index not in done]
        diarization = asyncio.create_task(self._diarize()) if self.diarizer else None
        try:
            async with asyncio.TaskGroup() as group:
                if waiting or not self.job.planning_done:
                    await self._stream(group, waiting)
            if diarization is not None:
                await diarization
        finally:
            if diarization is not None and not diarization.done():
                diarization.cancel()

    async def _stream(self, group: asyncio.TaskGroup, waiting: list[ChunkRecord]) -> None:
        """One pass over the audio, block by block: chunks planned earlier and not done go
        to ASR once decoded; after the last planned chunk, VAD plans the rest, each chunk
        sent when final. Only the samples a chunk may still need are kept (the window),
        and sending waits for a free ASR slot, so decoding never runs far ahead of ASR."""
        cfg = self.config
        # Leave room for the VAD padding so a span never exceeds the chunk length.
        max_speech_s = cfg.chunk_length_s - 2 * cfg.vad.speech_pad_ms / 1000
        planning = not self.job.planning_done
        start = self.planned[-1].end_sample if self.planned else 0
        planner = IncrementalPlanner(
            round((self.job.audio_duration or 0.0) * self.sr),  # set exactly at the end
            int(cfg.chunk_length_s * self.sr),
            join_samples=int(cfg.vad.speech_pad_ms / 1000 * self.sr) + 1,
            start=start,
            first_index=len(self.planned),
            first_chunk_samples=int(cfg.first_chunk_s * self.sr) if cfg.first_chunk_s else None,
        )
        block = int(cfg.vad_block_s * self.sr)
        first_vad = start - start % block  # VAD blocks stay aligned to the file's start
        waiting = sorted(waiting, key=lambda r: r.start_sample)
        window = SampleWindow()
        blocks = self.audio.blocks(block)
        vad_s = 0.0
        read: asyncio.Future[np.ndarray | None] | None = None
        try:
            while True:
                # Shielded: when the run is cancelled, the block being decoded in its
                # thread is waited for below, so that the decoder can then be closed.
                read = asyncio.ensure_future(asyncio.to_thread(next, blocks, None))
                if (piece := await asyncio.shield(read)) is None:
                    break
                block_start = window.end
                window.append(piece)
                self.peak_window_bytes = max(self.peak_window_bytes, window.nbytes)
                while waiting and waiting[0].end_sample <= window.end:
                    await self._dispatch(group, waiting.pop(0), window)
                if planning and block_start >= first_vad:
                    began = time.perf_counter()
                    spans = await asyncio.to_thread(detect_speech, piece, cfg.vad, max_speech_s)
                    vad_s += time.perf_counter() - began
                    shifted = [(a + block_start, b + block_start) for a, b in spans]
                    chunks = planner.add_block(shifted, block_start)
                    await self._add(group, chunks, window, done=False)
                keep = planner.keep_from(window.end) if planning else window.end
                if waiting:
                    keep = min(keep, waiting[0].start_sample)
                window.drop_before(keep)
        finally:
            if read is not None and not read.done():
                await asyncio.wait([read])
            close = getattr(blocks, "close", None)
            if close is not None:  # the decoder's file is closed even when the run stops
                await asyncio.to_thread(close)
        self.total_samples = window.end
        for record in waiting:  # planned past the end of what decoded this time
            await self._dispatch(group, record, window)
        if not planning:
            return
        await self._add(group, planner.finish(window.end), window, done=True)
        self.metrics.stage("vad", vad_s)
        if not self.planned:
            await self.store.update_job.remote(
                self.job_id, message="No speech detected", fence=self.fence
            )
        await self.store.update_job.remote(
            self.job_id, timings={"vad_s": time.perf_counter() - self.t0}, fence=self.fence
        )

    async def _add(
        self, group: asyncio.TaskGroup, chunks: list[Chunk], window: SampleWindow, done: bool
    ) -> None:
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
            await self._dispatch(group, record, window)

    async def _dispatch(
        self, group: asyncio.TaskGroup, record: ChunkRecord, window: SampleWindow
    ) -> None:
        """Send a chunk to ASR once a slot is free (the slot is the task's until it ends):
        at most ``max_inflight_chunks`` chunks' audio is held beside the window."""
        audio = window.slice(record.start_sample, record.end_sample)
        await self.semaphore.acquire()
        try:
            await self._detect_language(audio)
        except BaseException:
            self.semaphore.release()
            raise
        group.create_task(self._send(record, audio))

    async def _send(self, record: ChunkRecord, audio: np.ndarray) -> None:
        try:
            await self._transcribe(record, audio)
        finally:
            self.semaphore.release()

    async def _detect_language(self, audio: np.ndarray) -> None:
        if self.language is None:
            # Detect once, on the first chunk, so every chunk is decoded in one language;
            # retried like a chunk when its replica fails.
            async for attempt in replica_calls(
                self.config.chunk_attempts, self.config.retry_backoff_s
            ):
                with attempt:
                    self.language, _ = await self.asr.detect_language.remote(audio)
        if self.job.language != self.language:
            self.job.language = self.language
            await self.store.update_job.remote(
                self.job_id, language=self.language, fence=self.fence
            )

    async def _transcribe(self, record: ChunkRecord, audio: np.ndarray | None = None) -> None:
        """One chunk (``audio``: its samples; None: sliced from the whole array), retried
        with backoff when its replica fails (died, removed, unavailable, pushing back); an
        error in the input (``AppError``) is not retried."""
        if audio is None:
            assert self.audio.whole is not None
            audio = self.audio.whole[record.start_sample : record.end_sample]

        async def retrying(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            logger.warning("job %s chunk %d: %s; retrying", self.job_id, record.index, exc)
            self.metrics.retries.inc()
            await self.store.update_chunk.remote(self.job_id, record, fence=self.fence)

        planned = time.perf_counter()
        failure: Exception | None = None  # the ASR call's (a store error is not retried)
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
                            audio, self.language, self.decode
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
        # The ASR pass itself, and the rest of the wait: Serve's queue, batching.
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
        whole = self.audio.whole
        assert whole is not None  # the chunker decodes the whole file for diarized jobs
        duration = max(whole.shape[0] / self.sr, 1e-9)
        starting = asyncio.create_task(  # the diarizer may be scaled to zero: say so
            note_if_cold("Diarizer", 2.0, lambda: self._note(DIARIZER_STARTING))
        )
        try:
            # Voiceprints with every pass when the owner's known speakers name this job's
            # speakers live; with the final pass only otherwise (kept for later matches).
            live = await self.store.uses_known_speakers.remote(self.job_id)
            stream = self.diarizer.options(stream=True).diarize.remote(
                whole, opts.num_speakers, opts.min_speakers, opts.max_speakers, live
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
