"""Who each speaker label is, read off the speakers' own introductions (pure, no model).

Diarization labels speakers ``SPEAKER_1``, ``SPEAKER_2``...; people in a meeting say who
they are ("Priya here", "Helen speaking, from product", "Hi, I'm Owen", "This is Dana from
finance"). The model's people notes miss some of these in a long chunk, and a label left
unnamed shows as ``SPEAKER_4`` in the summary, so the introductions are read here: a
label is named by the first introduction said under it. Only the speaker's own line
counts; "Hi Jason" greets someone else and "Jason here" in another's line is not read.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from serve_app.llm.cues import NOT_NAMES
from serve_app.llm.schemas import TranscriptLine

_NAME = r"([A-Z][a-z]+(?:-[A-Z][a-z]+)?)"
_GREETING = r"(?:hi|hello|hey|morning|afternoon|evening|good (?:morning|afternoon|evening))"
_INTRODUCTIONS = [
    # "Priya here", "Helen speaking", "Marcus here, from QA"
    re.compile(rf"(?:^|[.!?,] |^{_GREETING}[^.!?]*?,? ){_NAME} (?:here|speaking)\b"),
    # "I'm Owen", "I am Owen", "this is Owen", "it's Owen here", "my name is Owen"
    re.compile(rf"\b(?:I'm|I am|[Tt]his is|[Ii]t's) {_NAME}\b(?=[,.!?]| from\b| here\b|$)"),
    re.compile(rf"\b[Mm]y name is {_NAME}\b"),
    # "Hi, Jason from recruiting", "And Derek, from people ops"
    re.compile(rf"^(?i:{_GREETING})(?: (?i:everyone|all|team|folks|there))?,? {_NAME},? from\b"),
    re.compile(rf"^(?:[Aa]nd |[Ss]o )?{_NAME}, from\b"),
]


def introduced(text: str) -> str | None:
    """The name a speaker gives as their own in ``text``, if they introduce themselves."""
    for pattern in _INTRODUCTIONS:
        for match in pattern.finditer(text.strip()):
            name = match.group(1)
            if name[:1].isupper() and name.capitalize() not in NOT_NAMES:
                return name
    return None


def speakers(segments: Sequence[TranscriptLine]) -> dict[str, str]:
    """Speaker label -> the first name said in an introduction under that label."""
    out: dict[str, str] = {}
    for segment in segments:
        label = (segment.speaker or "").strip()
        if label and label not in out and (name := introduced(segment.text)):
            out[label] = name
    return out
