"""Partial hypotheses as OpenAI's append-only ``delta`` events.

A delta cannot take text back, while each new hypothesis of the utterance so far may
change its last words. So a hypothesis adds only the words after those already sent, and
only while it still begins with them (compared without case and punctuation); its last
word is held back, as it is the one most likely cut mid-word. A hypothesis that disagrees
with what was sent adds nothing; the ``completed`` event carries the corrected text.
"""

from __future__ import annotations

import unicodedata


def _norm(word: str) -> str:
    kept = "".join(c for c in word if not unicodedata.category(c).startswith("P"))
    return kept.casefold()


class DeltaTracker:
    """Words sent as deltas for the utterance being spoken."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def reset(self) -> None:
        self.sent = []

    def delta(self, hypothesis: str, final: bool = False) -> str:
        """The text to append for ``hypothesis`` ('' for nothing)."""
        words = hypothesis.split()
        stable = words if final else words[:-1]
        if len(stable) <= len(self.sent):
            return ""
        if [_norm(w) for w in stable[: len(self.sent)]] != [_norm(w) for w in self.sent]:
            return ""
        new = stable[len(self.sent) :]
        text = (" " if self.sent else "") + " ".join(new)
        self.sent.extend(new)
        return text
