"""Which notes make a summary of ``max_length`` words: within each kind of note the most
specific first (names, figures, dates), the kinds taken in turn, as many as the words
allow; then shown in the order they were said. A note that says nothing another does not
(its words and figures all in the other's) is left out first: a small model files one
remark as a decision, an action item and an open question at once, and a decision is
often said twice.

No threshold decides what is small talk: the ranking only orders notes, and the budget
decides how far down the order a summary reaches.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import zip_longest
from typing import NamedTuple

from serve_app.llm.context import content_words
from serve_app.llm.output import count_words

WEEKDAYS = "monday tuesday wednesday thursday friday saturday sunday".split()
MONTHS = (
    "January February March April May June July August September October November December"
).split()
DATE_WORDS = frozenset(
    WEEKDAYS
    + [m.lower() for m in MONTHS]
    + "today tomorrow tonight yesterday week weeks month months quarter year noon midnight "
    "morning afternoon evening deadline".split()
)

_FIGURE = re.compile(r"\d+(?:[,.:]\d+)*%?")


class Point(NamedTuple):
    time: str
    """When it was said (``HH:MM:SS``)."""
    text: str
    """The point's sentence."""
    body: str = ""
    """What the note says, without its label ("Open question:", the owner); the text when
    empty. Compared between points to find repeats (:func:`repeats`)."""


def specificity(text: str) -> int:
    """Specific words in a point: figures, date words, and capitalised words that do not
    start a sentence or follow a colon (names, places, products)."""
    tokens = text.split()

    def specific(i: int, token: str) -> bool:
        bare = token.strip(".,;:!?()[]\"'")
        figure_or_date = any(c.isdigit() for c in bare) or bare.lower() in DATE_WORDS
        starts = i == 0 or tokens[i - 1].endswith((".", "!", "?", ":"))
        return figure_or_date or (not starts and bare[:1].isupper())

    return sum(specific(i, t) for i, t in enumerate(tokens))


def said_words(text: str) -> frozenset[str]:
    """What a point says, as a set: its content words and its figures."""
    return frozenset(content_words(text)) | frozenset(_FIGURE.findall(text))


def repeats(points: Sequence[Point]) -> set[int]:
    """Indices of the points that say nothing another does not: a point whose body's words
    and figures are all in another's (of two equal ones, the later)."""
    said = [said_words(p.body or p.text) for p in points]
    return {
        i
        for i in range(len(points))
        for j in range(len(points))
        if j != i and said[i] and said[i] <= said[j] and (said[i] < said[j] or j < i)
    }


def select(kinds: Sequence[Sequence[tuple[str, ...]]], max_words: int | None) -> list[str]:
    """The points to show: ``kinds`` holds each kind's points (:class:`Point`, or
    ``(time, text)``) in time order; the first kind wins ties between kinds;
    ``max_words`` None keeps them all."""
    tagged = [(k, Point(*p)) for k, kind in enumerate(kinds) for p in kind]
    dropped = repeats([p for _, p in tagged])
    ranked = [
        sorted(
            (p for i, (k, p) in enumerate(tagged) if k == kind and i not in dropped),
            key=lambda p: -specificity(p.text),
        )
        for kind in range(len(kinds))
    ]
    order = [p for turn in zip_longest(*ranked) for p in turn if p is not None]
    chosen: list[Point] = []
    used = 0
    for point in order:
        n = count_words(point.text)
        if max_words is not None and used + n > max_words:
            continue  # a shorter point further down may still fit
        chosen.append(point)
        used += n
    if not chosen and order:
        chosen = [order[0]]  # none fits whole: the first, which the format step cuts
    return [p.text for p in sorted(chosen, key=lambda p: p.time)]
