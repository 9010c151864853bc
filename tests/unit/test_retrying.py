"""The retry policy for calls to other replicas (tenacity), alone and as a chunk's ASR call
in a job run. The ASR handle and the job store here are fakes (named so): what is tested is
which calls are retried, how often, after which waits, and what the chunk record says."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from deployments.chunker_job import JobContext, JobRun
from serve_app.asr.decoding import ChunkTranscript
from serve_app.config import ChunkerConfig
from serve_app.errors import InvalidRequestError
from serve_app.jobs.model import ChunkRecord, Job, JobOptions
from serve_app.retrying import MAX_WAIT_S, replica_calls


async def _call(policy: Any, fn: Any) -> Any:
    async for attempt in policy:
        with attempt:
            return await fn()


class Flaky:
    """Fails ``failures`` times with ``error``, then answers ``"ok"``."""

    def __init__(self, failures: int, error: BaseException | None = None) -> None:
        self.failures, self.calls = failures, 0
        self.error = error or ConnectionError("replica died")

    async def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return "ok"


def test_a_failing_call_is_retried_until_it_answers():
    flaky = Flaky(2)
    assert asyncio.run(_call(replica_calls(4, 0.001), flaky)) == "ok"
    assert flaky.calls == 3


def test_after_the_last_attempt_the_call_s_own_error_is_raised():
    flaky = Flaky(10)
    with pytest.raises(ConnectionError, match="replica died"):
        asyncio.run(_call(replica_calls(3, 0.001), flaky))
    assert flaky.calls == 3


@pytest.mark.parametrize("error", [InvalidRequestError("bad audio"), asyncio.CancelledError()])
def test_input_errors_and_cancellation_are_not_retried(error):
    flaky = Flaky(10, error)
    with pytest.raises(type(error)):
        asyncio.run(_call(replica_calls(4, 0.001), flaky))
    assert flaky.calls == 1


def test_waits_double_from_the_first_up_to_the_cap():
    wait = replica_calls(10, 0.5).wait
    waits = [wait(SimpleNamespace(attempt_number=n)) for n in range(1, 8)]
    assert waits == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0] and MAX_WAIT_S == 8.0


class FakeStore:
    """Records the chunk states a run reports (a fake of the job store actor's handle)."""

    def __init__(self) -> None:
        self.chunk_updates: list[tuple[str, int, str]] = []
        self.completed: list[int] = []
        self.update_chunk = SimpleNamespace(remote=self._update_chunk)
        self.complete_chunk = SimpleNamespace(remote=self._complete_chunk)

    async def _update_chunk(self, job_id: str, record: ChunkRecord, fence: int = 0) -> None:
        self.chunk_updates.append((record.state.value, record.attempts, record.error or ""))

    async def _complete_chunk(
        self, job_id: str, index: int, segments: list, fence: int = 0
    ) -> None:
        self.completed.append(index)


class FakeAsr:
    """A fake ASR deployment handle whose ``transcribe_chunk`` fails ``failures`` times."""

    def __init__(self, failures: int, error: Exception | None = None) -> None:
        flaky = Flaky(failures, error)

        async def transcribe(audio: np.ndarray, language: str, decode: Any) -> ChunkTranscript:
            await flaky()
            return ChunkTranscript(
                segments=[], language="en", language_probability=1.0, duration=1.0, transcribe_s=0.0
            )

        self.flaky = flaky
        self.transcribe_chunk = SimpleNamespace(remote=transcribe)

    def options(self, **_: Any) -> FakeAsr:
        return self


def _run(asr: FakeAsr, store: FakeStore, attempts: int) -> tuple[JobRun, ChunkRecord]:
    config = ChunkerConfig(chunk_attempts=attempts, retry_backoff_s=0.001)
    metrics = SimpleNamespace(
        retries=SimpleNamespace(count=0), chunk=lambda *a: None, stage=lambda *a: None
    )
    metrics.retries.inc = lambda: setattr(metrics.retries, "count", metrics.retries.count + 1)
    job = Job(job_id="j1", options=JobOptions(model_name="tiny.en"), language="en")
    context = JobContext(store=store, asr=asr, diarizer=None, config=config, metrics=metrics)
    run = JobRun(context, job, np.zeros(16000, dtype=np.float32), 0.0)
    record = ChunkRecord(index=0, start=0.0, end=1.0, start_sample=0, end_sample=16000)
    return run, record


def test_a_chunk_whose_replica_fails_is_retried_and_recorded():
    store, asr = FakeStore(), FakeAsr(failures=2)
    run, record = _run(asr, store, attempts=4)
    asyncio.run(run._transcribe(record))
    assert asr.flaky.calls == 3 and store.completed == [0]
    assert run.metrics.retries.count == 2
    assert [(s, n) for s, n, _ in store.chunk_updates] == [
        ("running", 1),
        ("running", 1),  # after the failure, with its error, before the wait
        ("running", 2),
        ("running", 2),
        ("running", 3),
    ]
    assert store.chunk_updates[1][2] == "attempt 1: ConnectionError: replica died"


def test_a_chunk_that_fails_every_attempt_fails_the_run_saying_how_often():
    store, asr = FakeStore(), FakeAsr(failures=10)
    run, record = _run(asr, store, attempts=3)
    with pytest.raises(RuntimeError, match=r"chunk 1 \(.*\) after 3 attempt\(s\): replica died"):
        asyncio.run(run._transcribe(record))
    assert asr.flaky.calls == 3 and store.completed == []
    assert store.chunk_updates[-1] == ("failed", 3, "attempt 3: ConnectionError: replica died")


def test_a_chunk_with_bad_input_fails_at_once():
    store, asr = FakeStore(), FakeAsr(failures=10, error=InvalidRequestError("bad audio"))
    run, record = _run(asr, store, attempts=4)
    with pytest.raises(RuntimeError, match=r"after 1 attempt\(s\): bad audio"):
        asyncio.run(run._transcribe(record))
    assert asr.flaky.calls == 1 and run.metrics.retries.count == 0
    assert store.chunk_updates[-1][:2] == ("failed", 1)


def test_a_store_error_is_not_taken_for_a_replica_failure():
    store, asr = FakeStore(), FakeAsr(failures=0)

    async def store_away(job_id: str, record: ChunkRecord, fence: int = 0) -> None:
        raise OSError("store unreachable")

    store.update_chunk = SimpleNamespace(remote=store_away)
    run, record = _run(asr, store, attempts=4)
    with pytest.raises(OSError, match="store unreachable"):
        asyncio.run(run._transcribe(record))
    assert asr.flaky.calls == 0 and run.metrics.retries.count == 0
