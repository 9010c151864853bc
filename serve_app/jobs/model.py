"""The job model: statuses, allowed transitions, chunk states and what the API reports."""

from __future__ import annotations

import time
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field


class JobStatus(StrEnum):
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


TERMINAL_STATUSES = frozenset({JobStatus.COMPLETED, JobStatus.FAILED})


class InvalidTransitionError(ValueError):
    """A status change the job model does not allow (e.g. completed -> processing)."""


def check_transition(old: JobStatus, new: JobStatus) -> None:
    """Terminal jobs never change status again; everything else may move forward."""
    if old in TERMINAL_STATUSES and new != old:
        raise InvalidTransitionError(f"job is {old.value}; cannot become {new.value}")


class ChunkState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ChunkRecord(BaseModel):
    """One chunk of a job's plan: where it lies, and its state (the debug endpoint shows it).

    The plan is stored with the job, so a resumed job keeps its chunk boundaries even if the
    chunker's config changed meanwhile."""

    index: int
    start: float
    end: float
    start_sample: int = 0
    end_sample: int = 0
    attempts: int = 0
    """ASR calls made for it (more than one: retried after a replica failure)."""
    state: ChunkState = ChunkState.PENDING
    started_at: float | None = None
    finished_at: float | None = None
    segments: int = 0
    error: str | None = None


class ChunkInfo(BaseModel):
    """``chunk_info`` of the WebSocket status messages."""

    current_chunk: int = 0
    total_chunks: int = 0
    chunk_progress: float = 0.0
    diarization_progress: float | None = None
    """Percent of speaker diarization done; ``None`` when the job does not diarize."""


class JobOptions(BaseModel):
    """What the client asked for."""

    filename: str | None = None
    model_name: str
    language: str | None = None
    diarize: bool = True
    num_speakers: int | None = None
    min_speakers: int | None = None
    max_speakers: int | None = None
    task: Literal["transcribe", "translate"] = "transcribe"
    """``translate``: English text from speech in any language (multilingual models)."""
    prompt: str | None = None
    """Initial prompt for the first window of every chunk (names, spelling, style)."""
    temperature: float | None = None
    """Sampling temperature; unset or 0 keeps Whisper's fallback schedule from 0."""
    known_speakers: bool | list[str] | None = None
    """Name diarized speakers after the owner's enrolled people (``serve_app.speakers``):
    None (default) when the owner enrolled anyone, False never, a list: only those ids."""


JobKind = Literal["transcription", "summary", "relabel"]


class Job(BaseModel):
    """A transcription or summary job. Holds no audio: ids, status, chunk states and results
    only. Both kinds share statuses, transitions, persistence and expiry."""

    job_id: str
    kind: JobKind = "transcription"
    """``summary`` jobs (``/api/summary``) keep their output in ``result``; transcription
    jobs keep their segments beside the job in the store."""
    status: JobStatus = JobStatus.PROCESSING
    message: str = "Queued"
    progress: float = 0.0
    created_at: float = Field(default_factory=time.time)
    updated_at: float = Field(default_factory=time.time)
    options: JobOptions
    chunk_info: ChunkInfo = Field(default_factory=ChunkInfo)
    chunks: list[ChunkRecord] = Field(default_factory=list)
    timings: dict[str, float] = Field(default_factory=dict)
    language: str | None = None
    audio_duration: float | None = None
    result: dict[str, Any] | None = None
    """A summary job's result (``SummaryResult`` as a dict) once completed."""
    request: dict[str, Any] | None = None
    """A summary job's request (``SummaryRequest`` as a dict), kept so that another
    replica can run the job again when the one running it stops (``None``: a job stored
    by an older version, which cannot be resumed)."""
    planning_done: bool = False
    """Every chunk of the plan is known (VAD reached the end of the audio)."""
    published_chunks: int = 0
    """Chunks ``0 .. published_chunks - 1`` are in the transcript, in order."""
    published_until: float = 0.0
    """End (s) of the last published segment: later chunks' segments start after it."""
    lease_owner: str | None = None
    """The runner (chunker replica and request) working on the job; see ``JobStore.claim``."""
    lease_expires_at: float = 0.0
    lease_fence: int = 0
    """The fencing token of the current lease: raised at every claim by another runner and at
    every hand-out to a dispatcher. A runner's writes carry the token its claim returned;
    the store refuses one that is no longer current (``serve_app.jobs.leases``)."""
    attempts: int = 0
    """Runs started: the first, plus one per resume on another (or a restarted) replica."""

    speaker_turns: list[dict[str, Any]] = Field(default_factory=list)
    """While a diarized job runs: the latest exclusive speaker turns, under the names its
    clients were shown (``serve_app.jobs.speakers``)."""
    diarization_turns: list[dict[str, Any]] = Field(default_factory=list)
    """The latest diarization pass's overlap-aware turns (two people may talk at once) under
    the transcript's names; kept when the job ends (the result's ``speaker_turns``)."""
    speakers_final: bool = False
    """The final diarization pass has been applied."""
    transcript_version: int = 0
    """Edits made to the finished transcript (``serve_app.jobs.edits``); 0: as transcribed."""
    speaker_voiceprints: dict[str, list[float]] = Field(default_factory=dict)
    """Each diarized speaker's voiceprint, by its ``SPEAKER_n`` label (known speakers)."""
    speaker_matches: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """``SPEAKER_n`` label -> the enrolled person it was named after (``SpeakerMatch``)."""
    speaker_display: dict[str, str] = Field(default_factory=dict)
    """``SPEAKER_n`` label -> the name the finished transcript shows for it, where they
    differ (a match, or a rename); ``serve_app.jobs.voiceprints``."""

    audio_codec: str | None = None
    """Codec of the kept audio (``pcm_s16le`` uploads are re-kept as ``flac``)."""
    multilingual: bool = True
    """Whether the job's model is multilingual (English-only models skip detection)."""
    owner: str | None = None
    """Name of the API key that created the job (``None`` with auth off); only it and admin
    keys see the job, its audio and its result."""
    idempotency_key: str | None = None
    """The client's ``Idempotency-Key``: a second submission with it returns this job."""

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL_STATUSES

    def transition(self, status: JobStatus) -> None:
        """Move to ``status`` (a completed job reports 100%)."""
        check_transition(self.status, status)
        self.status = status
        if status == JobStatus.COMPLETED:
            self.progress = 100.0

    def status_event(self) -> dict[str, object]:
        """The WebSocket status message for the job's current state."""
        return {
            "type": "status",
            "status": self.status.value,
            "message": self.message,
            "progress": round(self.progress, 1),
            "chunk_info": self.chunk_info.model_dump(),
        }


def idempotency_scope(owner: str | None, key: str | None) -> str | None:
    """The stored form of a client's ``Idempotency-Key``: keys are the client's, so two
    owners may use the same one for different uploads."""
    return f"{owner or ''}/{key}" if key else None


class JobPage(BaseModel):
    """One page of a job list, and how many jobs the whole list holds."""

    jobs: list[Job]
    total: int
