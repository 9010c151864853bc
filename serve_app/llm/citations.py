"""Citations of a chat answer: the transcript segments it rests on (pure).

The chat prompt asks the model to end its answer with the ``[HH:MM:SS]`` times of the
lines it used. A cited time is kept only when a segment of the request's transcript starts
then; a time that matches no segment is dropped, never shown. A cited segment that shares
no content word with the answer (matched by :mod:`serve_app.llm.matching`) does not support
it (a small model misreads a time by a line or two): it is dropped when another cited one
does, and replaced when none does and some segment shares at least two words with the
answer. An answer that cites nothing usable gets the segments that share the most content
words with it (at least two), so a citation is always a real segment and never made up.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from serve_app.llm.matching import WordMatcher
from serve_app.llm.prompts import format_timestamp
from serve_app.llm.schemas import Citation, TranscriptLine

_TIME = re.compile(r"\b(\d{1,2}:\d{2}(?::\d{2})?)\b")
MAX_CITATIONS = 3


def _normalise(time: str) -> str:
    parts = [int(p) for p in time.split(":")]
    if len(parts) == 2:  # MM:SS
        parts = [0, *parts]
    hours, minutes, seconds = parts
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}"


def cited_times(answer: str) -> list[str]:
    """``HH:MM:SS`` times the answer mentions, in order, each once."""
    out: list[str] = []
    for match in _TIME.finditer(answer):
        try:
            time = _normalise(match.group(1))
        except ValueError:
            continue
        if time not in out:
            out.append(time)
    return out


def citations(answer: str, transcript: Sequence[TranscriptLine]) -> list[Citation]:
    """The segments ``answer`` cites (or, citing none, matches best), at most three."""
    timed = [s for s in transcript if s.text.strip() and (s.end > 0 or s.start > 0)]
    if not timed:
        return []
    by_time: dict[str, list[TranscriptLine]] = {}
    for segment in timed:
        by_time.setdefault(format_timestamp(segment.start), []).append(segment)
    chosen = [s for t in cited_times(answer) for s in by_time.get(t, [])]
    wanted = WordMatcher(_TIME.sub(" ", answer))
    supported = [s for s in chosen if wanted.shared(s.text)]
    chosen = supported or _best_matches(wanted, timed) or chosen
    return [
        Citation(start=s.start, end=s.end, speaker=s.speaker, text=s.text.strip())
        for s in chosen[:MAX_CITATIONS]
    ]


def _best_matches(wanted: WordMatcher, segments: Sequence[TranscriptLine]) -> list[TranscriptLine]:
    scored = [(wanted.shared(s.text), i) for i, s in enumerate(segments)]
    top = max((n for n, _ in scored), default=0)
    if top < 2:
        return []
    return [segments[i] for n, i in scored if n == top]
