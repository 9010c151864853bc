"""Partial hypotheses as OpenAI's append-only ``delta`` events.

A delta cannot take text back, while each new hypothesis of the utterance so far may
change its last words. So a hypothesis adds only the words after those already sent, and
only while it still begins with them (compared without case and punctuation). Words that
end less than :data:`SETTLE_S` before the end of the audio decoded are held back, as they may
be cut mid-word (without word times: the last word). A hypothesis that disagrees with what
was sent adds nothing; the ``completed`` event carries the corrected text.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from serve_app.transcript.segments import Segment

SETTLE_S = 0.25
"""A word of a partial hypothesis is sent once it ends this long before the audio does."""


def _norm(word: str) -> str:
    kept = "".join(c for c in word if not unicodedata.category(c).startswith("P"))
    return kept.casefold()


class DeltaTracker:
    """Words sent as deltas for the utterance being spoken."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def reset(self) -> None:
        self.sent = []

    def delta(self, hypothesis: str, final: bool = False, settled: int | None = None) -> str:
        """The text to append for ``hypothesis`` ('' for nothing); ``settled``: how many of
        its first words may be sent (None: all but the last, or all when ``final``)."""
        words = hypothesis.split()
        stable = words if final else words[: len(words) - 1 if settled is None else settled]
        if len(stable) <= len(self.sent):
            return ""
        if [_norm(w) for w in stable[: len(self.sent)]] != [_norm(w) for w in self.sent]:
            return ""
        new = stable[len(self.sent) :]
        text = (" " if self.sent else "") + " ".join(new)
        self.sent.extend(new)
        return text


def hypothesis(segments: Sequence[Segment], duration_s: float) -> tuple[str, int | None]:
    """A partial pass's text and how many of its words have settled (ended
    :data:`SETTLE_S` before ``duration_s``, the audio decoded); None without word times."""
    words = [w for s in segments for w in s.words if w.word.strip()]
    if not words:
        return " ".join(s.text.strip() for s in segments if s.text.strip()), None
    text = " ".join(w.word.strip() for w in words)
    settled = 0
    for w in words:
        if w.end > duration_s - SETTLE_S:
            break
        settled += len(w.word.split())
    return text, settled
