"""How ``JobStore`` persists a job's changes: each change staged, then committed as one
unit in the job's order (``serve_app.jobs.commits``), retried, and flushed by the sweeper
when the database was away."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from serve_app.jobs.commits import frozen_args
from serve_app.jobs.db import JobDatabase
from serve_app.jobs.entries import JobEntry
from serve_app.jobs.leases import check_fence

logger = logging.getLogger(__name__)


class Persistence:
    """Staging and committing changes; mixed into ``JobStore``, whose state it uses."""

    _db: JobDatabase | None
    _io: ThreadPoolExecutor
    _jobs: dict[str, JobEntry]
    _commit_attempts: int
    _commit_backoff_s: float

    async def _write(self, fn: Callable[..., Any], *args: Any) -> None:
        if self._db is not None:
            await asyncio.get_running_loop().run_in_executor(self._io, fn, *args)

    @staticmethod
    def _stage(entry: JobEntry, fn: Callable[..., Any], *args: Any) -> None:
        """A database write of the change being made to ``entry``, committed by
        :meth:`_save` (its arguments as they are now)."""
        entry.unsaved.append((fn, frozen_args(args)))

    async def _save(self, entry: JobEntry, *events: dict[str, Any]) -> None:
        """Commit the change just made to ``entry`` (staged writes, the job row as it is now,
        ``events``) as one unit, after the job's earlier changes, then let subscribers see
        its events: a store killed part-way through a change leaves none of it, and the
        retried call makes it whole (``serve_app.jobs.commits``)."""
        upto = entry.events.last_seq
        if self._db is None:
            entry.events.saved(upto)
            return
        if events:
            self._stage(
                entry, self._db.append_events, entry.job.job_id, [(e["seq"], e) for e in events]
            )
        writes, entry.unsaved = entry.unsaved, []
        unit = entry.commits.add(entry.job, writes, upto)
        await self._flush(entry, unit.number)

    async def _flush(self, entry: JobEntry, upto: int | None = None) -> None:
        """Commit the job's waiting units, oldest first, up to number ``upto`` (None: all);
        each is tried ``commit_attempts`` times before the error is raised (it then stays
        waiting, for the next call or the sweeper)."""
        if self._db is None:
            return
        queue = entry.commits
        async with queue.lock:
            while (unit := queue.waiting(upto)) is not None:
                async for attempt in AsyncRetrying(
                    stop=stop_after_attempt(self._commit_attempts),
                    wait=wait_exponential(multiplier=self._commit_backoff_s, max=5.0),
                    retry=retry_if_exception_type(Exception),
                    reraise=True,
                ):
                    with attempt:
                        await self._write(unit.apply, self._db)
                queue.pending.popleft()
                entry.events.saved(unit.upto)

    async def _flush_all(self) -> None:
        """The sweeper's round: commit what earlier calls could not (the database was away)."""
        for job_id, entry in list(self._jobs.items()):
            if entry.commits.pending:
                try:
                    await self._flush(entry)
                except Exception:
                    logger.warning("job %s: commit still failing", job_id, exc_info=True)

    async def _entry(self, job_id: str, fence: int | None = None) -> JobEntry | None:
        """The job's entry for a change (``None``: no such job), once its earlier changes
        are committed, so a retried call returns only when its first try is stored.
        ``fence``: the caller's lease token; a stale one raises ``LeaseLostError``."""
        entry = self._jobs.get(job_id)
        if entry is None:
            return None
        check_fence(entry.job, fence)
        if entry.commits.pending:
            await self._flush(entry, entry.commits.made)
        return entry
