"""Leases on running jobs: which runner (chunker replica and request) may work on a job,
and handing the jobs whose runner stopped renewing to a dispatcher (``JobStore``'s part).

Each lease carries a *fencing token* (``Job.lease_fence``), a number that grows every time
the job changes hands: at each claim by a runner other than the holder, and at each hand-out
to a dispatcher. A runner passes the token its claim returned with every write; the store
refuses a write whose token is not the job's current one (``LeaseLostError``), so a runner
that lost its lease (it stalled past the lease, and another runner took the job) can no
longer change the job, and stops.
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any

from serve_app.errors import AppError
from serve_app.jobs.entries import JobEntry
from serve_app.jobs.model import Job, JobKind, JobStatus

DISPATCH_TIMEOUT_S = 120.0
"""A lapsed job handed to a dispatcher is offered again if no runner claimed it by then."""


class LeaseLostError(AppError):
    """A write carried a fencing token that is no longer the job's: another runner holds it.
    An ``AppError`` so that no retry policy tries the write again: the runner stops."""

    status_code = 409
    code = "lease_lost"


def check_fence(job: Job, fence: int | None) -> None:
    """Refuse a runner's write made under a superseded lease (``fence`` None: not a runner's
    write, e.g. an edit or the sweeper)."""
    if fence is not None and fence != job.lease_fence:
        raise LeaseLostError(
            f"job {job.job_id}: lease {fence} was superseded by lease {job.lease_fence}"
        )


class Leases:
    """Claim, renew, release and lapse; mixed into ``JobStore``, whose state it uses."""

    _jobs: dict[str, JobEntry]
    _lease_s: float
    _max_attempts: int

    if TYPE_CHECKING:

        async def _save(self, entry: JobEntry, *events: dict[str, Any]) -> None: ...

        async def update_job(
            self, job_id: str, *, status: JobStatus | None = None, message: str | None = None
        ) -> Job | None: ...

        def _started(self) -> None: ...

    async def claim(self, job_id: str, runner: str, token: str | None = None) -> Job | None:
        """Take the job for ``runner`` if nobody holds a live lease on it (or it was handed
        to this dispatch ``token``); the job, or ``None`` when it is not ours to run. A
        job past ``max_attempts`` runs fails instead, as retries exhausted."""
        entry = self._jobs.get(job_id)
        if entry is None or entry.job.finished:
            return None
        job, now = entry.job, time.time()
        owner = job.lease_owner
        mine = owner == runner
        free = owner is None or job.lease_expires_at < now or owner == f"dispatch:{token}"
        if not (mine or free):
            return None
        if not mine:
            job.lease_fence += 1
            job.attempts += 1
            if job.attempts > self._max_attempts:
                reason = f"{self._max_attempts} runs were interrupted by replica failures"
                kind = "Summary" if job.kind == "summary" else "Transcription"
                message = f"{kind} failed: retries exhausted ({reason})"
                await self.update_job(job_id, status=JobStatus.FAILED, message=message)
                return None
        job.lease_owner, job.lease_expires_at = runner, now + self._lease_s
        await self._save(entry)
        return job

    async def renew(self, job_id: str, runner: str, fence: int | None = None) -> bool:
        """Extend ``runner``'s lease; False when the job is no longer its to run."""
        entry = self._jobs.get(job_id)
        if entry is None or entry.job.finished or entry.job.lease_owner != runner:
            return False
        if fence is not None and fence != entry.job.lease_fence:
            return False
        entry.job.lease_expires_at = time.time() + self._lease_s
        await self._save(entry)
        return True

    async def release(self, job_id: str, runner: str, fence: int | None = None) -> None:
        """``runner`` hands the job back at once (its replica stopped, or is known to have
        died) so the next dispatch resumes it without waiting. Only the holder of the
        current lease can: a successor's lease is never dropped by its predecessor."""
        entry = self._jobs.get(job_id)
        if entry is None or entry.job.finished:
            return
        job = entry.job
        if job.lease_owner == runner and (fence is None or fence == job.lease_fence):
            entry.job.lease_owner, entry.job.lease_expires_at = None, 0.0
            await self._save(entry)

    async def lapsed_jobs(
        self, limit: int = 8, kind: JobKind = "transcription"
    ) -> list[tuple[str, str]]:
        """Running jobs of ``kind`` whose lease lapsed, each handed to the caller under a
        fresh dispatch token (``claim`` with it) so that other dispatchers skip them."""
        self._started()
        now, out = time.time(), []
        for entry in self._jobs.values():
            job = entry.job
            if job.kind != kind or job.finished or job.lease_expires_at >= now:
                continue
            token = uuid.uuid4().hex
            job.lease_owner, job.lease_expires_at = f"dispatch:{token}", now + DISPATCH_TIMEOUT_S
            job.lease_fence += 1  # the stalled runner's writes are refused from now on
            await self._save(entry)
            out.append((job.job_id, token))
            if len(out) >= limit:
                break
        return out
