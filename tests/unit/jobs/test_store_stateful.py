"""The job store driven by Hypothesis through random sequences of what happens to it in
production: jobs created, chunk results (some retried, some from a runner whose lease was
taken over), diarization revisions, completions, edits, leases lapsing and taken over,
the store killed in the middle of a change, and the store restarted on its database.

After every step, for every job: no segment is lost or duplicated (the transcript is
exactly the segments of the chunks published so far, in order, with the edits made), ids
are unique, a subscriber that has followed the job since its creation (across restarts,
with its cursor) received strictly increasing seqs and holds what ``/result`` returns, and
so does a subscriber starting now. Runs on SQLite and on a real PostgreSQL.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from serve_app.client.transcript import apply_events
from serve_app.jobs.db import JobDatabase
from serve_app.jobs.leases import LeaseLostError
from serve_app.jobs.model import ChunkRecord, Job, JobOptions, JobStatus
from serve_app.jobs.store import JobStore
from serve_app.transcript.segments import Segment
from tests.services import create_database

LEASE_S = 0.02
CHUNK_S = 10.0
SETTINGS = settings(
    max_examples=30,
    stateful_step_count=30,
    deadline=None,
    database=None,  # no example database left in the tree; failures print their steps
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


class Killed(BaseException):
    """The store's process dying in the middle of a commit (nothing retries it)."""


@dataclass
class JobModel:
    """What the test knows a job must hold."""

    chunks: int
    runner: str
    fence: int
    done: dict[int, list[str]] = field(default_factory=dict)
    finished: bool = False
    final_texts: list[str] = field(default_factory=list)
    """A completed job's transcript, with the edits made to it."""
    cursor: int = 0
    followed: list[dict[str, Any]] = field(default_factory=list)
    """Every event a subscriber following the job since its creation received."""

    def expected(self) -> list[str]:
        if self.finished:
            return self.final_texts
        texts: list[str] = []
        index = 0
        while index in self.done:  # published: the chunks done without a gap before them
            texts += self.done[index]
            index += 1
        return texts


def chunk_segments(job_id: str, index: int, count: int) -> list[Segment]:
    """A chunk's ASR result (chunk-relative times), each segment's text unique."""
    return [
        Segment(start=2 * k + 0.1, end=2 * k + 1.0, text=f"{job_id} c{index} s{k}")
        for k in range(count)
    ]


class JobStoreMachine(RuleBasedStateMachine):
    database_url: str = ""  # set per backend by the test below

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.url = type(self).make_url()
        self.store = self._open()
        self.jobs: dict[str, JobModel] = {}
        self.created = 0

    @staticmethod
    def make_url() -> str:
        raise NotImplementedError

    def _open(self) -> JobStore:
        # The sweeper stays out of the way: expiry and lapses are steps of their own.
        return JobStore(self.url, lease_s=LEASE_S, max_attempts=10_000, sweep_interval_s=3600)

    def do(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        self.store.close()
        self.do(asyncio.sleep(0))  # the cancelled sweeper finishes
        self.loop.close()

    def _running(self) -> list[str]:
        return sorted(j for j, m in self.jobs.items() if not m.finished)

    # ---- rules -------------------------------------------------------------------------

    @initialize()
    def first_job(self) -> None:
        self.create(2)

    @rule(chunks=st.integers(1, 4))
    def create(self, chunks: int) -> None:
        self.created += 1
        job_id, runner = f"j{self.created}", f"r{uuid.uuid4().hex[:6]}"
        job = Job(
            job_id=job_id,
            options=JobOptions(model_name="tiny.en"),
            audio_duration=chunks * CHUNK_S,
            lease_owner=runner,
            lease_expires_at=time.time() + LEASE_S,
            attempts=1,
        )
        stored = self.do(self.store.create_job(job))
        plan = [
            ChunkRecord(index=i, start=i * CHUNK_S, end=(i + 1) * CHUNK_S) for i in range(chunks)
        ]
        self.do(self.store.add_chunks(job_id, plan, True, fence=stored.lease_fence))
        self.jobs[job_id] = JobModel(chunks, runner, stored.lease_fence)

    @precondition(lambda self: self._running())
    @rule(data=st.data(), count=st.integers(0, 3), retried=st.booleans())
    def complete_chunk(self, data: st.DataObject, count: int, retried: bool) -> None:
        job_id = data.draw(st.sampled_from(self._running()))
        model = self.jobs[job_id]
        index = data.draw(st.integers(0, model.chunks - 1))
        segments = chunk_segments(job_id, index, count)
        for _ in range(2 if retried else 1):  # a retried call changes nothing
            self.do(self.store.complete_chunk(job_id, index, segments, fence=model.fence))
        model.done.setdefault(index, [s.text for s in segments])

    @precondition(lambda self: any(self.jobs[j].fence > 1 for j in self._running()))
    @rule(data=st.data())
    def stale_runner_writes(self, data: st.DataObject) -> None:
        """A runner that lost its lease still sends what it was doing: all refused."""
        job_id = data.draw(st.sampled_from([j for j in self._running() if self.jobs[j].fence > 1]))
        model = self.jobs[job_id]
        stale = data.draw(st.integers(1, model.fence - 1))
        index = data.draw(st.integers(0, model.chunks - 1))
        writes = [
            self.store.complete_chunk(job_id, index, chunk_segments("stale", index, 1), stale),
            self.store.update_speakers(job_id, [], True, fence=stale),
            self.store.update_job(job_id, status=JobStatus.FAILED, fence=stale),
        ]
        for write in writes:
            with pytest.raises(LeaseLostError):
                self.do(write)

    @precondition(lambda self: self._running())
    @rule(data=st.data(), final=st.booleans())
    def diarization_pass(self, data: st.DataObject, final: bool) -> None:
        job_id = data.draw(st.sampled_from(self._running()))
        model = self.jobs[job_id]
        cuts = sorted(data.draw(st.sets(st.integers(1, model.chunks * 10 - 1), max_size=4)))
        bounds = [0, *cuts, model.chunks * 10]
        labels = data.draw(
            st.lists(st.sampled_from("abc"), min_size=len(bounds) - 1, max_size=len(bounds) - 1)
        )
        turns = [
            {"start": float(a), "end": float(b), "speaker": label, "confidence": 0.9}
            for a, b, label in zip(bounds[:-1], bounds[1:], labels, strict=True)
        ]
        self.do(self.store.update_speakers(job_id, turns, final, fence=model.fence))

    @precondition(
        lambda self: any(len(self.jobs[j].done) == self.jobs[j].chunks for j in self._running())
    )
    @rule(data=st.data())
    def complete_job(self, data: st.DataObject) -> None:
        ready = [j for j in self._running() if len(self.jobs[j].done) == self.jobs[j].chunks]
        job_id = data.draw(st.sampled_from(ready))
        model = self.jobs[job_id]
        self.do(self.store.update_job(job_id, status=JobStatus.COMPLETED, fence=model.fence))
        model.final_texts, model.finished = model.expected(), True

    @precondition(lambda self: any(m.finished and m.final_texts for m in self.jobs.values()))
    @rule(data=st.data())
    def edit_segment(self, data: st.DataObject) -> None:
        job_id = data.draw(
            st.sampled_from(sorted(j for j, m in self.jobs.items() if m.finished and m.final_texts))
        )
        model = self.jobs[job_id]
        job = self.do(self.store.get_job(job_id))
        segments = self.do(self.store.get_segments(job_id))
        position = data.draw(st.integers(0, len(segments) - 1))
        text = f"edited {job.transcript_version}"
        self.do(
            self.store.edit_segment(
                job_id, job.transcript_version, segments[position].id, text=text
            )
        )
        model.final_texts[position] = text

    @precondition(lambda self: self._running())
    @rule()
    def leases_lapse_and_are_taken_over(self) -> None:
        """Every runner stalls past its lease; the dispatcher hands each job to a new one."""
        time.sleep(LEASE_S * 1.5)
        for job_id, token in self.do(self.store.lapsed_jobs(limit=100)):
            runner = f"r{uuid.uuid4().hex[:6]}"
            job = self.do(self.store.claim(job_id, runner, token))
            assert job is not None and job.lease_fence > self.jobs[job_id].fence
            self.jobs[job_id].runner, self.jobs[job_id].fence = runner, job.lease_fence

    @rule()
    def restart(self) -> None:
        self.store.close()
        self.store = self._open()

    def _undone(self) -> list[str]:
        return [j for j in self._running() if len(self.jobs[j].done) < self.jobs[j].chunks]

    @precondition(lambda self: self._undone())
    @rule(data=st.data(), count=st.integers(1, 3))
    def killed_mid_change(self, data: st.DataObject, count: int) -> None:
        """The store dies while committing a chunk result; its replacement reloads the
        database and Ray retries the call."""
        job_id = data.draw(st.sampled_from(self._undone()))
        model = self.jobs[job_id]
        undone = [i for i in range(model.chunks) if i not in model.done]
        index = data.draw(st.sampled_from(undone))
        segments = chunk_segments(job_id, index, count)
        save_job = JobDatabase.save_job

        def dies(db: JobDatabase, job: Job) -> None:
            raise Killed()

        JobDatabase.save_job = dies  # type: ignore[method-assign]
        try:
            with pytest.raises(Killed):
                self.do(self.store.complete_chunk(job_id, index, segments, fence=model.fence))
        finally:
            JobDatabase.save_job = save_job  # type: ignore[method-assign]
        self.restart()
        self.do(self.store.complete_chunk(job_id, index, segments, fence=model.fence))
        model.done.setdefault(index, [s.text for s in segments])

    # ---- invariants --------------------------------------------------------------------

    @invariant()
    def every_segment_once_and_every_replay_equal_to_the_result(self) -> None:
        for job_id, model in self.jobs.items():
            result = self.do(self.store.get_segments(job_id))
            assert [s.text for s in result] == model.expected(), job_id
            ids = [s.id for s in result]
            assert len(set(ids)) == len(ids), ids
            public = [s.to_public() for s in result]

            batch = self.do(self.store.wait_events(job_id, model.cursor, 0))
            seqs = [e["seq"] for e in batch.events]
            assert all(s > model.cursor for s in seqs) and seqs == sorted(set(seqs)), seqs
            model.followed += batch.events
            model.cursor = batch.cursor
            assert apply_events(model.followed) == public, job_id

            late = self.do(self.store.wait_events(job_id, 0, 0))
            assert apply_events(late.events) == public, job_id
            job = self.do(self.store.get_job(job_id))
            assert job.finished == model.finished
            assert late.finished == model.finished == batch.finished


def sqlite_url() -> str:
    return f"sqlite:///{tempfile.mkdtemp(prefix='store-stateful-')}/jobs.sqlite3"


def test_the_store_on_sqlite() -> None:
    machine = type("OnSQLite", (JobStoreMachine,), {"make_url": staticmethod(sqlite_url)})
    run_state_machine_as_test(machine, settings=SETTINGS)


def test_the_store_on_postgresql(postgres_server_url: str) -> None:
    def fresh() -> str:
        return create_database(postgres_server_url)

    machine = type("OnPostgreSQL", (JobStoreMachine,), {"make_url": staticmethod(fresh)})
    run_state_machine_as_test(machine, settings=SETTINGS)
