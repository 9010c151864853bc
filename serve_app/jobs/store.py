"""Job state, progress, segments so far, and the subscriber side of live streaming.

:class:`JobStore` is plain Python; ``deployments/job_store.py`` runs it as a detached named
Ray actor. Every method is ``async`` because the actor is an asyncio actor and waiting
subscribers share its event loop with the writers. Audio never enters it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from pydantic import BaseModel

from serve_app.jobs.db import JobDatabase
from serve_app.jobs.model import ChunkInfo, ChunkRecord, Job, JobStatus, check_transition
from serve_app.transcript.segments import Segment

SWEEP_INTERVAL_S = 30.0


class EventBatch(BaseModel):
    """Events after a cursor, the next cursor, and whether the job is over."""

    events: list[dict[str, Any]]
    cursor: int
    finished: bool


class _JobEntry:
    __slots__ = ("events", "job", "segments", "signal")

    def __init__(self, job: Job, segments: list[Segment] | None = None) -> None:
        self.job = job
        self.segments: list[Segment] = segments or []
        self.events: list[dict[str, Any]] = []
        self.signal: asyncio.Event | None = None


class JobStore:
    """In-memory job table with SQLite write-through and long-poll event streams."""

    def __init__(
        self,
        db_path: str | None = None,
        job_ttl_s: float = 24 * 3600,
        stale_after_s: float = 900,
    ) -> None:
        self._db = JobDatabase(db_path) if db_path else None
        self._ttl_s = job_ttl_s
        self._stale_after_s = stale_after_s
        self._jobs: dict[str, _JobEntry] = {}
        self._last_sweep = 0.0
        if self._db:
            for job, segments in self._db.load_all():
                entry = _JobEntry(job, segments)
                # A restarted store replays what it has: the segments, then the latest status.
                entry.events = [{"type": "segment", **s.to_public()} for s in segments]
                entry.events.append(job.status_event())
                self._jobs[job.job_id] = entry

    # ---- writers -------------------------------------------------------------------------

    async def create_job(self, job: Job) -> None:
        if job.job_id in self._jobs:
            raise ValueError(f"job {job.job_id} already exists")
        entry = _JobEntry(job)
        entry.events.append(job.status_event())
        self._jobs[job.job_id] = entry
        self._persist(entry)
        self._sweep_if_due()

    async def update_job(
        self,
        job_id: str,
        *,
        status: JobStatus | None = None,
        message: str | None = None,
        progress: float | None = None,
        chunk_info: ChunkInfo | None = None,
        chunks: list[ChunkRecord] | None = None,
        language: str | None = None,
        audio_duration: float | None = None,
        timings: dict[str, float] | None = None,
        segments: list[Segment] | None = None,
        result: dict[str, Any] | None = None,
    ) -> Job | None:
        """Apply one change atomically: new segments are published before the new status.

        Returns the updated job, or ``None`` if it does not exist (expired or deleted).
        A finished job accepts no further change, so a late writer cannot resurrect it.
        """
        entry = self._jobs.get(job_id)
        if entry is None:
            return None
        job = entry.job
        if job.finished:
            return job
        if status is not None:
            check_transition(job.status, status)
            job.status = status
        if message is not None:
            job.message = message
        if progress is not None:
            job.progress = min(100.0, max(job.progress, progress))
        if job.status == JobStatus.COMPLETED:
            job.progress = 100.0
        if chunk_info is not None:
            job.chunk_info = chunk_info
        if chunks is not None:
            job.chunks = chunks
        if language is not None:
            job.language = language
        if audio_duration is not None:
            job.audio_duration = audio_duration
        if timings:
            job.timings.update(timings)
        if result is not None:
            job.result = result
        job.updated_at = time.time()
        if segments:
            first = len(entry.segments)
            entry.segments.extend(segments)
            entry.events.extend({"type": "segment", **s.to_public()} for s in segments)
            if self._db:
                self._db.append_segments(job_id, first, segments)
        entry.events.append(job.status_event())
        self._persist(entry)
        self._notify(entry)
        return job

    async def update_chunk(self, job_id: str, chunk: ChunkRecord) -> None:
        """Record a chunk's state for the debug view; publishes nothing to subscribers."""
        entry = self._jobs.get(job_id)
        if entry is None or entry.job.finished:
            return
        chunks = entry.job.chunks
        if 0 <= chunk.index < len(chunks):
            chunks[chunk.index] = chunk
            entry.job.updated_at = time.time()
            self._persist(entry)

    async def replace_segments(self, job_id: str, segments: list[Segment]) -> bool:
        """Correct a job's stored transcript (e.g. a re-transcribed segment applied to it).

        Subscribers that connect later replay the original live events; the result and
        exports read the corrected segments.
        """
        entry = self._jobs.get(job_id)
        if entry is None:
            return False
        entry.segments = list(segments)
        entry.job.updated_at = time.time()
        if self._db:
            self._db.replace_segments(job_id, entry.segments)
        self._persist(entry)
        return True

    # ---- readers -------------------------------------------------------------------------

    async def get_job(self, job_id: str) -> Job | None:
        entry = self._jobs.get(job_id)
        return entry.job if entry else None

    async def get_segments(self, job_id: str) -> list[Segment] | None:
        entry = self._jobs.get(job_id)
        return list(entry.segments) if entry else None

    async def list_jobs(self, kind: str | None = "transcription") -> list[Job]:
        """Jobs of one kind (``None``: all), oldest first."""
        self._sweep_if_due()
        jobs = (e.job for e in self._jobs.values() if kind is None or e.job.kind == kind)
        return sorted(jobs, key=lambda j: j.created_at)

    async def wait_events(self, job_id: str, cursor: int, timeout_s: float) -> EventBatch | None:
        """Events after ``cursor``; waits up to ``timeout_s`` for the first new one."""
        entry = self._jobs.get(job_id)
        if entry is None:
            return None
        if cursor >= len(entry.events) and not entry.job.finished:
            if entry.signal is None:
                entry.signal = asyncio.Event()
            signal = entry.signal
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(signal.wait(), timeout_s)
            if self._jobs.get(job_id) is not entry:
                return None  # expired while waiting
        events = entry.events[cursor:]
        new_cursor = cursor + len(events)
        return EventBatch(
            events=events,
            cursor=new_cursor,
            finished=entry.job.finished and new_cursor >= len(entry.events),
        )

    async def ping(self) -> bool:
        return True

    # ---- internals -----------------------------------------------------------------------

    def _persist(self, entry: _JobEntry) -> None:
        if self._db:
            self._db.save_job(entry.job)

    @staticmethod
    def _notify(entry: _JobEntry) -> None:
        if entry.signal is not None:
            entry.signal.set()
            entry.signal = None

    def _sweep_if_due(self) -> None:
        now = time.time()
        if now - self._last_sweep >= SWEEP_INTERVAL_S:
            self._last_sweep = now
            self.sweep(now)

    def sweep(self, now: float) -> None:
        """Delete expired jobs; fail processing jobs whose worker stopped reporting."""
        for job_id, entry in list(self._jobs.items()):
            job = entry.job
            if now - job.updated_at > self._ttl_s:
                self._jobs.pop(job_id)
                if self._db:
                    self._db.delete_job(job_id)
                self._notify(entry)
            elif not job.finished and now - job.updated_at > self._stale_after_s:
                job.status = JobStatus.FAILED
                job.message = (
                    f"{job.kind.capitalize()} failed: "
                    f"no progress for {int(now - job.updated_at)} s "
                    "(the worker processing it stopped)"
                )
                job.updated_at = now
                entry.events.append(job.status_event())
                self._persist(entry)
                self._notify(entry)
