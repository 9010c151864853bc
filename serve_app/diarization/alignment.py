"""Attach diarization speakers to ASR words and segments (pure Python, no torch).

Inputs are transcript :class:`~serve_app.transcript.segments.Segment` objects and speaker
turns ``{start, end, speaker, confidence}`` (dicts or objects with those attributes): use
the *exclusive* turns of :class:`serve_app.diarization.results.DiarizationResult` (never
two speakers at once).

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
from dataclasses import dataclass
from typing import Any

from serve_app.transcript.segments import Segment, Word

MIN_WORD_WEIGHT = 0.01  # seconds; zero-length words still count


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


def _index(turns: TurnIndex | Iterable[Any]) -> TurnIndex:
    return turns if isinstance(turns, TurnIndex) else TurnIndex(turns)


def assign_words(words: Iterable[Word], turns: TurnIndex | Iterable[Any]) -> list[Word]:
    """Copies of ``words`` with a speaker and a speaker confidence each."""
    index = _index(turns)
    out = []
    for w in words:
        speaker, conf = index.attribute(w.start, w.end)
        out.append(
            w.model_copy(
                update={
                    "speaker": speaker,
                    "speaker_confidence": round(conf, 4) if speaker else None,
                }
            )
        )
    return out


def _segment_confidence(words: Sequence[Word]) -> float:
    num = den = 0.0
    for w in words:
        weight = max(MIN_WORD_WEIGHT, w.end - w.start)
        num += weight * (w.speaker_confidence or 0.0)
        den += weight
    return round(num / den, 4) if den else 0.0


def align_segments(segments: Iterable[Segment], turns: TurnIndex | Iterable[Any]) -> list[Segment]:
    """Attach speakers to ASR segments, splitting segments where the speaker changes.

    Without any turn (no diarization, or silence) segments are returned unsplit with
    ``speaker=None`` and ``speaker_confidence=None``. A split piece has no token ids (they
    belong to the whole Whisper segment).
    """
    index = _index(turns)
    out: list[Segment] = []
    for seg in segments:
        text = seg.text.strip()
        if not index:
            out.append(seg.model_copy(update={"text": text}))
            continue
        if not seg.words:
            speaker, conf = index.attribute(seg.start, seg.end)
            out.append(
                seg.model_copy(
                    update={"text": text, "speaker": speaker, "speaker_confidence": round(conf, 4)}
                )
            )
            continue
        words = assign_words(seg.words, index)
        groups: list[list[Word]] = []
        for w in words:
            if groups and groups[-1][-1].speaker == w.speaker:
                groups[-1].append(w)
            else:
                groups.append([w])
        if len(groups) == 1:
            update = {
                "text": text,
                "words": words,
                "speaker": words[0].speaker,
                "speaker_confidence": _segment_confidence(words),
            }
            out.append(seg.model_copy(update=update))
            continue
        for k, group in enumerate(groups):
            piece = {
                "start": seg.start if k == 0 else group[0].start,
                "end": seg.end if k == len(groups) - 1 else group[-1].end,
                "text": "".join(w.word for w in group).strip(),
                "words": group,
                "speaker": group[0].speaker,
                "speaker_confidence": _segment_confidence(group),
                "tokens": [],
            }
            out.append(seg.model_copy(update=piece))
    return out


def speaker_stats(segments: Iterable[Segment]) -> dict[str, float]:
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


def map_speakers(turns: Sequence[Any], shown: Sequence[Any]) -> list[dict[str, Any]]:
    """``turns`` (labels of a new diarization pass) renamed to the names already ``shown``,
    so that as few labels as possible change and a name never moves to another voice
    (:func:`speaker_names`)."""
    names = speaker_names(turns, shown)
    return rename_turns(turns, names)


def rename_turns(turns: Sequence[Any], names: dict[str, str]) -> list[dict[str, Any]]:
    """``turns`` as dicts, each label replaced by its name (a label without one is kept)."""
    return [
        {
            "start": float(_get(t, "start")),
            "end": float(_get(t, "end")),
            "speaker": names.get(str(_get(t, "speaker")), str(_get(t, "speaker"))),
            "confidence": _get(t, "confidence", 1.0),
        }
        for t in turns
    ]


def speaker_names(
    turns: Sequence[Any], shown: Sequence[Any], extra_labels: Sequence[str] = ()
) -> dict[str, str]:
    """The name of each label of ``turns`` (exclusive turns of a new pass) among the names
    already ``shown`` (exclusive turns too).

    Each new label takes the shown name it shares the most speech time with (one-to-one,
    Hungarian on the overlap); a label that overlaps no shown name gets a new one,
    ``SPEAKER_<n>`` after the highest number shown, in order of first appearance, then the
    ``extra_labels`` (labels of the pass's overlap-aware turns that have no exclusive turn).
    """
    from scipy.optimize import linear_sum_assignment

    rows = [
        (float(_get(t, "start")), float(_get(t, "end")), str(_get(t, "speaker"))) for t in turns
    ]
    old = [(float(_get(t, "start")), float(_get(t, "end")), str(_get(t, "speaker"))) for t in shown]
    new_labels = list(dict.fromkeys(lab for _, _, lab in sorted(rows, key=lambda r: r[0])))
    new_labels += [lab for lab in dict.fromkeys(extra_labels) if lab not in new_labels]
    old_labels = list(dict.fromkeys(lab for _, _, lab in old))
    names: dict[str, str] = {}
    if new_labels and old_labels:
        overlap = [[0.0] * len(old_labels) for _ in new_labels]
        new_pos = {lab: i for i, lab in enumerate(new_labels)}
        old_pos = {lab: j for j, lab in enumerate(old_labels)}
        # both sets are exclusive turns (no overlap inside a set): one merge-like sweep
        a = sorted(rows)
        b = sorted(old)
        i = j = 0
        while i < len(a) and j < len(b):
            ov = min(a[i][1], b[j][1]) - max(a[i][0], b[j][0])
            if ov > 0:
                overlap[new_pos[a[i][2]]][old_pos[b[j][2]]] += ov
            if a[i][1] <= b[j][1]:
                i += 1
            else:
                j += 1
        matched_rows, matched_cols = linear_sum_assignment(overlap, maximize=True)
        for i, j in zip(matched_rows, matched_cols, strict=True):
            if overlap[i][j] > 0:
                names[new_labels[i]] = old_labels[j]
    taken = [int(n.rsplit("_", 1)[1]) for n in old_labels if n.rsplit("_", 1)[-1].isdigit()]
    next_number = max(taken, default=0) + 1
    for lab in new_labels:
        if lab not in names:
            names[lab] = f"SPEAKER_{next_number}"
            next_number += 1
    return names
