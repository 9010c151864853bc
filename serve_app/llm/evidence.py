"""Whether the transcript segments an item cites support it, in any language (rapidfuzz).

Words are runs of letters and digits of any script (``\\w`` without ``_``, case folded);
text in a script written without spaces (Chinese, Japanese, Thai) is read as overlapping
character pairs. No word list of any language is used: how much a word counts comes from
the transcript itself (inverse document frequency over its segments), so the words every
other line says ("the", "de", "и", "yeah") weigh little and the words of one topic much.

A word of an item is found in a segment when a word of the segment scores at least
:data:`WORD_CUTOFF` with it: rapidfuzz's ``fuzz.ratio``, or the share of the shorter word
that is a common prefix (inflections: ``décidé``/``décider``, ``молодых``/``молодые``), or
a part of a compound (``markt``/``zielmarkt``).
An item is supported when the words found weigh at least :data:`SUPPORT_CUTOFF` of its
words' weight, one of them a rare word (:meth:`Vocabulary.supports`).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Prefix

WORD_CUTOFF = 80.0
"""Score (0-100) at which a word of an item and a word of a segment are the same word."""
SUPPORT_CUTOFF = 0.34
"""Share of an item's word weight that its evidence must hold."""

_WORD = re.compile(r"[^\W_]+")
_NO_SPACES = re.compile(r"[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def tokens(text: str, fold: bool = True) -> list[str]:
    """The words of ``text``, case folded (unless ``fold`` is False); one-letter words
    left out (not digits), and a run of a script without spaces as its character pairs."""
    out: list[str] = []
    for word in _WORD.findall(text.casefold() if fold else text):
        if _NO_SPACES.search(word):
            out.extend(word[i : i + 2] for i in range(max(1, len(word) - 1)))
        elif len(word) > 1 or word.isdigit():
            out.append(word)
    return out


def word_score(a: str, b: str, score_cutoff: float | None = 0.0) -> float:
    """How alike two words are (0-100): ``fuzz.ratio``, or the common prefix's share of the
    shorter word when both have four letters or more, or 90 when a word of five letters
    or more is part of the other (a compound: ``markt`` in ``zielmarkt``)."""
    score = fuzz.ratio(a, b)
    shorter = min(len(a), len(b))
    if shorter >= 4:
        score = max(score, 100.0 * Prefix.similarity(a, b) / shorter)
    if shorter >= 5 and (a in b or b in a):
        score = max(score, 90.0)
    return score if score_cutoff is None or score >= score_cutoff else 0.0


class Vocabulary:
    """Word weights of one transcript (inverse document frequency over its segments)."""

    def __init__(self, segment_texts: Sequence[str]) -> None:
        self.segments = len(segment_texts)
        self.df: Counter[str] = Counter()
        for text in segment_texts:
            self.df.update(set(tokens(text)))
        weights = sorted(self._idf(n) for n in self.df.values())
        self.median = weights[len(weights) // 2] if weights else 1.0
        """The weight of a word the transcript never says (it neither backs nor sinks an
        item much: a paraphrase's own words)."""

    def _idf(self, df: int) -> float:
        return math.log((self.segments + 1) / (df + 0.5))

    def weight(self, word: str) -> float:
        df = self.df.get(word)
        return self.median if df is None else max(self._idf(df), 0.05)

    def support(
        self, text: str, evidence: Iterable[str], ignore: Iterable[str] = ()
    ) -> tuple[float, bool]:
        """Share (0-1) of the weight of ``text``'s words found in the ``evidence`` texts,
        and whether a word found is a rare one (in at most a quarter of the segments);
        the words ``ignore`` (the speaker labels': who said it, not what) count for
        neither."""
        wanted = sorted(set(tokens(text)) - set(ignore))
        have = sorted({w for e in evidence for w in tokens(e)})
        if not wanted or not have:
            return 0.0, False
        total = found = 0.0
        rare = False
        for word in wanted:
            w = self.weight(word)
            total += w
            if process.extractOne(word, have, scorer=word_score, score_cutoff=WORD_CUTOFF):
                found += w
                rare = rare or self.df.get(word, 1) <= max(1, self.segments // 4)
        return found / total, rare

    def supports(self, text: str, evidence: Iterable[str], ignore: Iterable[str] = ()) -> bool:
        """``text`` is backed by the ``evidence`` texts: :data:`SUPPORT_CUTOFF` of its
        weight found there, a rare word among the words found."""
        share, rare = self.support(text, evidence, ignore)
        return rare and share >= SUPPORT_CUTOFF


def occurs(name: str, texts: Iterable[str]) -> bool:
    """Every word of ``name`` is a word of one of ``texts`` (fuzzy, as :func:`word_score`);
    written as in ``name`` (capitals, when the texts have any: "Hmm" is not in "mm-hmm")."""
    texts = list(texts)
    cased = any(c.isupper() for t in texts for c in t)
    wanted = tokens(name, fold=not cased)
    have = sorted({w for t in texts for w in tokens(t, fold=not cased)})
    return bool(wanted) and all(
        process.extractOne(w, have, scorer=word_score, score_cutoff=90.0) for w in wanted
    )


def same_point(a: str, b: str, cutoff: float = 85.0) -> bool:
    """Two notes say the same thing: ``fuzz.token_set_ratio`` of their words, and the same
    figures ("ship on the 15th" is not "ship on the 25th")."""
    wa, wb = tokens(a), tokens(b)
    if _figures(wa) != _figures(wb):
        return False
    return fuzz.token_set_ratio(" ".join(wa), " ".join(wb)) >= cutoff


def _figures(words: Sequence[str]) -> set[str]:
    return {"".join(c for c in w if c.isdigit()) for w in words if any(c.isdigit() for c in w)}
