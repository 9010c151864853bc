"""Summary jobs in the job store: their own kind, a persisted result, same transitions."""

from __future__ import annotations

import asyncio

from serve_app.jobs.model import Job, JobOptions, JobStatus
from serve_app.jobs.store import JobStore


def test_summary_jobs_persist_their_result_and_stay_out_of_the_transcription_list(tmp_path):
    db = tmp_path / "jobs.sqlite3"

    async def scenario() -> None:
        store = JobStore(f"sqlite:///{db}")
        await store.create_job(Job(job_id="t", options=JobOptions(model_name="tiny.en")))
        await store.create_job(
            Job(job_id="s", kind="summary", options=JobOptions(model_name="smollm2"))
        )
        assert [j.job_id for j in await store.list_jobs()] == ["t"]
        assert [j.job_id for j in await store.list_jobs(kind="summary")] == ["s"]
        assert len(await store.list_jobs(kind=None)) == 2
        await store.update_job("s", progress=40, message="Summarised chunk 1 of 2")
        done = await store.update_job(
            "s", status=JobStatus.COMPLETED, result={"summary": "x", "topics": ["a"]}
        )
        assert done is not None and done.progress == 100
        # A finished job accepts no further change.
        again = await store.update_job("s", status=JobStatus.COMPLETED, result={"summary": "y"})
        assert again is not None and again.result == {"summary": "x", "topics": ["a"]}

        restarted = JobStore(f"sqlite:///{db}")
        job = await restarted.get_job("s")
        assert job is not None and job.kind == "summary" and job.result is not None
        assert job.result["summary"] == "x"
        old = await restarted.get_job("t")
        assert old is not None and old.kind == "transcription" and old.result is None

    asyncio.run(scenario())


def test_a_stale_summary_job_fails_with_its_kind_in_the_message():
    async def scenario() -> None:
        store = JobStore()
        await store.create_job(Job(job_id="s", kind="summary", options=JobOptions(model_name="m")))
        job = await store.get_job("s")
        assert job is not None
        await store.sweep(job.updated_at + 901)
        job = await store.get_job("s")
        assert job is not None and job.status == JobStatus.FAILED
        assert job.message.startswith("Summary failed")

    asyncio.run(scenario())
