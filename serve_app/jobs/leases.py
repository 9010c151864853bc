"""Leases on running jobs: which runner (chunker replica and request) may work on a job,
and handing the jobs whose runner stopped renewing to a dispatcher (``JobStore``'s part)."""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any

from serve_app.jobs.entries import JobEntry
from serve_app.jobs.model import Job, JobStatus

DISPATCH_TIMEOUT_S = 120.0
"""A lapsed job handed to a dispatcher is offered again if no runner claimed it by then."""


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
            job.attempts += 1
            if job.attempts > self._max_attempts:
                reason = f"{self._max_attempts} runs were interrupted by replica failures"
                message = f"Transcription failed: retries exhausted ({reason})"
                await self.update_job(job_id, status=JobStatus.FAILED, message=message)
                return None
        job.lease_owner, job.lease_expires_at = runner, now + self._lease_s
        await self._save(entry)
        return job

    async def renew(self, job_id: str, runner: str) -> bool:
        """Extend ``runner``'s lease; False when the job is no longer its to run."""
        entry = self._jobs.get(job_id)
        if entry is None or entry.job.finished or entry.job.lease_owner != runner:
            return False
        entry.job.lease_expires_at = time.time() + self._lease_s
        await self._save(entry)
        return True

    async def release(self, job_id: str, runner: str | None = None) -> None:
        """Hand the job back at once (``runner`` None: whoever holds it, e.g. a replica that
        is known to have died) so the next dispatch resumes it without waiting."""
        entry = self._jobs.get(job_id)
        if entry is None or entry.job.finished:
            return
        if runner is None or entry.job.lease_owner == runner:
            entry.job.lease_owner, entry.job.lease_expires_at = None, 0.0
            await self._save(entry)

    async def lapsed_jobs(self, limit: int = 8) -> list[tuple[str, str]]:
        """Running transcription jobs whose lease lapsed, each handed to the caller under a
        fresh dispatch token (``claim`` with it) so that other dispatchers skip them."""
        self._started()
        now, out = time.time(), []
        for entry in self._jobs.values():
            job = entry.job
            if job.kind != "transcription" or job.finished or job.lease_expires_at >= now:
                continue
            token = uuid.uuid4().hex
            job.lease_owner, job.lease_expires_at = f"dispatch:{token}", now + DISPATCH_TIMEOUT_S
            await self._save(entry)
            out.append((job.job_id, token))
            if len(out) >= limit:
                break
        return out
