"""The chunker: runs transcription jobs. It decodes a job's kept upload, finds speech, cuts
chunks in silence and fans them out to the ASR replicas; the job store publishes their
segments in time order.

A job runs *inside a request*: ``transcribe`` (streaming, called by the ingress) validates
the upload, creates the job, yields it (so the client gets its id at once) and then runs
the job to the end in the same request; ``resume`` runs a job another replica left
unfinished. So Serve sees every running job as an ongoing request: ``max_ongoing_requests``
caps the jobs one replica runs, ``max_queued_requests`` bounds the uploads waiting, and the
autoscaler and the router see the real load.

Jobs survive replicas: the runner holds a *lease* on its job in the store and renews it.
When a replica dies, is removed or redeployed, its leases lapse (or are handed back when
Serve shuts the replica down gracefully, after ``graceful_shutdown_timeout_s``) and a
dispatcher loop on every replica sends those jobs to ``resume``, which continues from the
first unfinished chunk of the stored plan. Chunk
results are keyed by (job, chunk index), so a chunk done twice is published once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any, BinaryIO

import numpy as np

from deployments.chunker_job import JobAudio, JobContext, JobRun
from deployments.job_store import connect_job_store
from deployments.metrics import ChunkerMetrics
from serve_app.asr.registry import build_registry
from serve_app.audio.decode import decode_audio, probe_audio
from serve_app.audio.settings import open_audio_store
from serve_app.audio.stream import count_samples, decoded_blocks
from serve_app.config import AppConfig
from serve_app.errors import AppError, InvalidAudioError
from serve_app.jobs.leases import LeaseLostError
from serve_app.jobs.model import Job, JobOptions, JobStatus, idempotency_scope
from serve_app.jobs.progress import DECODED_AT
from serve_app.priority import lower_priority
from serve_app.transcript.timefmt import format_display

logger = logging.getLogger("ray.serve")

AUDIO_SWEEP_INTERVAL_S = 300.0


class Chunker:
    """Validates uploads, runs jobs (held inside requests), resumes lapsed jobs."""

    def __init__(self, asr: Any, diarizer: Any | None, config: AppConfig) -> None:
        lower_priority(config.chunker.deployment.nice)  # decoding and VAD
        self._asr, self._diarizer = asr, diarizer
        self._config = config.chunker
        self._limits = config.audio_input
        self._lease_s = config.job_store.lease_s
        self._dispatch_interval_s = config.job_store.sweep_interval_s
        self._registry = build_registry(config.models, config.asr)
        self._store = connect_job_store(config.job_store)
        self._audio = open_audio_store(config.audio_store)
        self._replica = uuid.uuid4().hex[:12]
        self._metrics = ChunkerMetrics()
        self._runs: dict[str, asyncio.Task[Any]] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self._dispatcher: asyncio.Task[None] | None = None
        with contextlib.suppress(RuntimeError):  # Serve builds replicas inside their loop
            self._start_dispatcher()

    # ---- requests ------------------------------------------------------------------------

    async def transcribe(
        self,
        job_id: str,
        options: JobOptions,
        idempotency_key: str | None = None,
        owner: str | None = None,
        submitted_at: float | None = None,
    ) -> AsyncIterator[Job]:
        """Validate the upload kept under ``job_id`` (a 400 before any job exists), create
        the job and yield it; then run it to the end within this request. ``submitted_at``:
        when the ingress had kept the upload (``time.time()``), for the queue-wait metric."""
        self._start_dispatcher()
        if submitted_at is not None:
            self._metrics.stage("queue", time.time() - submitted_at)
        runner = self._runner_id()
        job, prepared = await self._create(job_id, options, idempotency_key, runner, owner)
        yield job
        if job.job_id == job_id:  # not an earlier job with the same Idempotency-Key
            await self._run(job_id, runner, prepared=prepared)

    async def resume(self, job_id: str, token: str) -> str:
        """Run a job whose runner stopped, from its first unfinished chunk."""
        self._start_dispatcher()
        await self._run(job_id, self._runner_id(), token)
        return job_id

    async def check_health(self) -> None:
        self._start_dispatcher()
        await self._store.ping.remote()

    async def __del__(self) -> None:
        # Scale-down or redeploy: hand every running job back at once (each run releases
        # its lease when cancelled), so another replica resumes it without waiting.
        for task in list(self._runs.values()):
            task.cancel()
        if self._runs:
            await asyncio.wait(list(self._runs.values()), timeout=5)
        if self._dispatcher is not None:
            self._dispatcher.cancel()

    # ---- submission ----------------------------------------------------------------------

    def _runner_id(self) -> str:
        return f"{self._replica}:{uuid.uuid4().hex[:8]}"

    def _decode(self, upload: BinaryIO) -> np.ndarray:
        """The upload's audio, decoded within the bounds: a 400 as soon as the decoded
        audio passes ``max_audio_duration_s`` (the header's claim is never trusted). Only
        for diarized jobs: the diarizer takes the whole file."""
        return decode_audio(
            upload,
            self._config.sample_rate,
            limits=self._limits,
            max_duration_s=self._config.max_audio_duration_s,
        )

    def _count(self, upload: BinaryIO) -> int:
        """The upload's length in samples, decoded within the same bounds as ``_decode``
        while holding one block at a time."""
        return count_samples(
            upload,
            self._config.sample_rate,
            limits=self._limits,
            max_duration_s=self._config.max_audio_duration_s,
        )

    def _blocks(
        self, job_id: str, upload: BinaryIO, size: int, to_flac: list[bool] | None
    ) -> Iterator[np.ndarray]:
        """The upload decoded as a stream of ``size``-sample blocks; ``to_flac``: also keep
        them as FLAC, replacing the upload once the stream has reached its end (a stream
        left early keeps the upload), and append True to it then."""
        blocks = decoded_blocks(
            upload,
            size,
            self._config.sample_rate,
            limits=self._limits,
            max_duration_s=self._config.max_audio_duration_s,
        )
        if to_flac is None:
            yield from blocks
            return
        with self._audio.flac_writer(job_id, self._config.sample_rate) as write:
            for block in blocks:
                write(block)
                yield block
        to_flac.append(True)

    async def _create(
        self, job_id: str, options: JobOptions, key: str | None, runner: str, owner: str | None
    ) -> tuple[Job, tuple[np.ndarray | None, float]]:
        """Check the upload and create its job. The upload is decoded here, before the job
        exists, so that whatever is wrong with it (too long by its decoded samples, too
        short, undecodable) is a 400 and never a job left failing. Returns the job and, for
        its run, the whole audio when the diarizer will need it (else None: the run decodes
        it again as a stream), with the seconds decoding took."""
        try:
            spec = self._registry.validate(options.model_name, options.language, options.task)
            upload = await asyncio.to_thread(self._audio.open, job_id)
            if upload is None:
                raise InvalidAudioError("The upload was not stored; send it again")
            started = time.perf_counter()
            with upload:
                info = await asyncio.to_thread(probe_audio, upload, self._limits)
                limit = self._config.max_audio_duration_s
                if info.duration is not None and info.duration > limit:  # cheap early no
                    raise InvalidAudioError(
                        f"The audio lasts {format_display(info.duration)} by its header, "
                        f"longer than this server's limit of {format_display(limit)} "
                        "(chunker.max_audio_duration_s)"
                    )
                audio: np.ndarray | None = None
                if options.diarize and self._diarizer is not None:
                    audio = await asyncio.to_thread(self._decode, upload)
                    samples = audio.shape[0]
                else:
                    samples = await asyncio.to_thread(self._count, upload)
            decode_s = time.perf_counter() - started
            duration = samples / self._config.sample_rate
            shortest = self._config.min_audio_duration_s
            if duration < shortest:
                raise InvalidAudioError(
                    f"The audio lasts {duration:.2f} s, too short to transcribe "
                    f"(the minimum is {shortest:g} s)"
                )
        except Exception:
            await asyncio.to_thread(self._audio.delete, job_id)
            raise
        job = Job(
            job_id=job_id,
            options=options.model_copy(update={"model_name": spec.name}),
            message="Queued for transcription",
            audio_duration=duration,
            audio_codec=info.codec,
            multilingual=spec.multilingual,
            owner=owner,
            idempotency_key=idempotency_scope(owner, key),
            lease_owner=runner,
            lease_expires_at=time.time() + self._lease_s,
            attempts=1,
        )
        if options.diarize and self._diarizer is not None:
            job.chunk_info.diarization_progress = 0.0
        stored: Job = await self._store.create_job.remote(job)
        if stored.job_id != job_id:
            await asyncio.to_thread(self._audio.delete, job_id)
        return stored, (audio, decode_s)

    # ---- running -------------------------------------------------------------------------

    async def _run(
        self,
        job_id: str,
        runner: str,
        token: str | None = None,
        prepared: tuple[np.ndarray | None, float] | None = None,
    ) -> None:
        """Run the job; ``prepared``: its audio and decode time when this request created it."""
        job: Job | None = await self._store.claim.remote(job_id, runner, token)
        if job is None:
            return  # finished, or another runner holds it
        task = asyncio.current_task()
        assert task is not None
        self._runs[job_id] = task
        self._metrics.running.set(len(self._runs))
        fence = job.lease_fence
        renewal = asyncio.create_task(self._keep_lease(job_id, runner, fence, task))
        try:
            await self._execute(job, prepared)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):  # best effort: the store may be gone too
                await asyncio.wait_for(asyncio.shield(self._release(job_id, runner, fence)), 3)
            raise
        except Exception as exc:
            while isinstance(exc, ExceptionGroup) and exc.exceptions:
                exc = exc.exceptions[0]  # a TaskGroup wraps the first chunk failure
            if isinstance(exc, LeaseLostError):
                logger.warning("job %s: another runner holds it now; stopping (%s)", job_id, exc)
                return
            reason = exc.message if isinstance(exc, AppError) else f"{type(exc).__name__}: {exc}"
            logger.exception("job %s failed", job_id)
            with contextlib.suppress(LeaseLostError):  # failed here, not for its new runner
                await self._store.update_job.remote(
                    job_id,
                    status=JobStatus.FAILED,
                    message=f"Transcription failed: {reason}",
                    fence=fence,
                )
                self._metrics.finished.inc(tags={"status": "failed"})
        finally:
            renewal.cancel()
            self._runs.pop(job_id, None)
            self._metrics.running.set(len(self._runs))

    async def _release(self, job_id: str, runner: str, fence: int) -> None:
        await self._store.release.remote(job_id, runner, fence)

    async def _keep_lease(
        self, job_id: str, runner: str, fence: int, run: asyncio.Task[Any]
    ) -> None:
        """Renew the lease every third of it; stop the run if the job is no longer ours."""
        while True:
            await asyncio.sleep(self._lease_s / 3)
            try:
                ours = await self._store.renew.remote(job_id, runner, fence)
            except Exception:  # store restarting: the lease has slack for a few misses
                logger.warning("could not renew the lease of job %s", job_id, exc_info=True)
                continue
            if not ours:
                logger.warning("job %s is no longer ours (lease lapsed); stopping", job_id)
                run.cancel()
                return

    async def _execute(
        self, job: Job, prepared: tuple[np.ndarray | None, float] | None = None
    ) -> None:
        started = time.perf_counter()
        job_id, fence = job.job_id, job.lease_fence
        sr = self._config.sample_rate
        audio: np.ndarray | None = None
        if prepared is not None:  # checked when the job was created
            audio, decode_s = prepared
            started -= decode_s
        else:
            await self._store.update_job.remote(
                job_id, message="Decoding audio", progress=1.0, fence=fence
            )
        upload = await asyncio.to_thread(self._audio.open, job_id)
        if upload is None:
            raise InvalidAudioError("The job's audio is no longer kept (audio_store.ttl_s)")
        pcm = (job.audio_codec or "").startswith("pcm_")  # kept as FLAC of what is decoded
        converted: list[bool] = []
        with upload:
            if audio is None and job.options.diarize and self._diarizer is not None:
                audio = await asyncio.to_thread(self._decode, upload)  # resumed, diarized
            if audio is not None and pcm:
                await asyncio.to_thread(self._audio.save_flac, job_id, audio, sr)
                converted.append(True)
            decoded = time.perf_counter()
            self._metrics.stage("decode", decoded - started)
            duration = audio.shape[0] / sr if audio is not None else job.audio_duration
            await self._store.update_job.remote(
                job_id,
                message="Detecting speech",
                progress=DECODED_AT,
                audio_duration=duration,
                timings={"decode_s": decoded - started},
                fence=fence,
            )
            source: JobAudio | np.ndarray = (
                audio
                if audio is not None
                else JobAudio(
                    lambda size: self._blocks(job_id, upload, size, converted if pcm else None)
                )
            )
            context = JobContext(
                self._store, self._asr, self._diarizer, self._config, self._metrics
            )
            resumed = bool(job.chunks)
            run = JobRun(context, job, source, decoded)
            await run.execute()
        if converted:
            await self._store.update_job.remote(job_id, audio_codec="flac", fence=fence)
        finished = time.perf_counter()
        message = "Transcription completed"
        if not run.planned_any:
            message += ": no speech detected"
        if run.diarization_note:
            message += f" ({run.diarization_note})"
        await self._store.update_job.remote(
            job_id,
            status=JobStatus.COMPLETED,
            message=message,
            timings={"transcribe_s": finished - decoded, "total_s": finished - started},
            fence=fence,
        )
        self._metrics.finished.inc(tags={"status": "completed"})
        self._metrics.stage("total", finished - started)
        samples = audio.shape[0] if audio is not None else run.total_samples
        if not resumed and samples:
            diarize = str(run.diarizer is not None).lower()
            rtf = (finished - started) / (samples / sr)
            self._metrics.rtf.observe(rtf, tags={"diarize": diarize})

    # ---- resuming lapsed jobs ------------------------------------------------------------

    def _start_dispatcher(self) -> None:
        if self._dispatcher is None or self._dispatcher.done():
            self._dispatcher = asyncio.get_running_loop().create_task(self._dispatch_forever())

    async def _dispatch_forever(self) -> None:
        from ray import serve

        context = serve.get_replica_context()
        handle = serve.get_deployment_handle(context.deployment, context.app_name)
        swept = time.monotonic()
        while True:
            await asyncio.sleep(self._dispatch_interval_s)
            try:
                for job_id, token in await self._store.lapsed_jobs.remote():
                    logger.info("resuming job %s (its runner stopped)", job_id)
                    task = asyncio.create_task(self._dispatch(handle, job_id, token))
                    self._background.add(task)
                    task.add_done_callback(self._background.discard)
                if time.monotonic() - swept > AUDIO_SWEEP_INTERVAL_S:
                    swept = time.monotonic()
                    await asyncio.to_thread(self._audio.sweep)
            except Exception:
                logger.warning("dispatch round failed", exc_info=True)

    async def _dispatch(self, handle: Any, job_id: str, token: str) -> None:
        """Through Serve (so the resumed job is routed and counted like any request)."""
        try:
            await handle.resume.remote(job_id, token)
        except Exception:
            logger.warning("resuming job %s failed; offering it again", job_id, exc_info=True)
            with contextlib.suppress(Exception):
                await self._store.release.remote(job_id, f"dispatch:{token}")
