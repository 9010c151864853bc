"""What the registry holds: enrolled speakers, their voiceprints and where each came from,
and what a match of a diarized speaker says."""

from __future__ import annotations

import time
import uuid
from typing import Literal

from pydantic import BaseModel, Field

from serve_app.errors import AppError


class SpeakerNotFoundError(AppError):
    """No enrolled speaker with that id for this owner (another owner's is not found)."""

    status_code = 404
    code = "speaker_not_found"

    def __init__(self, message: str = "Speaker not found") -> None:
        super().__init__(message)


class VoiceprintSource(BaseModel):
    """Where a voiceprint's speech came from: an uploaded clip, or a speaker of a job."""

    kind: Literal["clip", "job"]
    job_id: str | None = None
    speaker: str | None = None
    """The job's speaker label it was enrolled from."""
    spans: list[tuple[float, float]] = Field(default_factory=list)
    """Seconds of the clip or job audio that went into it."""
    filename: str | None = None
    speech_s: float = 0.0


class Voiceprint(BaseModel):
    """One sample of a speaker's voice: an L2-normalised embedding."""

    voiceprint_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    speaker_id: str
    embedding: list[float]
    source: VoiceprintSource
    created_at: float = Field(default_factory=time.time)


class Speaker(BaseModel):
    """An enrolled person of one owner."""

    speaker_id: str = Field(default_factory=lambda: "spk_" + uuid.uuid4().hex[:16])
    owner: str = ""
    """The API key's name (``""`` with auth off and no identity)."""
    name: str
    created_at: float = Field(default_factory=time.time)
    updated_at: float = Field(default_factory=time.time)


class SpeakerInfo(BaseModel):
    """A speaker as the API shows it (never the embeddings themselves)."""

    id: str
    name: str
    created_at: float
    updated_at: float
    samples: list[VoiceprintInfo]


class VoiceprintInfo(BaseModel):
    id: str
    created_at: float
    source: VoiceprintSource


SpeakerInfo.model_rebuild()


def speaker_info(speaker: Speaker, prints: list[Voiceprint]) -> SpeakerInfo:
    return SpeakerInfo(
        id=speaker.speaker_id,
        name=speaker.name,
        created_at=speaker.created_at,
        updated_at=speaker.updated_at,
        samples=[
            VoiceprintInfo(id=p.voiceprint_id, created_at=p.created_at, source=p.source)
            for p in prints
        ],
    )


class SpeakerMatch(BaseModel):
    """A diarized speaker named after an enrolled person, with the cosine score."""

    speaker_id: str
    name: str
    score: float
