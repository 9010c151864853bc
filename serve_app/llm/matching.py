"""Which transcript lines a chat answer's words come from (rapidfuzz), for its citations.
(Whether a note's cited lines support it is :mod:`serve_app.llm.evidence`.)

A text's *content words* (:func:`serve_app.llm.context.content_words`: no stopwords, no
labels, no numbers) are compared with a line's. Two words count as one when rapidfuzz's
``fuzz.ratio`` of the two is at least :data:`WORD_CUTOFF`: the same word, or a word of six
letters or more one letter off (``release``/``released``, a misspelt ``recieve``). Each word
of the text counts once, however often the line says it.
"""

from __future__ import annotations

import numpy as np
from rapidfuzz import fuzz, process

from serve_app.llm.context import content_words

WORD_CUTOFF = 90.0
"""``fuzz.ratio`` (0-100) at which two content words match."""


class WordMatcher:
    """Content words of one text, matched against line after line (each distinct word of
    the lines is scored against the text's words once)."""

    def __init__(self, text: str) -> None:
        self.words = sorted(set(content_words(text)))
        self._matches: dict[str, frozenset[int]] = {}

    def shared(self, line: str) -> int:
        """How many of the text's content words ``line`` holds."""
        if not self.words:
            return 0
        have = set(content_words(line))
        new = [w for w in have if w not in self._matches]
        if new:
            scores = process.cdist(
                new, self.words, scorer=fuzz.ratio, score_cutoff=WORD_CUTOFF, workers=1
            )
            for word, row in zip(new, scores, strict=True):
                self._matches[word] = frozenset(int(i) for i in np.flatnonzero(row))
        found: set[int] = set()
        for word in have:
            found |= self._matches[word]
        return len(found)
