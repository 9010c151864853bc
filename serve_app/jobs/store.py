"""Job state, chunk plans and results, the published transcript, leases, and the event
streams live subscribers follow.

:class:`JobStore` is plain Python; ``deployments/job_store.py`` runs it as a detached named
Ray actor. Every method is ``async`` because the actor is an asyncio actor and waiting
subscribers share its event loop with the writers. Every write is persisted (through
``JobDatabase``, on one worker thread so the event loop never blocks) before the method
returns, and every write is idempotent: Ray retries a call that was running when the actor
died, and chunk runners retry calls that failed. Audio never enters it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from serve_app.diarization.revisions import with_ids
from serve_app.jobs.db import JobDatabase
from serve_app.jobs.edits import TranscriptEdits
from serve_app.jobs.entries import JobEntry, load_entries
from serve_app.jobs.events import EventBatch
from serve_app.jobs.leases import Leases
from serve_app.jobs.model import ChunkInfo, ChunkRecord, ChunkState, Job, JobPage, JobStatus
from serve_app.jobs.persistence import Persistence
from serve_app.jobs.progress import publishable, refresh_progress
from serve_app.jobs.speakers import current_view, extend_view, revise, settle, snapshot
from serve_app.jobs.summaries import summary_to_fail
from serve_app.jobs.voiceprints import KnownSpeakers
from serve_app.speakers.settings import SpeakerSettings
from serve_app.transcript.segments import Segment

logger = logging.getLogger(__name__)


class JobStore(KnownSpeakers, Persistence, Leases, TranscriptEdits):
    """Jobs in memory, persisted write-through; long-poll event streams; leases; edits;
    known speakers."""

    def __init__(
        self,
        database_url: str | None = None,
        job_ttl_s: float = 24 * 3600,
        lease_s: float = 10.0,
        max_attempts: int = 5,
        sweep_interval_s: float = 2.0,
        fingerprint: str = "",
        commit_attempts: int = 4,
        commit_backoff_s: float = 0.25,
        speakers: dict[str, Any] | None = None,
    ) -> None:
        self._db = JobDatabase(database_url) if database_url else None
        self._io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="job-db")
        self._ttl_s, self._lease_s, self._max_attempts = job_ttl_s, lease_s, max_attempts
        self._sweep_interval_s = sweep_interval_s
        self._commit_attempts, self._commit_backoff_s = commit_attempts, commit_backoff_s
        self._fingerprint = fingerprint
        self._speaker_settings = SpeakerSettings.model_validate(speakers or {})
        self._registries = {}
        self._relabels = set()
        self._jobs: dict[str, JobEntry] = {}
        self._keys: dict[str, str] = {}
        self._sweeper: asyncio.Task[None] | None = None
        if self._db is not None:
            self._jobs = load_entries(self._db)
            self._keys = {
                e.job.idempotency_key: i for i, e in self._jobs.items() if e.job.idempotency_key
            }

    def _published(self, count: int) -> None:
        """Hook: ``count`` segments went out on a live stream (metrics, in a subclass)."""

    def _segment_events(self, entry: JobEntry, segments: list[Segment]) -> list[dict[str, Any]]:
        events = [entry.events.append({"type": "segment", **s.to_public()}) for s in segments]
        self._published(len(events))
        return events

    def _started(self) -> None:
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep_forever())

    # ---- writers -------------------------------------------------------------------------

    async def create_job(self, job: Job) -> Job:
        """Add a job; the existing one when its id or ``idempotency_key`` is known."""
        self._started()
        existing = self._keys.get(job.idempotency_key or "") or job.job_id
        known = await self._entry(existing)
        if known is not None:
            return known.job
        if job.lease_owner is not None and job.lease_fence == 0:
            job.lease_fence = 1  # created by its first runner: the job's first lease
        entry = JobEntry(job)
        self._jobs[job.job_id] = entry
        if job.idempotency_key:
            self._keys[job.idempotency_key] = job.job_id
        if self._db is not None:
            self._stage(entry, self._db.insert_job, job, job.idempotency_key)
        await self._save(entry, entry.events.append(job.status_event()))
        return job

    async def update_job(
        self,
        job_id: str,
        *,
        status: JobStatus | None = None,
        message: str | None = None,
        progress: float | None = None,
        chunk_info: ChunkInfo | None = None,
        diarization_progress: float | None = None,
        no_diarization: bool = False,
        language: str | None = None,
        audio_codec: str | None = None,
        audio_duration: float | None = None,
        timings: dict[str, float] | None = None,
        segments: list[Segment] | None = None,
        result: dict[str, Any] | None = None,
        fence: int | None = None,
    ) -> Job | None:
        """Apply one change (``segments``: the whole transcript, published before the new
        status; ``no_diarization``: diarization failed); the job, ``None`` if it expired.
        A finished job accepts no change, so a late writer cannot resurrect it."""
        entry = await self._entry(job_id, fence)
        if entry is None:
            return None
        job = entry.job
        if job.finished:
            return job
        if status is not None:
            job.transition(status)
        for name, value in (
            ("message", message),
            ("chunk_info", chunk_info),
            ("language", language),
            ("audio_duration", audio_duration),
            ("audio_codec", audio_codec),
            ("result", result),
        ):
            if value is not None:
                setattr(job, name, value)
        if diarization_progress is not None:
            job.chunk_info.diarization_progress = diarization_progress
        if no_diarization:  # diarization failed: progress follows the transcript alone
            job.chunk_info.diarization_progress = None
        if progress is not None:
            job.progress = min(100.0, max(job.progress, progress))
        if timings:
            job.timings.update(timings)
        if job.kind == "transcription" and (diarization_progress is not None or no_diarization):
            refresh_progress(job)
        events: list[dict[str, Any]] = []
        if segments is not None:
            self._publish_all(entry, segments)
            events = self._segment_events(entry, segments)
        job.updated_at = time.time()
        events.append(entry.events.append(job.status_event()))
        if job.finished:
            if segments is None and settle(entry):
                self._publish_all(entry, entry.segments)
            job.lease_owner, job.lease_expires_at = None, 0.0
            dropped = entry.events.compact()
            events = [e for e in events if e["seq"] not in dropped]
            if dropped and self._db is not None:
                self._stage(entry, self._db.delete_events, job_id, dropped)
        await self._save(entry, *events)
        return job

    def _publish_all(self, entry: JobEntry, segments: list[Segment]) -> None:
        """Make ``segments`` the transcript (those without an id take their position)."""
        entry.segments = [s if s.id else with_ids([s], i)[0] for i, s in enumerate(segments)]
        entry.view = None
        if self._db is not None:
            self._stage(entry, self._db.replace_segments, entry.job.job_id, entry.segments)

    async def add_chunks(
        self,
        job_id: str,
        chunks: list[ChunkRecord],
        planning_done: bool = False,
        fence: int | None = None,
    ) -> Job | None:
        """Extend the job's chunk plan (chunks already in it are left as they are)."""
        entry = await self._entry(job_id, fence)
        if entry is None or entry.job.finished:
            return entry.job if entry else None
        job = entry.job
        for chunk in chunks:
            if chunk.index == len(job.chunks):
                job.chunks.append(chunk)
        job.planning_done = job.planning_done or planning_done
        refresh_progress(job)
        job.updated_at = time.time()
        await self._save(entry)
        return job

    async def update_chunk(self, job_id: str, chunk: ChunkRecord, fence: int | None = None) -> None:
        """Record a chunk's state (running, failed attempt) for the debug view."""
        entry = await self._entry(job_id, fence)
        if entry is None or entry.job.finished or not 0 <= chunk.index < len(entry.job.chunks):
            return
        stored = entry.job.chunks[chunk.index]
        if stored.state != ChunkState.DONE:
            for name in ("state", "started_at", "error", "attempts"):
                setattr(stored, name, getattr(chunk, name))
            entry.job.updated_at = time.time()
            await self._save(entry)

    async def complete_chunk(
        self, job_id: str, index: int, segments: list[Segment], fence: int | None = None
    ) -> Job | None:
        """Store one chunk's segments (chunk-relative) once; publish every chunk that is now
        final, in time order, with the speakers known so far. A repeated call changes
        nothing."""
        entry = await self._entry(job_id, fence)
        if entry is None or entry.job.finished:
            return entry.job if entry else None
        job = entry.job
        if index in entry.results or not 0 <= index < len(job.chunks):
            return job
        entry.results[index] = segments
        record = job.chunks[index]
        record.state, record.finished_at, record.error = ChunkState.DONE, time.time(), None
        if self._db is not None:
            data = {"segments": [s.model_dump() for s in segments]}
            self._stage(entry, self._db.save_chunk_result, job_id, index, data)
        first = len(entry.segments)
        final = with_ids(publishable(job, entry.results), first)
        pieces = extend_view(entry, final)
        entry.segments.extend(final)
        if self._db is not None and final:
            self._stage(entry, self._db.upsert_segments, job_id, first, final)
        events = self._segment_events(entry, pieces)
        if events and "first_segment_s" not in job.timings:
            job.timings["first_segment_s"] = round(time.time() - job.created_at, 3)
        refresh_progress(job)
        job.updated_at = time.time()
        events.append(entry.events.append(job.status_event()))
        await self._save(entry, *events)
        return job

    async def update_speakers(
        self,
        job_id: str,
        turns: list[dict[str, Any]],
        final: bool = False,
        fence: int | None = None,
        overlap_turns: list[dict[str, Any]] | None = None,
        centroids: dict[str, list[float]] | None = None,
    ) -> Job | None:
        """A diarization pass over the audio so far (``final``: the consistent pass over all
        of it): speakers renamed onto the ones shown, and a revision event for the segments
        whose speaker (or split) changed. ``overlap_turns``: the same pass's overlap-aware
        turns, kept under the same names for the result's ``speaker_turns``. ``centroids``:
        each label's voiceprint, matched with the owner's known speakers."""
        known = self._jobs.get(job_id)
        matcher = await self._matcher(known.job) if known else None
        entry = await self._entry(job_id, fence)
        if entry is None or entry.job.finished:
            return entry.job if entry else None
        event = revise(entry, turns, final, overlap_turns, centroids, matcher)
        events = [entry.events.append(event)] if event else []
        entry.job.updated_at = time.time()
        await self._save(entry, *events)
        return entry.job

    # ---- readers -------------------------------------------------------------------------

    async def get_job(self, job_id: str) -> Job | None:
        entry = self._jobs.get(job_id)
        return entry.job if entry else None

    async def get_segments(self, job_id: str) -> list[Segment] | None:
        """The transcript, with the speakers known so far while the job runs."""
        entry = self._jobs.get(job_id)
        return list(current_view(entry)) if entry else None

    async def chunk_results(self, job_id: str) -> dict[int, list[Segment]]:
        entry = self._jobs.get(job_id)
        return dict(entry.results) if entry else {}

    async def list_jobs(self, kind: str | None = "transcription") -> list[Job]:
        """Jobs of one kind (``None``: all), oldest first."""
        self._started()
        jobs = (e.job for e in self._jobs.values() if kind is None or e.job.kind == kind)
        return sorted(jobs, key=lambda j: j.created_at)

    async def page_jobs(
        self,
        kind: str = "transcription",
        owner: str | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> JobPage:
        """Jobs of ``kind`` created by ``owner`` (``None``: everyone's), newest first."""
        jobs = [
            e.job
            for e in self._jobs.values()
            if e.job.kind == kind and (owner is None or e.job.owner == owner)
        ]
        jobs.sort(key=lambda j: j.created_at, reverse=True)
        return JobPage(jobs=jobs[offset : offset + limit], total=len(jobs))

    async def wait_events(self, job_id: str, cursor: int, timeout_s: float) -> EventBatch | None:
        """Events with ``seq`` above ``cursor``; waits up to ``timeout_s`` for one."""
        self._started()
        entry = self._jobs.get(job_id)
        if entry is None:
            return None
        log = entry.events
        # Only committed events go out: a store killed before its commit leaves no event
        # that a subscriber has seen and the restarted store does not hold.
        # A cursor below the saved seq may still have nothing to get (those events were
        # compacted away): it waits too, rather than coming straight back.
        if not log.after(cursor) and not (entry.job.finished and log.all_saved):
            await log.wait(timeout_s)
            if self._jobs.get(job_id) is not entry:
                return None  # expired while waiting
        events = (cursor == 0 and log.all_saved and snapshot(entry)) or log.after(cursor)
        new_cursor = events[-1]["seq"] if events else cursor
        return EventBatch(
            events=events,
            cursor=new_cursor,
            finished=entry.job.finished and new_cursor >= entry.events.last_seq,
        )

    def close(self) -> None:
        """Stop the sweeper and let go of the database (a store being replaced)."""
        if self._sweeper is not None:
            self._sweeper.cancel()
        self._io.shutdown(wait=True)
        if self._db is not None:
            self._db.close()

    async def ping(self) -> bool:
        return True

    async def fingerprint(self) -> str:
        """What this store was started with (config and code); see ``connect_job_store``."""
        return self._fingerprint

    # ---- expiry --------------------------------------------------------------------------

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self._sweep_interval_s)
            await self._flush_all()
            try:
                await self.sweep(time.time())
            except Exception:
                logger.warning("job sweep failed", exc_info=True)

    async def sweep(self, now: float) -> None:
        """Delete jobs past their TTL; fail the running summary jobs that no replica can or
        does take up again (``serve_app.jobs.summaries``)."""
        for job_id, entry in list(self._jobs.items()):
            job = entry.job
            if now - job.updated_at > self._ttl_s:
                self._jobs.pop(job_id)
                self._keys.pop(job.idempotency_key or "", None)
                if self._db is not None:
                    await self._write(self._db.delete_job, job_id)
                entry.events.notify()
            elif job.kind == "summary" and not job.finished:
                if (reason := summary_to_fail(job, now)) is None:
                    continue
                await self.update_job(
                    job_id, status=JobStatus.FAILED, message=f"Summary failed: {reason}"
                )
