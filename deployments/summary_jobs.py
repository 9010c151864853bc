"""Summary jobs on an assistant replica (split from ``assistant.py``, which owns the
requests): run each in the background under a lease it renews, and take up the summaries
whose replica stopped.

A job keeps its request in the store (``Job.request``), so any replica can run it again:
when Serve stops a replica it hands its running summaries back at once; when a replica
dies, their leases lapse. Either way a dispatch round on a live replica (every
``job_store.sweep_interval_s``) claims the job and runs it from its request; the store
fails the jobs nobody takes up (``serve_app.jobs.summaries``), so none stays processing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from typing import TYPE_CHECKING, Any

from serve_app.errors import AppError
from serve_app.jobs.leases import LeaseLostError
from serve_app.jobs.model import Job, JobOptions, JobStatus
from serve_app.llm.schemas import SummaryRequest, SummaryResult, TranscriptLine

if TYPE_CHECKING:
    from deployments.assistant import TranscriptAssistant

logger = logging.getLogger("ray.serve")

Lines = tuple[list[TranscriptLine], list[str]]


class SummaryJobs:
    """The summary jobs of one assistant replica: started here, or taken up from a replica
    that stopped."""

    def __init__(self, assistant: TranscriptAssistant, store: Any, lease_s: float, every_s: float):
        self._assistant = assistant  # resolves models and runs the summariser
        self._store = store
        self._lease_s, self._every_s = lease_s, every_s
        self._replica = uuid.uuid4().hex[:12]
        self.tasks: set[asyncio.Task[None]] = set()
        self._dispatcher: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the dispatch rounds (within the replica's event loop)."""
        if self._dispatcher is None or self._dispatcher.done():
            self._dispatcher = asyncio.get_running_loop().create_task(self._dispatch_forever())

    async def stop(self) -> None:
        """The replica stops: hand every running summary back (each run does so when
        cancelled) so that another replica takes it up without waiting for the lease."""
        if self._dispatcher is not None:
            self._dispatcher.cancel()
        for task in list(self.tasks):
            task.cancel()
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=5)

    def _runner(self) -> str:
        return f"{self._replica}:{uuid.uuid4().hex[:8]}"

    async def submit(
        self, req: SummaryRequest, model: Any, llm: Any, lines: Lines, owner: str | None
    ) -> Job:
        """Create the job (with its request, so it can be run again) and run it here."""
        job = Job(
            job_id=str(uuid.uuid4()),
            kind="summary",
            options=JobOptions(model_name=model.name),
            owner=owner,
            message=f"Summary started with model {model.name}",
            request=req.model_dump(mode="json"),
            lease_owner=self._runner(),
            lease_expires_at=time.time() + self._lease_s,
            attempts=1,
        )
        job = await self._store.create_job.remote(job)
        self._track(self._run(job, req, lines, model, llm))
        return job

    def _track(self, run: Any) -> None:
        task = asyncio.create_task(run)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    # ---- taking up summaries whose replica stopped ---------------------------------------

    async def _dispatch_forever(self) -> None:
        while True:
            await asyncio.sleep(self._every_s)
            with contextlib.suppress(Exception):  # the store restarting: next round
                await self.dispatch_once()

    async def dispatch_once(self) -> int:
        """Take up the summaries whose lease lapsed or was handed back; how many."""
        handed = await self._store.lapsed_jobs.remote(kind="summary")
        for job_id, token in handed:
            logger.info("resuming summary job %s (its replica stopped)", job_id)
            self._track(self._resume(job_id, token))
        return len(handed)

    async def _resume(self, job_id: str, token: str) -> None:
        job: Job | None = await self._store.claim.remote(job_id, self._runner(), token)
        if job is None:
            return  # finished meanwhile, taken by another replica, or out of attempts
        try:
            req = SummaryRequest.model_validate(job.request)
            model, llm = self._assistant._resolve(job.options.model_name)
            lines = await self._assistant._lines(req)
        except Exception as exc:  # e.g. its model is no longer served: say so, once
            reason = exc.message if isinstance(exc, AppError) else f"{type(exc).__name__}: {exc}"
            await self._store.update_job.remote(
                job_id,
                status=JobStatus.FAILED,
                message=f"Summary failed when resumed: {reason}",
                fence=job.lease_fence,
            )
            return
        await self._store.update_job.remote(
            job_id,
            message=f"Summary resumed (run {job.attempts}) with model {model.name}",
            fence=job.lease_fence,
        )
        await self._run(job, req, lines, model, llm)

    # ---- running -------------------------------------------------------------------------

    async def _run(self, job: Job, req: SummaryRequest, lines: Lines, model: Any, llm: Any) -> None:
        job_id, fence, runner = job.job_id, job.lease_fence, job.lease_owner
        assert runner is not None
        started = time.perf_counter()
        renewal = asyncio.create_task(self._keep_lease(job_id, runner, fence))
        try:
            result: SummaryResult = await self._assistant._summarise(
                job_id, req, lines, model, llm, fence
            )
            await self._store.update_job.remote(
                job_id,
                status=JobStatus.COMPLETED,
                message=(
                    f"Summary completed ({result.context.strategy}, "
                    f"{result.context.chunks} chunk(s)) in {time.perf_counter() - started:.1f} s"
                ),
                progress=100.0,
                result=result.model_dump(mode="json"),
                timings={"summary_s": round(time.perf_counter() - started, 3)},
                fence=fence,
            )
        except asyncio.CancelledError:  # the replica stops: hand the job back, not fail it
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._hand_back(job_id, runner, fence)), 3)
            raise
        except Exception as exc:  # every failure ends the job, with the reason
            reason = exc.message if isinstance(exc, AppError) else f"{type(exc).__name__}: {exc}"
            with contextlib.suppress(LeaseLostError):  # the job is another runner's now
                await self._store.update_job.remote(
                    job_id,
                    status=JobStatus.FAILED,
                    message=f"Summary failed: {reason}",
                    fence=fence,
                )
        finally:
            renewal.cancel()

    async def _hand_back(self, job_id: str, runner: str, fence: int) -> None:
        await self._store.update_job.remote(
            job_id,
            message="Summary paused: its replica stopped; another replica takes it up",
            fence=fence,
        )
        await self._store.release.remote(job_id, runner, fence)

    async def _keep_lease(self, job_id: str, runner: str, fence: int) -> None:
        """Renew the job's lease every third of it while it runs."""
        while True:
            await asyncio.sleep(self._lease_s / 3)
            try:
                if not await self._store.renew.remote(job_id, runner, fence):
                    return  # finished, or taken up elsewhere: nothing left to keep
            except Exception:  # store restarting: the lease has slack for a few misses
                continue
