"""Per-request decoding options and what one ASR call returns for one chunk."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from serve_app.transcript.segments import Segment


class DecodeOptions(BaseModel):
    """Per-request decoding options sent with every chunk."""

    task: Literal["transcribe", "translate"] = "transcribe"
    prompt: str | None = None
    temperature: float | None = None


WHISPER_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


def temperature_schedule(temperature: float | None) -> tuple[float, ...]:
    """Whisper's fallback schedule starting at ``temperature`` (0/unset: the full schedule).

    Decoding retries at the next temperature when the output looks like a failure
    (compression ratio or log-probability thresholds), as the OpenAI API does.
    """
    if not temperature:
        return WHISPER_TEMPERATURES
    return (temperature, *(t for t in WHISPER_TEMPERATURES if t > temperature))


class ChunkTranscript(BaseModel):
    """What one ASR call returns for one chunk (timestamps relative to the chunk)."""

    segments: list[Segment]
    language: str
    language_probability: float
    duration: float
    """Seconds of audio in the chunk."""
    transcribe_s: float
    """Wall time the engine spent on the chunk."""
