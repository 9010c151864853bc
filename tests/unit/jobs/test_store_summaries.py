"""Summary jobs held by the assistant replica running them: a lease it renews while the
job runs (however long one LLM call takes), failed by the store once the replica is gone
and at once when the replica shuts down. The job store is the real one, in-process; the
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
from serve_app.llm.schemas import SummaryRequest, TranscriptLine
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


def test_summaries_of_a_replica_that_stops_are_failed_not_left_processing(assistant):
    replica, store = assistant

    async def scenario() -> None:
        _slow(replica, FakeSlowLLM())
        job = await replica.submit_summary(REQUEST)
        await asyncio.sleep(0.01)
        await replica.__del__()  # Serve shuts the replica down
        stopped = await store.get_job(job.job_id)
        assert stopped.status == JobStatus.FAILED and "replica" in stopped.message

        # A replica that dies says no goodbye: its lease (2000 s here) is not renewed.
        lost = await replica.submit_summary(REQUEST)
        held = await store.get_job(lost.job_id)
        await store.sweep(held.lease_expires_at + 1)
        swept = await store.get_job(lost.job_id)
        assert swept.status == JobStatus.FAILED and "lease lapsed" in swept.message

    asyncio.run(scenario())
