"""Attach diarization speakers to ASR words and segments (pure Python, no torch).

Inputs are plain dicts or objects with the same attributes:

* ASR segment: ``{start, end, text, words: [{start, end, word, probability}]}``
  (faster-whisper ``Segment``/``Word`` objects work as they are);
* speaker turn: ``{start, end, speaker, confidence}`` -- use the *exclusive* turns of
  :class:`serve_app.diarization.DiarizationResult` (never two speakers at once).

Rules:

* A word gets the speaker whose turns overlap it the most. A word overlapping no turn
  (diarization missed it, or it sits in a pause) gets the *nearest* turn, so every word has a
  speaker as soon as diarization found any speech.
* A segment whose words change speaker is split at each change: the pieces take their text
  from the words, inner boundaries from the word times, and the outer boundaries from the
  original segment. A segment without words is attributed as a whole by the same rule.
* Confidence (0..1):

  - word: ``share * turn_confidence``, where ``share`` is the fraction of the word covered by
    the chosen speaker's turns and ``turn_confidence`` the overlap-weighted confidence of
    those turns; for a nearest-turn fallback ``share = 0.5 * exp(-gap / 1 s)``;
  - segment: ``speaker_confidence`` = duration-weighted mean of its word confidences
    (each word weighs at least 10 ms).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

MIN_WORD_WEIGHT = 0.01  # seconds; zero-length words still count


@dataclass
class AlignedWord:
    start: float
    end: float
    word: str
    probability: float = 1.0
    speaker: str | None = None
    speaker_confidence: float = 0.0


@dataclass
class AlignedSegment:
    start: float
    end: float
    text: str
    words: list[AlignedWord] = field(default_factory=list)
    speaker: str | None = None
    speaker_confidence: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Turn:
    start: float
    end: float
    speaker: str
    confidence: float


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


class TurnIndex:
    """Sorted speaker turns with fast overlap / nearest-turn queries."""

    def __init__(self, turns: Iterable[Any]) -> None:
        parsed = [
            _Turn(
                float(_get(t, "start")),
                float(_get(t, "end")),
                str(_get(t, "speaker")),
                float(_get(t, "confidence", 1.0) if _get(t, "confidence") is not None else 1.0),
            )
            for t in turns
        ]
        self.turns = sorted((t for t in parsed if t.end > t.start), key=lambda t: t.start)
        self._starts = [t.start for t in self.turns]
        # running max of ends: turns[i:] can only overlap [a, b) if max_end[i] > a
        self._max_end: list[float] = []
        m = -math.inf
        for t in self.turns:
            m = max(m, t.end)
            self._max_end.append(m)

    def __bool__(self) -> bool:
        return bool(self.turns)

    def attribute(self, start: float, end: float) -> tuple[str | None, float]:
        """(speaker, confidence) for the span [start, end] (see module docstring)."""
        if not self.turns:
            return None, 0.0
        if end < start:
            start, end = end, start
        if end - start < 1e-6:  # a point: look at a tiny window around it
            start, end = start - 5e-4, end + 5e-4
        overlap: dict[str, float] = {}
        weighted_conf: dict[str, float] = {}
        lo = bisect.bisect_left(self._max_end, start)  # first turn that may end after start
        hi = bisect.bisect_left(self._starts, end)  # turns starting before end
        for t in self.turns[lo:hi]:
            ov = min(end, t.end) - max(start, t.start)
            if ov > 0:
                overlap[t.speaker] = overlap.get(t.speaker, 0.0) + ov
                weighted_conf[t.speaker] = weighted_conf.get(t.speaker, 0.0) + ov * t.confidence
        if overlap:
            speaker = max(overlap, key=lambda s: overlap[s])
            share = min(1.0, overlap[speaker] / (end - start))
            return speaker, share * weighted_conf[speaker] / overlap[speaker]
        nearest, gap = self._nearest(start, end)
        return nearest.speaker, 0.5 * math.exp(-gap) * nearest.confidence

    def _nearest(self, start: float, end: float) -> tuple[_Turn, float]:
        i = bisect.bisect_left(self._starts, end)
        best: tuple[_Turn, float] | None = None
        # the next turn starting after the span, and the turns before it (scan back while
        # they could still be closer than the best candidate found so far)
        if i < len(self.turns):
            best = (self.turns[i], self.turns[i].start - end)
        for j in range(i - 1, -1, -1):
            t = self.turns[j]
            gap = max(0.0, start - t.end)
            if best is None or gap < best[1]:
                best = (t, gap)
            if best is not None and start - self._max_end[j] > best[1]:
                break
        assert best is not None
        return best


def assign_words(words: Iterable[Any], turns: TurnIndex | Iterable[Any]) -> list[AlignedWord]:
    """Give every word a speaker and a confidence."""
    index = turns if isinstance(turns, TurnIndex) else TurnIndex(turns)
    out = []
    for w in words:
        start, end = float(_get(w, "start")), float(_get(w, "end"))
        speaker, conf = index.attribute(start, end)
        out.append(
            AlignedWord(
                start=start,
                end=end,
                word=str(_get(w, "word", "")),
                probability=float(_get(w, "probability", 1.0) or 0.0),
                speaker=speaker,
                speaker_confidence=round(conf, 4),
            )
        )
    return out


def _segment_confidence(words: Sequence[AlignedWord]) -> float:
    num = den = 0.0
    for w in words:
        weight = max(MIN_WORD_WEIGHT, w.end - w.start)
        num += weight * w.speaker_confidence
        den += weight
    return round(num / den, 4) if den else 0.0


def _join(words: Sequence[AlignedWord]) -> str:
    return "".join(w.word for w in words).strip()


def align_segments(
    segments: Iterable[Any], turns: TurnIndex | Iterable[Any]
) -> list[AlignedSegment]:
    """Attach speakers to ASR segments, splitting segments where the speaker changes.

    Without any turn (no diarization, or silence) segments are returned unsplit with
    ``speaker=None`` and ``speaker_confidence=None``.
    """
    index = turns if isinstance(turns, TurnIndex) else TurnIndex(turns)
    out: list[AlignedSegment] = []
    for seg in segments:
        start, end = float(_get(seg, "start")), float(_get(seg, "end"))
        text = str(_get(seg, "text", "") or "")
        words = assign_words(_get(seg, "words") or [], index)
        if not index:
            for w in words:
                w.speaker_confidence = 0.0
            out.append(AlignedSegment(start, end, text.strip(), words))
            continue
        if not words:
            speaker, conf = index.attribute(start, end)
            out.append(AlignedSegment(start, end, text.strip(), [], speaker, round(conf, 4)))
            continue
        groups: list[list[AlignedWord]] = []
        for w in words:
            if groups and groups[-1][-1].speaker == w.speaker:
                groups[-1].append(w)
            else:
                groups.append([w])
        if len(groups) == 1:
            out.append(
                AlignedSegment(
                    start, end, text.strip(), words, words[0].speaker, _segment_confidence(words)
                )
            )
            continue
        for k, group in enumerate(groups):
            out.append(
                AlignedSegment(
                    start=start if k == 0 else group[0].start,
                    end=end if k == len(groups) - 1 else group[-1].end,
                    text=_join(group),
                    words=group,
                    speaker=group[0].speaker,
                    speaker_confidence=_segment_confidence(group),
                )
            )
    return out


def speaker_stats(segments: Iterable[AlignedSegment]) -> dict[str, float]:
    """Seconds of speech per speaker (from word times, segment times when no words)."""
    stats: dict[str, float] = {}
    for seg in segments:
        if seg.speaker is None:
            continue
        if seg.words:
            for w in seg.words:
                if w.speaker is not None:
                    stats[w.speaker] = stats.get(w.speaker, 0.0) + max(0.0, w.end - w.start)
        else:
            stats[seg.speaker] = stats.get(seg.speaker, 0.0) + max(0.0, seg.end - seg.start)
    return {k: round(v, 3) for k, v in sorted(stats.items())}
