"""Re-runs one span with another (usually bigger) Whisper model.

Either from a clip the client uploads, or from the job's original audio kept by the
chunker in the audio store; the span's speaker comes from the job's diarized segments.
"""

from __future__ import annotations

import asyncio
from typing import Any, BinaryIO

import numpy as np

from deployments.job_store import connect_job_store
from serve_app.asr.decoding import ChunkTranscript
from serve_app.asr.registry import build_registry
from serve_app.audio.decode import SAMPLE_RATE, decode_audio, probe_audio
from serve_app.audio.settings import open_audio_store
from serve_app.config import AppConfig
from serve_app.errors import (
    AudioExpiredError,
    InvalidRequestError,
    JobNotFinishedError,
    JobNotFoundError,
    VersionConflictError,
)
from serve_app.jobs.model import JobStatus
from serve_app.priority import lower_priority
from serve_app.transcript.segments import finalize_chunk_segments, join_text
from serve_app.transcript.spans import SpanTranscript, confidence, replace_span, speaker_for_span

LIMIT = "retranscriber.max_span_s"


class Retranscriber:
    """Re-runs spans through the ASR replicas; reads kept audio from the audio store."""

    def __init__(self, asr: Any, config: AppConfig) -> None:
        lower_priority(config.retranscriber.deployment.nice)
        self._asr = asr
        self._registry = build_registry(config.models, config.asr)
        self._default_model = config.asr.retranscribe_model
        self._store = connect_job_store(config.job_store)
        self._audio = open_audio_store(config.audio_store)
        self._limits = config.audio_input
        # Whisper decodes 30 s windows; a longer span is still fine (faster-whisper slides).
        self._max_span_s = config.retranscriber.max_span_s

    def _decode(
        self, data: bytes | BinaryIO, start: float = 0.0, end: float | None = None
    ) -> np.ndarray:
        """A clip, or the span of a kept recording: a 400 once the decoded audio passes
        ``retranscriber.max_span_s``, whatever the file's header says."""
        return decode_audio(
            data,
            limits=self._limits,
            max_duration_s=self._max_span_s,
            limit_name=LIMIT,
            start_s=start,
            end_s=end,
        )

    def _model(self, model_name: str | None, language: str | None) -> str:
        return self._registry.validate(model_name or self._default_model, language).name

    async def _transcribe(
        self, audio: Any, offset: float, model: str, language: str | None
    ) -> tuple[str, float]:
        result: ChunkTranscript = await self._asr.options(
            multiplexed_model_id=model
        ).transcribe_chunk.remote(audio, language)
        segments = finalize_chunk_segments(
            result.segments, offset, offset + audio.shape[0] / SAMPLE_RATE, offset
        )
        return join_text(segments), confidence(segments)

    async def transcribe_clip(
        self, data: bytes, model_name: str | None, language: str | None
    ) -> SpanTranscript:
        model = self._model(model_name, language)
        await asyncio.to_thread(probe_audio, data, self._limits)
        audio = await asyncio.to_thread(self._decode, data)
        text, conf = await self._transcribe(audio, 0.0, model, language)
        return SpanTranscript(text=text, confidence=conf, speaker=None, model_used=model)

    async def transcribe_span(
        self,
        job_id: str,
        start: float,
        end: float,
        model_name: str | None,
        language: str | None,
        apply: bool,
        version: int | None = None,
    ) -> SpanTranscript:
        """``apply``: write the span into the completed transcript, if it is still at
        ``version`` (None: the version it is at now); a conflict answers 409 and changes
        nothing, so two clients applying spans at once never overwrite each other."""
        job = await self._store.get_job.remote(job_id)
        if job is None:
            raise JobNotFoundError()
        if apply:
            if job.status != JobStatus.COMPLETED:
                raise JobNotFinishedError(
                    f"Transcription job {job_id} is {job.status.value}: a span can be applied "
                    "to a completed transcript only"
                )
            version = job.transcript_version if version is None else version
            if version != job.transcript_version:
                raise VersionConflictError(
                    f"The transcript is at version {job.transcript_version}, not {version}: "
                    "reload it and try again"
                )
        if end <= start or start < 0:
            raise InvalidRequestError("end_time must be greater than start_time, both >= 0")
        if end - start > self._max_span_s:
            raise InvalidRequestError(
                f"a span may be at most {self._max_span_s:g} s long ({LIMIT})"
            )
        duration = job.audio_duration or 0.0
        if start >= duration or end > duration + 0.5:
            raise InvalidRequestError(
                f"span {start:.3f}-{end:.3f} s lies outside the audio (0-{duration:.3f} s)"
            )
        model = self._model(model_name, language or job.language)
        upload = await asyncio.to_thread(self._audio.open, job_id)
        if upload is None:
            raise AudioExpiredError(
                f"The audio of job {job_id} is no longer kept (audio_store.ttl_s); "
                "upload the clip to /api/retranslate/segment instead"
            )
        with upload:  # only the span is decoded (after a seek), not the whole recording
            clip = await asyncio.to_thread(self._decode, upload, start, end)
        text, conf = await self._transcribe(clip, start, model, language or job.language)
        segments = await self._store.get_segments.remote(job_id) or []
        result = SpanTranscript(
            text=text,
            confidence=conf,
            speaker=speaker_for_span(segments, start, end),
            model_used=model,
        )
        if apply:
            await self._store.replace_segments.remote(
                job_id, replace_span(segments, start, end, result), version
            )
        return result
