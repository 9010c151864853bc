"""A realtime session recorded as an ordinary transcription job.

The job is created when the session starts, held under a lease the session renews (so the
chunkers' dispatcher never takes it over while the session lives), and grows one chunk per
utterance: the chunk is planned when the utterance ends and completed with its final
segments, so the job store publishes them in order on ``/api/transcribe/live/{id}`` and
the result. The session's 16 kHz audio is spooled to a temporary file as it arrives and
kept in the audio store (FLAC) when the session ends; then the job is diarized (when asked)
and completed. While it runs, the live speakers (``speakers.py``) go into the job as speaker
turns; the final pass replaces them (its voiceprints matched with the owner's known
speakers). Audio bytes never go to the job store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
import time
import uuid
from typing import Any

import numpy as np

from serve_app.audio.store import AudioStore
from serve_app.jobs.model import ChunkRecord, Job, JobOptions, JobStatus
from serve_app.transcript.segments import Segment

logger = logging.getLogger("ray.serve")
SAMPLE_RATE = 16000


class SessionRecording:
    """The job of one realtime session (``store``: the job-store actor's client)."""

    def __init__(
        self, store: Any, audio: AudioStore, lease_s: float, options: JobOptions, owner: str | None
    ) -> None:
        self.store, self.audio, self.lease_s = store, audio, lease_s
        self.job_id = uuid.uuid4().hex
        self.runner = f"realtime:{uuid.uuid4().hex[:12]}"
        self.options, self.owner = options, owner
        self.fence = 0
        self.chunks = 0
        self.samples = 0
        # Closed in finish(); a TemporaryFile is deleted when closed or collected.
        self._spool = tempfile.TemporaryFile(prefix="realtime-")  # noqa: SIM115
        self._renewal: asyncio.Task[None] | None = None
        self.finished = False

    async def start(self, multilingual: bool, language: str | None) -> Job:
        job = Job(
            job_id=self.job_id,
            options=self.options,
            message="Recording a realtime session",
            audio_duration=0.0,
            audio_codec="pcm_s16le",
            multilingual=multilingual,
            language=language,
            owner=self.owner,
            lease_owner=self.runner,
            lease_expires_at=time.time() + self.lease_s,
            attempts=1,
        )
        stored: Job = await self.store.create_job.remote(job)
        self.fence = stored.lease_fence
        self._renewal = asyncio.create_task(self._keep_lease())
        return stored

    async def _keep_lease(self) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            try:
                if not await self.store.renew.remote(self.job_id, self.runner, self.fence):
                    logger.warning("realtime job %s: lease lost", self.job_id)
                    return
            except Exception:  # store restarting: the lease has slack for a few misses
                logger.warning("realtime job %s: lease renewal failed", self.job_id, exc_info=True)

    def keep_audio(self, audio: np.ndarray) -> None:
        """Spool 16 kHz float32 audio as it arrives (16-bit, on local disk)."""
        pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2")
        self._spool.write(pcm.tobytes())
        self.samples += audio.shape[0]

    async def plan(self, start: int, end: int) -> int:
        """Add the chunk of an utterance that just ended; its index."""
        index = self.chunks
        self.chunks += 1
        record = ChunkRecord(
            index=index,
            start=start / SAMPLE_RATE,
            end=end / SAMPLE_RATE,
            start_sample=start,
            end_sample=end,
        )
        await self.store.add_chunks.remote(self.job_id, [record], False, fence=self.fence)
        return index

    async def complete(self, index: int, segments: list[Segment]) -> None:
        """An utterance's final segments (relative to its start)."""
        await self.store.complete_chunk.remote(self.job_id, index, segments, fence=self.fence)
        await self.store.update_job.remote(
            self.job_id, audio_duration=self.samples / SAMPLE_RATE, fence=self.fence
        )

    async def update_speakers(
        self, turns: list[dict[str, Any]], centroids: dict[str, list[float]]
    ) -> Job | None:
        """The live speakers so far (one turn per utterance, each label's voiceprint): the
        job store keeps shown labels stable and names them (known speakers)."""
        job: Job | None = await self.store.update_speakers.remote(
            self.job_id, turns, False, fence=self.fence, overlap_turns=turns, centroids=centroids
        )
        return job

    async def verify_voice(self, speaker_id: str, embedding: list[float]) -> float | None:
        """The score of an utterance's voiceprint against an enrolled person when it passes
        the known-speaker threshold (None: it does not)."""
        score: float | None = await self.store.verify_voice.remote(
            self.job_id, speaker_id, embedding
        )
        return score

    async def diarize(self, diarizer: Any | None, audio: np.ndarray) -> str:
        """One diarization pass over the session's audio; its speakers go into the job.
        A note for the job's message (how many speakers, or why none)."""
        if diarizer is None or audio.shape[0] < SAMPLE_RATE:
            return ""
        try:
            async for item in diarizer.options(stream=True).diarize.remote(audio):
                if item.final:
                    await self.store.update_speakers.remote(
                        self.job_id,
                        item.exclusive_turns,
                        True,
                        fence=self.fence,
                        overlap_turns=item.turns,
                        centroids=item.centroids,
                    )
                    return f"{len(item.speakers)} speakers"
        except Exception as exc:
            logger.exception("realtime job %s: diarization failed", self.job_id)
            return f"speaker diarization failed: {exc}"[:200]
        return ""

    def session_audio(self) -> np.ndarray:
        self._spool.flush()
        self._spool.seek(0)
        data = self._spool.read()
        return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0

    async def keep_in_store(self, audio: np.ndarray) -> None:
        if audio.size:
            await asyncio.to_thread(self.audio.save_flac, self.job_id, audio)

    async def finish(self, message: str, failed: bool = False) -> None:
        """Plan done, job completed (or failed); the lease ends with it."""
        if self.finished:
            return
        self.finished = True
        if self._renewal is not None:
            self._renewal.cancel()
        try:
            await self.store.add_chunks.remote(self.job_id, [], True, fence=self.fence)
            await self.store.update_job.remote(
                self.job_id,
                status=JobStatus.FAILED if failed else JobStatus.COMPLETED,
                message=message,
                audio_duration=self.samples / SAMPLE_RATE,
                audio_codec="flac",
                fence=self.fence,
            )
        finally:
            with contextlib.suppress(Exception):
                self._spool.close()
