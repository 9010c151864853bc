"""Pure helpers for re-running one segment with another model."""

from __future__ import annotations

import math

from pydantic import BaseModel

from serve_app.transcript.segments import Segment


class SpanTranscript(BaseModel):
    """What re-transcribing a span returns."""

    text: str
    confidence: float
    speaker: str | None
    model_used: str


def confidence(segments: list[Segment]) -> float:
    """Geometric-mean token probability: ``exp(Σ avg_logprob_i · n_i / Σ n_i)``.

    ``avg_logprob_i`` is the engine's mean token log-probability of segment ``i`` and ``n_i``
    its token count, so the result is ``exp`` of the mean log-probability over every decoded
    token, in 0..1 (1: every token certain). No tokens: 0.
    """
    weighted = total = 0.0
    for seg in segments:
        if seg.avg_logprob is None:
            continue
        n = max(1, len(seg.tokens))
        weighted += seg.avg_logprob * n
        total += n
    return round(math.exp(weighted / total), 4) if total else 0.0


def _overlap(seg: Segment, start: float, end: float) -> float:
    return max(0.0, min(seg.end, end) - max(seg.start, start))


def speaker_for_span(segments: list[Segment], start: float, end: float) -> str | None:
    """The speaker who talks most in ``[start, end]`` according to the job's segments."""
    talk: dict[str, float] = {}
    for seg in segments:
        if seg.speaker and (o := _overlap(seg, start, end)) > 0:
            talk[seg.speaker] = talk.get(seg.speaker, 0.0) + o
    return max(talk, key=lambda s: talk[s]) if talk else None


def replace_span(
    segments: list[Segment], start: float, end: float, replacement: SpanTranscript
) -> list[Segment]:
    """The job's segments with those mostly inside ``[start, end]`` replaced by one segment."""

    def inside(seg: Segment) -> bool:
        return _overlap(seg, start, end) > 0.5 * max(seg.end - seg.start, 1e-3)

    kept = [s for s in segments if not inside(s)]
    new = Segment(
        start=start,
        end=end,
        text=replacement.text,
        speaker=replacement.speaker,
        speaker_confidence=None,
    )
    return sorted([*kept, new], key=lambda s: s.start)
