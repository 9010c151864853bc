import asyncio
import time

import pytest

from serve_app.jobs.model import (
    ChunkInfo,
    InvalidTransitionError,
    Job,
    JobOptions,
    JobStatus,
    check_transition,
)
from serve_app.jobs.store import JobStore
from serve_app.transcript.segments import Segment


def new_job(job_id="j1"):
    return Job(job_id=job_id, options=JobOptions(model_name="tiny.en"))


def seg(start, end, text="hi"):
    return Segment(start=start, end=end, text=text)


def run(coro):
    return asyncio.run(coro)


def test_terminal_statuses_are_final():
    check_transition(JobStatus.PROCESSING, JobStatus.COMPLETED)
    with pytest.raises(InvalidTransitionError):
        check_transition(JobStatus.COMPLETED, JobStatus.PROCESSING)
    with pytest.raises(InvalidTransitionError):
        check_transition(JobStatus.FAILED, JobStatus.COMPLETED)


def test_progress_is_monotonic_and_completion_is_100():
    async def scenario():
        store = JobStore()
        await store.create_job(new_job())
        await store.update_job("j1", progress=40)
        job = await store.update_job("j1", progress=10)
        assert job.progress == 40
        job = await store.update_job("j1", status=JobStatus.COMPLETED)
        assert job.progress == 100
        # A finished job ignores late writers.
        job = await store.update_job("j1", status=JobStatus.FAILED, message="late")
        assert job.status == JobStatus.COMPLETED and job.message != "late"

    run(scenario())


def test_unknown_job_updates_are_ignored():
    assert run(JobStore().update_job("nope", progress=3)) is None


def test_events_in_order_and_late_subscriber_gets_everything():
    async def scenario():
        store = JobStore()
        await store.create_job(new_job())
        await store.update_job(
            "j1",
            progress=50,
            segments=[seg(0, 1, "a"), seg(1, 2, "b")],
            chunk_info=ChunkInfo(current_chunk=1, total_chunks=2, chunk_progress=50),
        )
        first = await store.wait_events("j1", 0, timeout_s=0.1)
        await store.update_job("j1", segments=[seg(2, 3, "c")], status=JobStatus.COMPLETED)
        late = await store.wait_events("j1", 0, timeout_s=0.1)
        rest = await store.wait_events("j1", first.cursor, timeout_s=0.1)
        assert first.events + rest.events == late.events
        kinds = [e["type"] for e in late.events]
        texts = [e["text"] for e in late.events if e["type"] == "segment"]
        assert texts == ["a", "b", "c"]
        # segments of an update come before that update's status
        assert kinds == ["status", "segment", "segment", "status", "segment", "status"]
        assert late.finished and late.events[-1]["status"] == "completed"
        assert late.events[3]["chunk_info"] == {
            "current_chunk": 1,
            "total_chunks": 2,
            "chunk_progress": 50.0,
            "diarization_progress": None,
        }

    run(scenario())


def test_waiting_subscriber_is_woken_by_a_new_event():
    async def scenario():
        store = JobStore()
        await store.create_job(new_job())
        first = await store.wait_events("j1", 0, timeout_s=0.1)
        waiter = asyncio.create_task(store.wait_events("j1", first.cursor, timeout_s=5))
        await asyncio.sleep(0.05)
        started = time.perf_counter()
        await store.update_job("j1", segments=[seg(0, 1)])
        batch = await waiter
        assert time.perf_counter() - started < 1
        assert batch.events[0]["type"] == "segment"
        assert not batch.finished

    run(scenario())


def test_wait_times_out_with_no_events():
    async def scenario():
        store = JobStore()
        await store.create_job(new_job())
        first = await store.wait_events("j1", 0, timeout_s=0.1)
        batch = await store.wait_events("j1", first.cursor, timeout_s=0.05)
        assert batch.events == [] and batch.cursor == first.cursor

    run(scenario())


def test_unknown_job_has_no_events():
    assert run(JobStore().wait_events("nope", 0, 0.01)) is None


def test_restart_loses_nothing(tmp_path):
    db = str(tmp_path / "jobs.sqlite3")

    async def write():
        store = JobStore(db)
        await store.create_job(new_job())
        await store.update_job("j1", segments=[seg(0, 1, "a"), seg(1, 2, "b")], progress=60)
        await store.create_job(new_job("j2"))
        await store.update_job("j2", status=JobStatus.COMPLETED, language="en")

    async def read():
        store = JobStore(db)
        j1, j2 = await store.get_job("j1"), await store.get_job("j2")
        assert j1.status == JobStatus.PROCESSING and j1.progress == 60
        assert j2.status == JobStatus.COMPLETED and j2.language == "en"
        assert [s.text for s in await store.get_segments("j1")] == ["a", "b"]
        replay = await store.wait_events("j1", 0, 0.01)
        assert [e["type"] for e in replay.events] == ["segment", "segment", "status"]
        assert len(await store.list_jobs()) == 2

    run(write())
    run(read())


def test_sweep_fails_stale_jobs_and_expires_old_ones(tmp_path):
    async def scenario():
        store = JobStore(str(tmp_path / "db.sqlite3"), job_ttl_s=100, stale_after_s=10)
        await store.create_job(new_job("stale"))
        await store.create_job(new_job("old"))
        now = time.time()
        store.sweep(now + 20)
        stale = await store.get_job("stale")
        assert stale.status == JobStatus.FAILED and "no progress" in stale.message
        store.sweep(now + 1000)
        assert await store.get_job("old") is None
        assert await JobStore(str(tmp_path / "db.sqlite3")).get_job("old") is None

    run(scenario())
