"""Real-speech evaluation: this project's pipeline against the bare engines it wraps, on
the same real recordings, in the same run (data: ``eval/real_data.py``; the two sides:
``eval/real_pipeline.py``; the CLI and tables: ``bench/real_speech.py``).

Metrics:

* **DER** with pyannote.metrics (``DiarizationErrorRate``), with its parts (missed speech,
  false alarm, speaker confusion, as shares of reference speech); with a 0.25 s collar
  (pyannote's ``collar=0.25``) and none; overlapped speech scored, and excluded
  (``skip_overlap``). Totals are pooled over files (sum of errors / sum of speech).
* **Speaker count**: speakers found against speakers in the reference.
* **WER** with jiwer on Whisper's text normaliser (``EnglishTextNormalizer`` for English,
  ``BasicTextNormalizer`` otherwise, from transformers), with deletions, substitutions and
  insertions counted.
* **RTF**: processing seconds / audio seconds on this CPU.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

Turns = Sequence[tuple[float, float, str]]


@dataclass
class DerScore:
    total: float = 0.0
    """Reference speech (s)."""
    miss: float = 0.0
    false_alarm: float = 0.0
    confusion: float = 0.0

    @property
    def der(self) -> float:
        return (self.miss + self.false_alarm + self.confusion) / self.total if self.total else 0.0

    def share(self, part: str) -> float:
        return float(getattr(self, part)) / self.total if self.total else 0.0

    def __add__(self, other: DerScore) -> DerScore:
        return DerScore(
            self.total + other.total,
            self.miss + other.miss,
            self.false_alarm + other.false_alarm,
            self.confusion + other.confusion,
        )


def annotation(turns: Turns) -> Any:
    from pyannote.core import Annotation, Segment

    a = Annotation()
    for i, (s, e, spk) in enumerate(turns):
        if e > s:
            a[Segment(s, e), i] = spk
    return a


def der(ref: Turns, hyp: Turns, collar: float = 0.25, skip_overlap: bool = False) -> DerScore:
    from pyannote.metrics.diarization import DiarizationErrorRate

    metric = DiarizationErrorRate(collar=collar, skip_overlap=skip_overlap)
    d = metric(annotation(ref), annotation(hyp), detailed=True)
    return DerScore(d["total"], d["missed detection"], d["false alarm"], d["confusion"])


DER_VARIANTS = {
    "c0.25": {"collar": 0.25, "skip_overlap": False},
    "c0": {"collar": 0.0, "skip_overlap": False},
    "c0.25_no_ovl": {"collar": 0.25, "skip_overlap": True},
    "c0_no_ovl": {"collar": 0.0, "skip_overlap": True},
}


def der_all(ref: Turns, hyp: Turns) -> dict[str, DerScore]:
    return {k: der(ref, hyp, **v) for k, v in DER_VARIANTS.items()}  # type: ignore[arg-type]


def speaker_count(turns: Turns, min_speech_s: float = 0.0) -> int:
    """Speakers with more than ``min_speech_s`` of speech."""
    speech: dict[str, float] = {}
    for s, e, spk in turns:
        speech[spk] = speech.get(spk, 0.0) + max(0.0, e - s)
    return sum(1 for v in speech.values() if v > min_speech_s)


def normalizer(language: str | None) -> Any:
    from transformers.models.whisper.english_normalizer import (
        BasicTextNormalizer,
        EnglishTextNormalizer,
    )

    if language == "en":
        return EnglishTextNormalizer({})
    return BasicTextNormalizer()


@dataclass
class WerScore:
    words: int = 0
    substitutions: int = 0
    deletions: int = 0
    insertions: int = 0

    @property
    def wer(self) -> float:
        errors = self.substitutions + self.deletions + self.insertions
        return errors / self.words if self.words else 0.0


def wer(reference: str, hypothesis: str, language: str | None) -> WerScore:
    import jiwer

    norm = normalizer(language)
    ref, hyp = norm(reference).strip(), norm(hypothesis).strip()
    out = jiwer.process_words(ref, hyp or "")
    return WerScore(
        out.hits + out.substitutions + out.deletions,
        out.substitutions,
        out.deletions,
        out.insertions,
    )


@dataclass
class DiarRow:
    file: str
    system: str
    duration: float
    ref_speakers: int
    hyp_speakers: int
    seconds: float
    scores: dict[str, DerScore] = field(default_factory=dict)

    @property
    def rtf(self) -> float:
        return self.seconds / self.duration if self.duration else 0.0


@dataclass
class AsrRow:
    file: str
    system: str
    language: str
    duration: float
    seconds: float
    score: WerScore

    @property
    def rtf(self) -> float:
        return self.seconds / self.duration if self.duration else 0.0


def pooled_der(rows: Sequence[DiarRow], variant: str) -> DerScore:
    total = DerScore()
    for r in rows:
        total = total + r.scores[variant]
    return total


def pooled_wer(rows: Sequence[AsrRow]) -> WerScore:
    out = WerScore()
    for r in rows:
        s = r.score
        out.words += s.words
        out.substitutions += s.substitutions
        out.deletions += s.deletions
        out.insertions += s.insertions
    return out
