"""A job run (``deployments.chunker_job.JobRun``) against the real job store, in-process
and called the way its actor handle is; the ASR deployment is a fake (named so), as no
model is needed to test what the run sends to the store."""

from __future__ import annotations

import asyncio
import copy
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from deployments.chunker_job import JobContext, JobRun
from serve_app.asr.decoding import ChunkTranscript
from serve_app.config import ChunkerConfig
from serve_app.jobs.leases import LeaseLostError
from serve_app.jobs.model import ChunkRecord, Job, JobOptions
from serve_app.jobs.store import JobStore
from serve_app.transcript.segments import Segment
from tests.waiting import await_until

SR = 16000


class InProcessStore:
    """The real ``JobStore``, called like its actor handle: ``store.method.remote(...)``,
    arguments and results copied as a handle's are."""

    def __init__(self, store: JobStore) -> None:
        self.store = store

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.store, name)

        async def remote(*args: Any, **kwargs: Any) -> Any:
            args, kwargs = copy.deepcopy((args, kwargs))
            return copy.deepcopy(await method(*args, **kwargs))

        return SimpleNamespace(remote=remote)


class FakeAsr:
    """A fake ASR handle: ``detect_language`` fails ``detect_failures`` times (its replica
    died), then says English; every chunk is one segment, "chunk <index>"."""

    def __init__(self, detect_failures: int = 0) -> None:
        self.detect_calls = 0
        self.detect_failures = detect_failures
        self.detect_language = SimpleNamespace(remote=self._detect)
        self.transcribe_chunk = SimpleNamespace(remote=self._transcribe)

    def options(self, **_: Any) -> FakeAsr:
        return self

    async def _detect(self, audio: np.ndarray) -> tuple[str, float]:
        self.detect_calls += 1
        if self.detect_calls <= self.detect_failures:
            raise ConnectionError("replica died")
        return "en", 0.99

    async def _transcribe(self, audio: np.ndarray, language: str, decode: Any) -> ChunkTranscript:
        index = int(audio[0])
        segment = Segment(start=0.1, end=0.9, text=f"chunk {index}")
        return ChunkTranscript(
            segments=[segment],
            language=language,
            language_probability=1.0,
            duration=1.0,
            transcribe_s=0.0,
        )


def _metrics() -> Any:
    noop = SimpleNamespace(inc=lambda *a, **k: None)
    return SimpleNamespace(retries=noop, chunk=lambda *a: None, stage=lambda *a: None)


async def _planned(store: JobStore, chunks: int) -> Job:
    """Job j1 with its plan stored: ``chunks`` one-second chunks, audio sample = index."""
    job = Job(job_id="j1", options=JobOptions(model_name="small", diarize=False))
    await store.create_job(job)
    records = [
        ChunkRecord(index=i, start=i, end=i + 1, start_sample=i * SR, end_sample=(i + 1) * SR)
        for i in range(chunks)
    ]
    await store.add_chunks("j1", records, planning_done=True)
    return job


def _run(store: JobStore, asr: FakeAsr, job: Job, chunks: int) -> JobRun:
    config = ChunkerConfig(chunk_attempts=3, retry_backoff_s=0.001)
    context = JobContext(InProcessStore(store), asr, None, config, _metrics())
    audio = np.repeat(np.arange(chunks, dtype=np.float32), SR)
    return JobRun(context, job, audio, 0.0)


def test_language_detection_is_retried_like_a_chunk():
    async def scenario():
        store = JobStore()
        await _planned(store, 2)
        job = (await store.claim("j1", "r1")).model_copy(deep=True)
        asr = FakeAsr(detect_failures=2)
        await _run(store, asr, job, 2).execute()
        assert asr.detect_calls == 3
        assert (await store.get_job("j1")).language == "en"
        assert [s.text for s in await store.get_segments("j1")] == ["chunk 0", "chunk 1"]

    asyncio.run(scenario())


def test_a_run_whose_lease_was_taken_over_stops_and_changes_nothing():
    async def scenario():
        store = JobStore(lease_s=0.05)
        await _planned(store, 2)
        stale = (await store.claim("j1", "r1")).model_copy(deep=True)
        # r1 stalls past its lease
        ((_, token),) = await await_until(store.lapsed_jobs, timeout=5, what="r1's lease to lapse")
        assert (await store.claim("j1", "r2", token)).lease_fence > stale.lease_fence
        asr = FakeAsr()
        with pytest.raises(ExceptionGroup) as caught:
            await _run(store, asr, stale, 2).execute()
        assert all(isinstance(e, LeaseLostError) for e in caught.value.exceptions)
        assert await store.get_segments("j1") == [] and await store.chunk_results("j1") == {}
        job = await store.get_job("j1")
        assert job.lease_owner == "r2" and job.language is None

    asyncio.run(scenario())
