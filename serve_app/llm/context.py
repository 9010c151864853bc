"""Fitting a transcript into the LLM's context window (pure functions).

Nothing is dropped silently: a summary that does not fit is summarised hierarchically
(chunks of whole lines, each within a token budget: :func:`chunk_by_budget`); a chat whose
transcript does not fit gets the lines most relevant to the question
(:func:`select_relevant`), and the response says which strategy was used.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing done down during each
    few for from further had has have having he her here hers him his how i if in into is it
    its itself just let me more most my no nor not now of off on once only or other our ours
    out over own same she should so some such than that the their them then there these they
    this those through to too under until up very was we were what when where which while who
    whom why will with would you your yes yeah okay ok well so um uh oh right think know going
    get got go like really thing things want need one two say said lets let's thats that's
    dont don't im i'm its it's we're were we'll ill i'll you're theyre they're can't cant
    speaker""".split()
)

# A letter of any script, then letters, digits, apostrophes and hyphens ("don't", "café",
# "четверг", "e-mail"); on ASCII text the same words as [A-Za-z][A-Za-z0-9'-]*.
_WORD = re.compile(r"[^\W\d_](?:[^\W_]|['\-])*")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def sentences(text: str) -> list[str]:
    """The sentences of a text (split after ``.``, ``!`` or ``?`` and a space, so 3.2 and
    10:30 stay whole)."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def _norm(word: str) -> str:
    w = word.lower().strip("'-")
    if len(w) > 4 and w.endswith("s") and not w.endswith("ss"):
        w = w[:-1]
    return w


def content_words(text: str) -> list[str]:
    """Lower-cased words that carry meaning (no stopwords, no speaker labels, no numbers)."""
    out = []
    for raw in words(text):
        w = _norm(raw)
        if len(w) > 2 and w not in STOPWORDS and not w.startswith("speaker_"):
            out.append(w)
    return out


def split_long_line(line: str, tokens: int, budget: int) -> list[tuple[str, int]]:
    """A line longer than ``budget`` tokens as consecutive pieces (word boundaries) that fit.

    The ``[time] speaker:`` (chat) or ``#12 speaker:`` (notes) prefix is repeated on every
    piece so each keeps its context (and its line number).
    """
    if tokens <= budget:
        return [(line, tokens)]
    prefix_match = re.match(r"^((?:\[[0-9:]+\]|#\d+)(?: [^:]{1,40}:)?) ", line)
    prefix = prefix_match.group(1) + " " if prefix_match else ""
    body = line[len(prefix) :].split()
    pieces = -(-tokens // max(1, budget // 2))  # half-budget pieces: room for the prefix
    size = max(1, -(-len(body) // pieces))
    out = []
    for i in range(0, len(body), size):
        piece = prefix + " ".join(body[i : i + size])
        out.append((piece, max(1, tokens * min(size, len(body) - i) // len(body))))
    return out


def chunk_by_budget(counts: Sequence[int], budget: int) -> list[list[int]]:
    """Consecutive groups of line indices whose token counts sum to at most ``budget``.

    Lines are never split or dropped here; a single line above the budget gets a group
    of its own (callers split such lines first with :func:`split_long_line`).
    """
    if budget <= 0:
        raise ValueError("budget must be positive")
    groups: list[list[int]] = []
    current: list[int] = []
    used = 0
    for i, n in enumerate(counts):
        if current and used + n > budget:
            groups.append(current)
            current, used = [], 0
        current.append(i)
        used += n
    if current:
        groups.append(current)
    return groups


def relevance_scores(lines: Sequence[str], question: str) -> list[float]:
    """Share of the question's content words each line contains (0 when none)."""
    wanted = set(content_words(question))
    if not wanted:
        return [0.0] * len(lines)
    return [len(wanted & set(content_words(line))) / len(wanted) for line in lines]


def select_relevant(
    lines: Sequence[str], counts: Sequence[int], question: str, budget: int
) -> list[int]:
    """Indices (in time order) of the lines to give the model for ``question``.

    Lines matching the question come first, each with its neighbours (the answer is often
    the next turn); the rest of the budget goes to the remaining lines from the start.
    """
    scores = relevance_scores(lines, question)
    boosted = list(scores)
    for i, s in enumerate(scores):
        for j in (i - 1, i + 1):
            if s > 0 and 0 <= j < len(lines):
                boosted[j] = max(boosted[j], s * 0.5)
    order = sorted(range(len(lines)), key=lambda i: (-boosted[i], i))
    chosen: list[int] = []
    used = 0
    for i in order:
        if used + counts[i] <= budget:
            chosen.append(i)
            used += counts[i]
    return sorted(chosen)
