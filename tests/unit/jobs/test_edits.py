"""Versioned transcript edits in the job store: conflicts, retries, persistence."""

import asyncio

import pytest

from serve_app.errors import (
    InvalidRequestError,
    JobNotFinishedError,
    JobNotFoundError,
    SegmentNotFoundError,
    VersionConflictError,
)
from serve_app.jobs.model import Job, JobOptions, JobStatus
from serve_app.jobs.store import JobStore
from serve_app.transcript.segments import Segment


def segments():
    return [
        Segment(start=0, end=1, text="one", speaker="SPEAKER_1"),
        Segment(start=1, end=2, text="two", speaker="SPEAKER_2"),
    ]


async def completed(store, job_id="j1"):
    await store.create_job(Job(job_id=job_id, options=JobOptions(model_name="tiny.en")))
    await store.update_job(job_id, status=JobStatus.COMPLETED, segments=segments())


def test_edits_advance_the_version_and_a_stale_one_is_refused():
    async def scenario():
        store = JobStore()
        await completed(store)
        edit = await store.edit_segment("j1", 0, "0", text="ONE")
        assert edit.version == 1 and edit.segments[0].text == "ONE"
        edit = await store.rename_speakers("j1", 1, {"SPEAKER_2": "Bob"})
        assert edit.version == 2 and [s.speaker for s in edit.segments] == ["SPEAKER_1", "Bob"]
        with pytest.raises(VersionConflictError, match=r"version 2.*version 0"):
            await store.edit_segment("j1", 0, "1", text="changed")
        stored = await store.get_segments("j1")
        assert [s.text for s in stored] == ["ONE", "two"]
        assert (await store.get_job("j1")).transcript_version == 2

    asyncio.run(scenario())


def test_the_same_edit_retried_is_not_a_conflict():
    async def scenario():
        store = JobStore()
        await completed(store)
        first = await store.edit_segment("j1", 0, "1", speaker="Ann")
        again = await store.edit_segment("j1", 0, "1", speaker="Ann")
        assert first.version == again.version == 1
        with pytest.raises(VersionConflictError):
            await store.edit_segment("j1", 0, "1", speaker="Someone else")

    asyncio.run(scenario())


def test_edits_are_refused_with_the_reason():
    async def scenario():
        store = JobStore()
        await store.create_job(Job(job_id="run", options=JobOptions(model_name="tiny.en")))
        with pytest.raises(JobNotFinishedError, match="processing"):
            await store.edit_segment("run", 0, "0", text="x")
        with pytest.raises(JobNotFoundError):
            await store.edit_segment("nope", 0, "0", text="x")
        await completed(store)
        with pytest.raises(SegmentNotFoundError):
            await store.edit_segment("j1", 0, "7", text="x")
        with pytest.raises(InvalidRequestError):
            await store.rename_speakers("j1", 0, {"SPEAKER_5": "x"})
        assert (await store.get_job("j1")).transcript_version == 0

    asyncio.run(scenario())


def test_edits_survive_a_store_restart(tmp_path):
    url = f"sqlite:///{tmp_path / 'jobs.sqlite3'}"

    async def before():
        store = JobStore(url)
        await completed(store)
        await store.edit_segment("j1", 0, "0", text="edited", speaker="Alice")

    async def after():
        store = JobStore(url)
        assert (await store.get_job("j1")).transcript_version == 1
        stored = await store.get_segments("j1")
        assert (stored[0].text, stored[0].speaker) == ("edited", "Alice")
        assert (await store.rename_speakers("j1", 1, {"Alice": "Ann"})).version == 2

    asyncio.run(before())
    asyncio.run(after())
