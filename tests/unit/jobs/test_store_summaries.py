"""Summary jobs held by the assistant replica running them: a lease it renews while the
job runs (however long one LLM call takes); when the replica stops (handing the job back)
or dies (the lease lapses), another replica takes the job up from its kept request, and a
job nobody takes up fails, saying why. The job store is the real one, in-process; the
LLM is a fake (named so) that answers when the test lets it."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import Any

import pytest

import deployments.assistant as assistant_module
from deployments.assistant import TranscriptAssistant
from serve_app.config import AppConfig
from serve_app.jobs.model import JobStatus
from serve_app.jobs.store import JobStore
from serve_app.llm.schemas import ContextInfo, SummaryRequest, SummaryResult, TranscriptLine
from tests.unit.jobs.test_store_runner import InProcessStore


class FakeSlowLLM:
    """Stands in for the summariser's LLM calls: returns only when ``answer`` is set."""

    def __init__(self) -> None:
        self.answer = asyncio.Event()


@pytest.fixture
def assistant(monkeypatch: pytest.MonkeyPatch) -> tuple[TranscriptAssistant, JobStore]:
    store = JobStore(lease_s=2000)
    monkeypatch.setattr(assistant_module, "connect_job_store", lambda _: InProcessStore(store))
    monkeypatch.setattr(assistant_module, "lower_priority", lambda _: None)
    config = AppConfig.model_validate({"job_store": {"lease_s": 2000}})
    return TranscriptAssistant({}, config), store


def _slow(assistant: TranscriptAssistant, llm: FakeSlowLLM) -> None:
    model = SimpleNamespace(name="fake-llm")

    async def summarise(*args: Any) -> Any:
        await llm.answer.wait()
        raise RuntimeError("the fake LLM gives no summary")

    assistant._resolve = lambda name: (model, llm)  # type: ignore[assignment,method-assign,return-value]
    assistant._summarise = summarise  # type: ignore[method-assign]


# Outside Serve, the garbage collector calls the replica's async __del__ without awaiting it.
pytestmark = pytest.mark.filterwarnings("ignore:coroutine .*__del__. was never awaited")

REQUEST = SummaryRequest(transcript=[TranscriptLine(start=0, end=1, text="Hello.")])


def test_a_slow_summary_is_not_swept_while_its_replica_holds_it(assistant):
    replica, store = assistant

    async def scenario() -> None:
        llm = FakeSlowLLM()
        _slow(replica, llm)
        job = await replica.submit_summary(REQUEST)
        await store.sweep(time.time() + 1000)  # no progress for longer than the old limit
        assert (await store.get_job(job.job_id)).status == JobStatus.PROCESSING
        llm.answer.set()
        await asyncio.gather(*replica._tasks)
        done = await store.get_job(job.job_id)
        assert done.status == JobStatus.FAILED and "fake LLM" in done.message

    asyncio.run(scenario())


def _replica(store: JobStore, lease_s: float = 2000) -> TranscriptAssistant:
    """Another assistant replica on the same store (a restarted one, or a second one)."""
    config = AppConfig.model_validate({"job_store": {"lease_s": lease_s}})
    return TranscriptAssistant({}, config)


class FakeAnsweringLLM:
    """Stands in for the summariser's LLM calls: a fixed summary, and the requests seen."""

    def __init__(self) -> None:
        self.requests: list[SummaryRequest] = []


def _answering(assistant: TranscriptAssistant, llm: FakeAnsweringLLM) -> None:
    model = SimpleNamespace(name="fake-llm")

    async def summarise(job_id: str, req: SummaryRequest, *args: Any) -> SummaryResult:
        llm.requests.append(req)
        return SummaryResult(
            summary="Hello was said.",
            topics=[],
            length=3,
            model_used="fake-llm",
            format=req.format,
            context=ContextInfo(
                strategy="full",
                total_segments=1,
                used_segments=1,
                transcript_tokens=3,
                context_window=2048,
            ),
        )

    assistant._resolve = lambda name: (model, llm)  # type: ignore[assignment,method-assign,return-value]
    assistant._summarise = summarise  # type: ignore[method-assign,assignment]


def test_a_summary_whose_replica_stops_is_taken_up_by_another_and_completes(assistant):
    replica, store = assistant

    async def scenario() -> None:
        _slow(replica, FakeSlowLLM())
        request = REQUEST.model_copy(update={"format": "bullet_points", "max_length": 50})
        job = await replica.submit_summary(request)
        await asyncio.sleep(0.01)
        await replica.__del__()  # Serve shuts the replica down: the job is handed back
        paused = await store.get_job(job.job_id)
        assert paused.status == JobStatus.PROCESSING and paused.lease_owner is None
        assert "paused" in paused.message
        await store.sweep(time.time() + 60)  # not failed: it can be taken up
        assert (await store.get_job(job.job_id)).status == JobStatus.PROCESSING

        successor, llm = _replica(store), FakeAnsweringLLM()
        _answering(successor, llm)
        assert await successor._summaries.dispatch_once() == 1
        await asyncio.gather(*successor._tasks)
        done = await store.get_job(job.job_id)
        assert done.status == JobStatus.COMPLETED and done.attempts == 2, done.message
        assert done.result is not None and done.result["summary"] == "Hello was said."
        assert llm.requests == [request]  # the request kept with the job, as sent

    asyncio.run(scenario())


def test_a_summary_whose_replica_died_is_taken_up_once_its_lease_lapses(monkeypatch):
    store = JobStore(lease_s=0.3)
    monkeypatch.setattr(assistant_module, "connect_job_store", lambda _: InProcessStore(store))
    monkeypatch.setattr(assistant_module, "lower_priority", lambda _: None)

    async def scenario() -> None:
        dead = _replica(store, lease_s=0.3)
        _slow(dead, FakeSlowLLM())
        job = await dead.submit_summary(REQUEST)
        await asyncio.sleep(0.01)

        async def no_goodbye(*args: Any) -> None:  # a killed process writes nothing
            raise ConnectionError("the replica is gone")

        dead._summaries._hand_back = no_goodbye  # type: ignore[method-assign]
        for task in list(dead._tasks):  # its runs stop, its lease is no longer renewed
            task.cancel()
        await asyncio.gather(*dead._tasks, return_exceptions=True)
        successor, llm = _replica(store, lease_s=0.3), FakeAnsweringLLM()
        _answering(successor, llm)
        assert await successor._summaries.dispatch_once() == 0  # still leased to the dead one
        await asyncio.sleep(0.4)
        await store.sweep(time.time())
        assert (await store.get_job(job.job_id)).status == JobStatus.PROCESSING
        assert await successor._summaries.dispatch_once() == 1
        await asyncio.gather(*successor._tasks)
        assert (await store.get_job(job.job_id)).status == JobStatus.COMPLETED

    asyncio.run(scenario())


def test_a_summary_nobody_takes_up_fails_saying_why(assistant):
    replica, store = assistant

    async def scenario() -> None:
        _slow(replica, FakeSlowLLM())
        job = await replica.submit_summary(REQUEST)
        await asyncio.sleep(0.01)
        await replica.__del__()  # handed back, and no assistant replica runs any more
        now = time.time()
        await store.sweep(now + 600)
        assert (await store.get_job(job.job_id)).status == JobStatus.PROCESSING
        await store.sweep(now + 1000)
        failed = await store.get_job(job.job_id)
        assert failed.status == JobStatus.FAILED and "no replica took it up" in failed.message

        # A job stored by an older version kept no request: it fails when its lease lapses.
        old = await replica.submit_summary(REQUEST)
        store._jobs[old.job_id].job.request = None
        held = await store.get_job(old.job_id)
        await store.sweep(held.lease_expires_at + 1)
        swept = await store.get_job(old.job_id)
        assert swept.status == JobStatus.FAILED and "lease lapsed" in swept.message

    asyncio.run(scenario())


def test_a_resumed_summary_whose_model_is_gone_fails_with_the_reason(assistant):
    replica, store = assistant

    async def scenario() -> None:
        _slow(replica, FakeSlowLLM())
        job = await replica.submit_summary(REQUEST)
        await asyncio.sleep(0.01)
        await replica.__del__()
        successor = _replica(store)  # serves no LLM at all
        assert await successor._summaries.dispatch_once() == 1
        await asyncio.gather(*successor._tasks)
        failed = await store.get_job(job.job_id)
        assert failed.status == JobStatus.FAILED and "when resumed" in failed.message
        assert "fake-llm" in failed.message

    asyncio.run(scenario())
