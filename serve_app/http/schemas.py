"""Public request and response models of the HTTP API (names and shapes per the reference)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from serve_app.asr.registry import ModelInfo


class OpenAIErrorBody(BaseModel):
    """The same error in the shape OpenAI clients read (``error.message``)."""

    message: str
    type: str
    code: str
    param: str | None = None


class ErrorResponse(BaseModel):
    """The one error envelope every failure uses."""

    detail: str
    """What was wrong, in a sentence a client can show."""
    code: str
    """Stable machine-readable error type, e.g. ``invalid_audio``."""
    request_id: str | None = None
    errors: list[dict[str, Any]] | None = None
    """Field-level details for validation errors (422)."""
    error: OpenAIErrorBody | None = None
    """The same, for OpenAI-compatible clients of ``/v1``."""


class HealthResponse(BaseModel):
    status: str
    timestamp: str


class RootResponse(BaseModel):
    name: str
    version: str
    endpoints: list[str]


class ModelsResponse(BaseModel):
    models: list[ModelInfo]


class JobCreatedResponse(BaseModel):
    job_id: str
    status: str
    message: str


class JobStatusResponse(BaseModel):
    job_id: str
    status: str
    message: str
    progress: float
    updated_at: str | None


class JobSummary(BaseModel):
    job_id: str
    status: str
    progress: float
    updated_at: str
    message: str
    filename: str | None = None
    """The uploaded file's name, as the client sent it."""


class JobListResponse(BaseModel):
    jobs: list[JobSummary]
    count: int
    """Jobs on this page."""
    total: int = 0
    """Jobs in the whole list (the caller's)."""
    offset: int = 0
    limit: int = 0


class SegmentResponse(BaseModel):
    id: str | None = Field(
        None, description="Stable segment id: what live revision events name (see docs/api.md)"
    )
    start: float
    end: float
    text: str
    speaker: str | None
    speaker_confidence: float | None
    speaker_id: str | None = Field(
        None, description="The enrolled person ``speaker`` names; null: not a known speaker"
    )
    speaker_match: float | None = Field(None, description="Cosine score of that match")
    start_display: str
    end_display: str


class SpeakerTurnResponse(BaseModel):
    start: float
    end: float
    speaker: str
    confidence: float | None = None


class TranscriptionResult(BaseModel):
    segments: list[SegmentResponse]
    text: str
    language: str | None
    audio_duration: float | None
    version: int = Field(0, description="Edits made so far; send it with the next edit")
    speaker_turns: list[SpeakerTurnResponse] = Field(
        default_factory=list,
        description="The diarization's speaker turns, overlap kept (two people may talk at "
        "once); the segments' speakers come from its exclusive view. Also ``format=rttm``",
    )


class ChunkDebug(BaseModel):
    index: int
    start: float
    end: float
    state: str
    segments: int
    started_at: float | None
    finished_at: float | None
    error: str | None
    attempts: int = Field(0, description="ASR calls made (more than one: retried)")


class JobDebugResponse(BaseModel):
    job_id: str
    status: str
    cached_segments: int = Field(description="Segments stored for the job so far")
    latest_segment_time: float | None = Field(description="End time (s) of the last segment")
    chunks: list[ChunkDebug]
    timings: dict[str, float]
    options: dict[str, Any]
    created_at: str
    updated_at: str
