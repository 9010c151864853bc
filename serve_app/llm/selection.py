"""Which notes make a summary of ``max_length`` words: first the notes whose line says in
so many words that they are a decision, a task with a deadline or an open question, then
those that say a figure, then the model's other notes; within each, the kinds in turn and
each kind's most specific first (names, figures, dates); as many as the words allow, then
shown in the order they were said. A note that says nothing another does not
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

from serve_app.llm import cues
from serve_app.llm.context import content_words
from serve_app.llm.cues import MONTHS, WEEKDAYS
from serve_app.llm.notes import ActionNote, ChunkNotes, Quote, speaker_names
from serve_app.llm.output import count_words

DATE_WORDS = frozenset(
    WEEKDAYS
    + [m.lower() for m in MONTHS]
    + "today tomorrow tonight yesterday week weeks month months quarter year noon midnight "
    "morning afternoon evening deadline".split()
)

KIND_CUE, FIGURE = 2, 1
"""A :class:`Point`'s ``support``."""

_FIGURE = re.compile(r"\d+(?:[,.:]\d+)*%?")


class Point(NamedTuple):
    time: str
    """When it was said (``HH:MM:SS``)."""
    text: str
    """The point's sentence."""
    body: str = ""
    """What the note says, without its label ("Open question:", the owner); the text when
    empty. Compared between points to find repeats (:func:`repeats`)."""
    support: int = 0
    """What besides the model says it is a note: ``KIND_CUE`` when its line's wording
    says it is this kind of note (a decision word, a deadline, "that stays open":
    :mod:`serve_app.llm.cues`), ``FIGURE`` when the line says a figure, else 0."""


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


def keepers(points: Sequence[Point]) -> dict[int, int]:
    """Each point that says nothing another does not (its body's words and figures all in
    the other's), by index, with the index of the point that says it all. Of two equal
    ones the better supported stays, else the earlier."""
    said = [said_words(p.body or p.text) for p in points]

    def stays(j: int, i: int) -> bool:  # j stays rather than i
        if said[i] < said[j]:
            return True
        return (points[j].support, -j) > (points[i].support, -i)

    out: dict[int, int] = {}
    for i in range(len(points)):
        for j in range(len(points)):
            if j != i and said[i] and said[i] <= said[j] and stays(j, i):
                out[i] = j
                break
    return out


def repeats(points: Sequence[Point]) -> set[int]:
    """Indices of the points that say nothing another does not (:func:`keepers`)."""
    return set(keepers(points))


def ranked(kinds: Sequence[Sequence[Point | tuple[str, str]]]) -> list[Point]:
    """Every point that is not a repeat, in the order :func:`select` takes them: those
    whose wording says they are their kind of note, the kinds in turn and each kind's
    most specific first; then those that say a figure, the same way; then the rest.
    ``kinds`` holds each kind's points (:class:`Point`, or ``(time, text)``); the first
    kind wins ties between kinds."""
    tagged = [(k, Point(*p)) for k, kind in enumerate(kinds) for p in kind]
    dropped = keepers([p for _, p in tagged])
    for i, j in dropped.items():  # the point kept has the support of its repeats
        while j in dropped:
            j = dropped[j]
        kind, kept = tagged[j]
        tagged[j] = (kind, kept._replace(support=max(kept.support, tagged[i][1].support)))

    def turns(support: int) -> list[Point]:
        """The kinds' points of this support in turn, each kind's most specific first."""
        ranked = [
            sorted(
                (p for i, (k, p) in enumerate(tagged) if k == kind and i not in dropped
                 and p.support == support),
                key=lambda p: -specificity(p.text),
            )
            for kind in range(len(kinds))
        ]  # fmt: skip
        return [p for turn in zip_longest(*ranked) for p in turn if p is not None]

    return [p for support in (KIND_CUE, FIGURE, 0) for p in turns(support)]


def select(kinds: Sequence[Sequence[Point | tuple[str, str]]], max_words: int | None) -> list[str]:
    """The points to show, in time order: :func:`ranked`'s, as many as ``max_words``
    allows (None keeps them all)."""
    order = ranked(kinds)
    chosen: list[Point] = []
    used = 0
    skipped = False
    for point in order:
        n = count_words(point.text)
        if max_words is not None and used + n > max_words:
            skipped = True  # a shorter point further down may still fit
            continue
        if skipped and not point.support:
            continue  # but only a supported one: a short aside must not fill the gap
        chosen.append(point)
        used += n
    if not chosen and order:
        chosen = [order[0]]  # none fits whole: the first, which the format step cuts
    return [p.text for p in sorted(chosen, key=lambda p: p.time)]


def points(notes: ChunkNotes, max_words: int | None = None) -> list[str]:
    """The summary's points, one sentence per note, speakers called by name: the most
    specific of each kind in turn, within ``max_words``, in the order they were said
    (:func:`select`)."""
    names = speaker_names(notes.people)

    def who(label: str) -> str:
        return names.get(label.strip(), label.strip())

    def sentence(text: str) -> str:
        text = text.strip().rstrip(".")
        end = "" if text.endswith(("?", "!")) else "."
        return text[:1].upper() + text[1:] + end if text else ""

    def due(a: ActionNote) -> str:
        return (
            f", due {a.due.strip()}"
            if a.due.strip() and a.due.lower() not in a.task.lower()
            else ""
        )

    def said(by: str, text: str) -> str:
        return f"{who(by)}: {text}" if who(by) else text

    point = Point

    def quote(time: str, q: Quote, cued: bool, label: str = "") -> Point:
        """What was said, after who said it (or after ``label``)."""
        text = f"{label}: {q.text}" if label else said(q.speaker, q.text)
        return point(time, sentence(text), q.text, KIND_CUE if cued else 0)

    kinds = [
        [
            quote(d.time, d.quote, cues.decides(d.quote.text))
            if d.quote
            else point(d.time, sentence(said(d.by, d.decision)), d.decision)
            for d in notes.decisions
        ],
        [
            quote(a.time, a.quote, says_when(a))
            if a.quote
            else point(a.time, sentence(f"{who(a.owner)}: {a.task}{due(a)}"), a.task)
            for a in notes.action_items
        ],
        [
            quote(q.time, q.quote, cues.leaves_open(q.quote.text), "Open question")
            if q.quote
            else point(q.time, sentence(f"Open question: {q.question}"), q.question)
            for q in notes.open_questions
        ],
        [point(n.time, sentence(said(n.by, n.meaning)), n.meaning, FIGURE) for n in notes.numbers],
        [
            point(
                d.time,
                sentence(said(d.by, d.meaning)),
                d.meaning,
                KIND_CUE if cues.due_in(d.meaning) else 0,
            )
            for d in notes.dates
        ],
    ]
    return select([[p for p in kind if p.text] for kind in kinds], max_words)


def says_when(item: ActionNote) -> bool:
    """The item's line sets the day it is due ("by Friday"; ``quote`` is the line)."""
    return bool(cues.due_in(item.quote.text if item.quote else f"by {item.due}"))
