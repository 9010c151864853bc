"""Transcript data: words and segments as the ASR produces them, and the pure functions
that turn per-chunk output into one time-ordered, non-overlapping transcript."""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from serve_app.transcript.timefmt import format_display


class Word(BaseModel):
    """One word with absolute timestamps (seconds) and the engine's probability; its speaker
    once diarization has been aligned with the words."""

    start: float
    end: float
    word: str
    probability: float
    speaker: str | None = None
    speaker_confidence: float | None = None


class Segment(BaseModel):
    """A transcript segment with absolute timestamps (seconds from the start of the file)."""

    id: str | None = None
    """Stable within its job: the position of its ASR segment in the transcript, ``.<k>`` for
    the k-th further piece of one split at a speaker change
    (``serve_app.diarization.revisions``)."""
    start: float
    end: float
    text: str
    words: list[Word] = Field(default_factory=list)
    speaker: str | None = None
    speaker_confidence: float | None = None
    speaker_id: str | None = None
    """The enrolled person ``speaker`` names (``serve_app.speakers``); None: unknown."""
    speaker_match: float | None = None
    """Cosine score of that match."""
    avg_logprob: float | None = None
    no_speech_prob: float | None = None
    compression_ratio: float | None = None
    temperature: float | None = None
    tokens: list[int] = Field(default_factory=list)

    def to_public(self) -> dict[str, object]:
        """The reference API's segment object."""
        return {
            "id": self.id,
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "text": self.text,
            "speaker": self.speaker,
            "speaker_confidence": self.speaker_confidence,
            "speaker_id": self.speaker_id,
            "speaker_match": self.speaker_match,
            "start_display": format_display(self.start),
            "end_display": format_display(self.end),
        }


# Whisper emits these for non-speech when VAD lets a pause through.
_NON_SPEECH = re.compile(r"^[\s\W_]*$|^\s*[\[(](silence|music|blank_audio|noise)[\])]\s*$", re.I)


def is_silence(segment: Segment) -> bool:
    """True for segments with no spoken words (empty, punctuation only, ``[silence]``)."""
    return bool(_NON_SPEECH.match(segment.text))


def shift_segments(segments: list[Segment], offset: float) -> list[Segment]:
    """Move chunk-relative timestamps to absolute time."""
    return [
        seg.model_copy(
            update={
                "start": seg.start + offset,
                "end": seg.end + offset,
                "words": [
                    w.model_copy(update={"start": w.start + offset, "end": w.end + offset})
                    for w in seg.words
                ],
            }
        )
        for seg in segments
    ]


def finalize_chunk_segments(
    segments: list[Segment], offset: float, chunk_end: float, previous_end: float
) -> list[Segment]:
    """Absolute, speech-only, monotonic segments for one chunk.

    Whisper can stretch the last segment past the end of its audio and the first one before
    the previous chunk's last word; clamping to ``[previous_end, chunk_end]`` keeps the whole
    transcript ordered and non-overlapping.
    """
    result: list[Segment] = []
    cursor = previous_end
    for seg in shift_segments(segments, offset):
        if is_silence(seg):
            continue
        start = min(max(seg.start, cursor), chunk_end)
        end = min(max(seg.end, start), chunk_end)
        if end <= start and seg.end > seg.start:
            continue  # nothing left of it after clamping
        words = [
            w.model_copy(
                update={
                    "start": min(max(w.start, start), end),
                    "end": min(max(w.end, start), end),
                }
            )
            for w in seg.words
        ]
        result.append(
            seg.model_copy(
                update={"start": start, "end": end, "text": seg.text.strip(), "words": words}
            )
        )
        cursor = end
    return result


def join_text(segments: list[Segment]) -> str:
    """The full transcript text."""
    return " ".join(seg.text.strip() for seg in segments if seg.text.strip())
