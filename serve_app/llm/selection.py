"""Which notes make a summary of ``max_length`` words: within each kind of note the most
specific first (names, figures, dates), the kinds taken in turn, as many as the words
allow; then shown in the order they were said.

No threshold decides what is small talk: the ranking only orders notes, and the budget
decides how far down the order a summary reaches.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import zip_longest

from serve_app.llm.output import count_words

DATE_WORDS = frozenset(
    "monday tuesday wednesday thursday friday saturday sunday january february march "
    "april may june july august september october november december today tomorrow "
    "tonight yesterday week weeks month months quarter year noon midnight morning "
    "afternoon evening deadline".split()
)

Point = tuple[str, str]
"""``(time, text)``: when it was said (``HH:MM:SS``) and the point's sentence."""


def specificity(text: str) -> int:
    """Specific words in a point: figures, date words, and capitalised words after the
    first (names, places, products)."""

    def specific(i: int, token: str) -> bool:
        bare = token.strip(".,;:!?()[]\"'")
        figure_or_date = any(c.isdigit() for c in bare) or bare.lower() in DATE_WORDS
        return figure_or_date or (i > 0 and bare[:1].isupper())

    return sum(specific(i, t) for i, t in enumerate(text.split()))


def select(kinds: Sequence[Sequence[Point]], max_words: int | None) -> list[str]:
    """The points to show: ``kinds`` holds each kind's points in time order (the first
    kind wins ties between kinds); ``max_words`` None keeps them all."""
    ranked = [sorted(points, key=lambda p: -specificity(p[1])) for points in kinds]
    order = [p for turn in zip_longest(*ranked) for p in turn if p is not None]
    chosen: list[Point] = []
    used = 0
    for point in order:
        n = count_words(point[1])
        if max_words is not None and used + n > max_words:
            continue  # a shorter point further down may still fit
        chosen.append(point)
        used += n
    if not chosen and order:
        chosen = [order[0]]  # none fits whole: the first, which the format step cuts
    return [text for _, text in sorted(chosen, key=lambda p: p[0])]
