"""A job run that reads its audio as a decoded stream (``JobAudio`` over
``serve_app.audio.stream.decoded_blocks``) plans the same chunks, and sends ASR the same
samples, as planning over the whole decoded array did; it holds a window of a few chunks,
never the file. Real speech (espeak-ng), real silero VAD and the real job store in-process;
the ASR handle is a fake (named so) that records what it was sent."""

from __future__ import annotations

import asyncio
import hashlib
import tracemalloc
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from deployments.chunker_job import JobAudio, JobContext, JobRun
from eval.speech import encode, long_speech
from serve_app.asr.decoding import ChunkTranscript
from serve_app.audio.chunking import Chunk, IncrementalPlanner
from serve_app.audio.decode import decode_audio
from serve_app.audio.stream import decoded_blocks
from serve_app.audio.vad import detect_speech
from serve_app.config import ChunkerConfig
from serve_app.jobs.model import ChunkRecord, Job, JobOptions
from serve_app.jobs.store import JobStore
from serve_app.transcript.segments import Segment
from tests.unit.jobs.test_store_runner import InProcessStore

SR = 16000
MB = 1 << 20
# Short blocks and chunks, so that a few minutes of speech make many of both.
CONFIG = ChunkerConfig(
    vad_block_s=10.0, chunk_length_s=10.0, first_chunk_s=4.0, max_inflight_chunks=2
)


class RecordingFakeAsr:
    """A fake ASR handle: answers every chunk with one segment and records a digest of the
    samples it was sent (no model is needed to check what a run sends)."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str]] = []
        self.transcribe_chunk = SimpleNamespace(remote=self._transcribe)

    def options(self, **_: Any) -> RecordingFakeAsr:
        return self

    async def _transcribe(self, audio: np.ndarray, language: str, decode: Any) -> ChunkTranscript:
        self.sent.append(_digest(audio))
        await asyncio.sleep(0.001)  # let decoding run ahead, as far as the slots allow
        return ChunkTranscript(
            segments=[Segment(start=0.0, end=0.5, text=f"{audio.size}")],
            language=language,
            language_probability=1.0,
            duration=audio.size / SR,
            transcribe_s=1e-4,  # > 0: the chunker's metrics count it
        )


def _digest(audio: np.ndarray) -> tuple[int, str]:
    return audio.size, hashlib.sha1(np.ascontiguousarray(audio, np.float32).tobytes()).hexdigest()


def _metrics() -> Any:
    noop = SimpleNamespace(inc=lambda *a, **k: None)
    return SimpleNamespace(retries=noop, chunk=lambda *a: None, stage=lambda *a: None)


def whole_array_plan(audio: np.ndarray, start: int = 0, first_index: int = 0) -> list[Chunk]:
    """The plan as the run made it over the whole decoded array (the code before streaming):
    VAD per aligned block of the array, chunks from the incremental planner."""
    max_speech_s = CONFIG.chunk_length_s - 2 * CONFIG.vad.speech_pad_ms / 1000
    planner = IncrementalPlanner(
        audio.shape[0],
        int(CONFIG.chunk_length_s * SR),
        join_samples=int(CONFIG.vad.speech_pad_ms / 1000 * SR) + 1,
        start=start,
        first_index=first_index,
        first_chunk_samples=int(CONFIG.first_chunk_s * SR),  # type: ignore[operator]
    )
    block = int(CONFIG.vad_block_s * SR)
    chunks: list[Chunk] = []
    for block_start in range(start - start % block, audio.shape[0], block):
        spans = detect_speech(audio[block_start : block_start + block], CONFIG.vad, max_speech_s)
        shifted = [(a + block_start, b + block_start) for a, b in spans]
        chunks += planner.add_block(shifted, block_start)
    return chunks + planner.finish()


def _record(chunk: Chunk) -> ChunkRecord:
    return ChunkRecord(
        index=chunk.index,
        start=chunk.start_s(SR),
        end=chunk.end_s(SR),
        start_sample=chunk.start,
        end_sample=chunk.end,
    )


@pytest.fixture(scope="module")
def speech_file() -> tuple[bytes, np.ndarray]:
    audio, _ = long_speech(3.0)
    data = encode(audio, "ogg")  # a compressed upload: decoded, then resampled to 16 kHz
    return data, decode_audio(data)


async def _run(store: JobStore, job: Job, data: bytes) -> tuple[JobRun, RecordingFakeAsr]:
    asr = RecordingFakeAsr()
    context = JobContext(InProcessStore(store), asr, None, CONFIG, _metrics())
    claimed = await store.claim(job.job_id, "r1")
    assert claimed is not None
    run = JobRun(context, claimed.model_copy(deep=True), JobAudio(_stream(data)), 0.0)
    await run.execute()
    return run, asr


def _stream(data: bytes) -> Any:
    return lambda size: decoded_blocks(data, size)


def _job(audio: np.ndarray) -> Job:
    return Job(
        job_id="j1",
        options=JobOptions(model_name="small", diarize=False),
        language="en",
        audio_duration=audio.shape[0] / SR,
    )


def test_a_streamed_run_plans_and_sends_what_the_whole_array_run_did(speech_file):
    data, audio = speech_file
    expected = whole_array_plan(audio)
    assert len(expected) >= 12  # 3 min of speech in 10 s chunks

    async def scenario() -> None:
        store = JobStore()
        await store.create_job(_job(audio))
        tracemalloc.start()
        try:
            run, asr = await _run(store, _job(audio), data)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        job = await store.get_job("j1")
        assert [(c.start_sample, c.end_sample) for c in job.chunks] == [
            (c.start, c.end) for c in expected
        ]
        assert sorted(asr.sent) == sorted(_digest(audio[c.start : c.end]) for c in expected)
        assert run.total_samples == audio.shape[0] and job.planning_done
        # Held at once: a window of about two chunks and a VAD block, while the file's
        # decoded audio is 11 MiB; with the chunks in flight and the decoder, well under it.
        chunk_bytes = int(CONFIG.chunk_length_s * SR) * 4
        assert run.peak_window_bytes <= 2 * chunk_bytes + int(CONFIG.vad_block_s * SR) * 4
        assert peak < audio.nbytes / 2, (peak / MB, audio.nbytes / MB)

    asyncio.run(scenario())


def test_a_resumed_streamed_run_sends_the_chunks_left_and_plans_on_where_it_stopped(speech_file):
    data, audio = speech_file
    first = whole_array_plan(audio)[:4]
    rest = whole_array_plan(audio, start=first[-1].end, first_index=len(first))

    async def scenario() -> None:
        store = JobStore()
        await store.create_job(_job(audio))
        await store.add_chunks("j1", [_record(c) for c in first], False)
        await store.complete_chunk("j1", 1, [Segment(start=0.0, end=0.5, text="done")])
        _, asr = await _run(store, _job(audio), data)
        job = await store.get_job("j1")
        assert [(c.start_sample, c.end_sample) for c in job.chunks] == [
            (c.start, c.end) for c in first + rest
        ]
        left = [first[0], first[2], first[3], *rest]  # chunk 1 was done before the restart
        assert sorted(asr.sent) == sorted(_digest(audio[c.start : c.end]) for c in left)

    asyncio.run(scenario())


def test_a_streamed_run_that_is_cancelled_stops_as_cancelled_and_closes_its_decoder(speech_file):
    data, audio = speech_file
    closed: list[bool] = []

    def blocks(size: int) -> Any:
        try:
            yield from decoded_blocks(data, size)
        finally:
            closed.append(True)

    async def scenario() -> None:
        store = JobStore()
        await store.create_job(_job(audio))
        claimed = await store.claim("j1", "r1")
        asr = RecordingFakeAsr()
        context = JobContext(InProcessStore(store), asr, None, CONFIG, _metrics())
        run = JobRun(context, claimed.model_copy(deep=True), JobAudio(blocks), 0.0)
        task = asyncio.create_task(run.execute())
        while len(asr.sent) < 2:
            await asyncio.sleep(0.01)
        task.cancel()  # the replica shuts down mid-way
        with pytest.raises(asyncio.CancelledError):
            await task
        assert closed == [True]
        assert 0 < len((await store.get_job("j1")).chunks) < len(whole_array_plan(audio))

    asyncio.run(scenario())
