"""What diarization produces: speaker turns, the result of one file, the messages the
diarizer replica streams, and how speakers are numbered."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from pydantic import BaseModel, Field


def number_speakers(labels: Iterable[str | None]) -> dict[str, str]:
    """``SPEAKER_1, SPEAKER_2, ...`` for ``labels`` in order of first appearance."""
    names: dict[str, str] = {}
    for label in labels:
        if label is not None and label not in names:
            names[label] = f"SPEAKER_{len(names) + 1}"
    return names


@dataclass
class SpeakerTurn:
    """One speech turn of one speaker.

    ``start``/``end`` are seconds from the start of the audio, ``speaker`` is ``SPEAKER_<n>``
    (numbered from 1 in order of first appearance), ``confidence`` is in 0..1: how sure the
    diarizer is that this stretch belongs to this speaker (see ``_turn_confidences``): low for
    turns whose embeddings sit between two speaker centroids, for overlapped speech and for
    very short turns.
    """

    start: float
    end: float
    speaker: str
    confidence: float

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass
class DiarizationResult:
    """Output of :meth:`PyannoteDiarizer.diarize`.

    ``turns`` may overlap (two people talking at once); ``exclusive_turns`` never overlap (at
    most one speaker at any time) and are what ASR words should be aligned with.
    """

    turns: list[SpeakerTurn] = field(default_factory=list)
    exclusive_turns: list[SpeakerTurn] = field(default_factory=list)
    speakers: list[str] = field(default_factory=list)
    duration: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    covered_s: float = 0.0
    """Audio the turns cover so far (a provisional result of a live pass ends there)."""
    final: bool = True
    """False for the provisional results of :meth:`PyannoteDiarizer.stream`."""
    centroids: dict[str, list[float]] = field(default_factory=dict)
    """Voiceprints of the speakers, when the replica computed them (known speakers)."""

    @property
    def num_speakers(self) -> int:
        return len(self.speakers)

    def to_dict(self) -> dict[str, Any]:
        return {
            "speakers": list(self.speakers),
            "duration": self.duration,
            "turns": [asdict(t) for t in self.turns],
            "exclusive_turns": [asdict(t) for t in self.exclusive_turns],
        }


class DiarizationOutput(BaseModel):
    """Exclusive turns (never two speakers at once) for aligning words, and the
    overlap-aware turns (``turns``: two people may talk at once) that the result keeps, of
    the audio up to ``covered_s``; ``final``: the consistent pass over the whole file."""

    exclusive_turns: list[dict[str, Any]]
    turns: list[dict[str, Any]] = Field(default_factory=list)
    speakers: list[str]
    diarize_s: float
    covered_s: float
    final: bool
    centroids: dict[str, list[float]] = Field(default_factory=dict)
    """Each speaker's voiceprint over its exclusive turns so far
    (``serve_app.speakers.voiceprint``): what known speakers are matched with."""
