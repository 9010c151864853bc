"""Shaping the summary into the requested format (pure).

Small models ignore format instructions often enough that the API enforces them: a
``bullet_points`` summary is always ``- `` lines, ``key_points`` always numbered lines,
``paragraph`` always one paragraph; ``max_length`` (words) is always respected.
"""

from __future__ import annotations

import re

from serve_app.llm.context import words
from serve_app.llm.schemas import SummaryFormat

_ITEM_PREFIX = re.compile(r"^\s*(?:[-*•‣·]+|\d+[.)]|[a-z][.)]|#+)\s*")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\[\"'])")
_PREAMBLE = re.compile(
    r"^(here is|here's|here are|sure|certainly|summary|key points|bullet points)\b.*:\s*$",
    re.IGNORECASE,
)


def _items(text: str) -> list[str]:
    """Points of a model answer: its list items, or its sentences if it wrote prose."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    lines = [ln for ln in lines if not _PREAMBLE.match(ln)]
    listed = [ln for ln in lines if _ITEM_PREFIX.match(ln)]
    if len(listed) >= 2:
        items = [_ITEM_PREFIX.sub("", ln) for ln in listed]
    else:
        prose = " ".join(_ITEM_PREFIX.sub("", ln) for ln in lines)
        items = _SENTENCE_END.split(prose)
    # Small models fall into repetition loops: each point once.
    seen: set[str] = set()
    unique = []
    for item in (i.strip() for i in items):
        key = re.sub(r"\W+", " ", item.lower()).strip()
        if item and key not in seen:
            seen.add(key)
            unique.append(item)
    return unique


def _limit_words(items: list[str], max_words: int) -> list[str]:
    """Whole items while they fit; the first item that does not is cut at a word."""
    out: list[str] = []
    used = 0
    for item in items:
        n = len(item.split())
        if used + n <= max_words:
            out.append(item)
            used += n
            continue
        room = max_words - used
        if room >= 3 or not out:
            out.append(" ".join(item.split()[: max(1, room)]).rstrip(",;:") + " …")
        break
    return out


def shape_summary(text: str, fmt: SummaryFormat, max_words: int) -> str:
    """The model's text in the requested format, at most ``max_words`` words (the ``…``
    that marks a cut item is not a word)."""
    items = _items(text)
    if not items:
        return ""
    items = _limit_words(items, max_words)
    if fmt == "bullet_points":
        return "\n".join(f"- {i}" for i in items)
    if fmt == "key_points":
        return "\n".join(f"{n}. {i}" for n, i in enumerate(items, 1))
    return " ".join(items)


def count_words(text: str) -> int:
    """Words as ``max_length`` counts them (list markers and ``…`` excluded)."""
    return len(words(_ITEM_PREFIX.sub("", text.replace("\n", " "))))
