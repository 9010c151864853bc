"""Structured meeting notes: what the map step extracts from each chunk of a transcript
(decoded against :data:`NOTES_SCHEMA`, so it is always this JSON shape), how the notes of
every chunk merge, and how they are written out for the step that writes the summary.

Each note carries the ``[HH:MM:SS]`` time of the line it comes from; :func:`locate` turns
it into the span of a real transcript segment, and a note that points nowhere in its chunk
is kept only when its words identify the segment it comes from.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, Field, ValidationError

from serve_app.llm.context import content_words
from serve_app.llm.prompts import format_timestamp
from serve_app.llm.schemas import ActionItem, SourceSpan, TranscriptLine


class Person(BaseModel):
    name: str
    speaker: str = ""
    """The speaker label (``SPEAKER_1``) when this person speaks, else empty."""


class Decision(BaseModel):
    time: str
    decision: str
    by: str = ""


class ActionNote(BaseModel):
    time: str
    owner: str
    task: str
    due: str = ""


class NumberNote(BaseModel):
    time: str
    value: str
    meaning: str


class DateNote(BaseModel):
    time: str
    date: str
    meaning: str


class OpenQuestion(BaseModel):
    time: str
    question: str


class ChunkNotes(BaseModel):
    """The notes of one chunk (or, merged, of the whole transcript)."""

    people: list[Person] = Field(default_factory=list)
    decisions: list[Decision] = Field(default_factory=list)
    action_items: list[ActionNote] = Field(default_factory=list)
    numbers: list[NumberNote] = Field(default_factory=list)
    dates: list[DateNote] = Field(default_factory=list)
    open_questions: list[OpenQuestion] = Field(default_factory=list)

    def is_empty(self) -> bool:
        return not any(getattr(self, name) for name in type(self).model_fields)


NOTES_SCHEMA: dict[str, Any] = ChunkNotes.model_json_schema()
"""JSON schema the map step's output is decoded against (vLLM structured outputs)."""


def parse_notes(text: str) -> ChunkNotes:
    """Notes from the model's JSON; a reply cut short by ``max_tokens`` keeps its complete
    items (structured decoding guarantees the shape, not that the reply was finished)."""
    for candidate in _json_prefixes(text):
        try:
            return ChunkNotes.model_validate(json.loads(candidate))
        except (ValueError, ValidationError):
            continue
    return ChunkNotes()


def _json_prefixes(text: str) -> list[str]:
    """``text`` itself, then its prefixes that end after a complete value, closed with the
    brackets still open there (longest first)."""
    text = text.strip()
    out = [text]
    stack: list[str] = []
    in_string = escaped = False
    cuts: list[tuple[int, str]] = []
    for i, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            continue
        if ch == '"':
            in_string = True
        elif ch in "[{":
            stack.append("]" if ch == "[" else "}")
        elif ch in "]}" and stack:
            stack.pop()
            cuts.append((i + 1, "".join(reversed(stack))))
        elif ch == ",":
            cuts.append((i, "".join(reversed(stack))))
    for end, closers in reversed(cuts):
        out.append(text[:end] + closers)
    return out


def locate(time: str, words_of: str, segments: Sequence[TranscriptLine]) -> TranscriptLine | None:
    """The segment a note comes from: the one whose ``[HH:MM:SS]`` it cites (the best word
    match among several with that time), else the one sharing most content words with it
    (at least two), else None. ``segments`` is the chunk the note was written on."""
    wanted = set(content_words(words_of))

    def overlap(segment: TranscriptLine) -> int:
        return len(wanted & set(content_words(segment.text)))

    cited = [s for s in segments if format_timestamp(s.start) == time.strip("[] ")]
    if cited:
        return max(cited, key=overlap)
    best = max(segments, key=overlap, default=None)
    return best if best is not None and overlap(best) >= 2 else None


T = TypeVar("T", bound=BaseModel)


def _grounded(
    items: list[T], text_of: Callable[[T], str], segments: Sequence[TranscriptLine]
) -> list[T]:
    """Items whose source segment is found, each with ``time`` set to that segment's."""
    out = []
    for item in items:
        segment = locate(getattr(item, "time", ""), text_of(item), segments)
        if segment is not None:
            out.append(item.model_copy(update={"time": format_timestamp(segment.start)}))
    return out


def ground(notes: ChunkNotes, segments: Sequence[TranscriptLine]) -> ChunkNotes:
    """The notes that come from a segment of their chunk, with that segment's time.

    Without timed segments (a transcript sent as ``full_text``) nothing can be located,
    and the notes are kept as written.
    """
    if not any(s.end > 0 for s in segments):
        return notes
    known = " ".join(s.text for s in segments).lower()
    people = [p for p in notes.people if p.name.strip() and p.name.lower() in known]
    items = _grounded(notes.action_items, lambda a: f"{a.owner} {a.task} {a.due}", segments)
    return ChunkNotes(
        people=people,
        decisions=_grounded(notes.decisions, lambda d: f"{d.decision} {d.by}", segments),
        action_items=[_real_owner(a, people, known, segments) for a in items],
        numbers=_grounded(notes.numbers, lambda n: f"{n.value} {n.meaning}", segments),
        dates=_grounded(notes.dates, lambda d: f"{d.date} {d.meaning}", segments),
        open_questions=_grounded(notes.open_questions, lambda q: q.question, segments),
    )


def _real_owner(
    item: ActionNote, people: list[Person], known: str, segments: Sequence[TranscriptLine]
) -> ActionNote:
    """The item with an owner the transcript names: a speaker label becomes the name the
    notes give it, and a name the chunk never says becomes the speaker of the item's
    segment (its label, or that label's name)."""
    names = {p.speaker: p.name for p in people if p.speaker}
    owner = item.owner.strip()
    if owner in names:
        owner = names[owner]
    elif owner.lower() not in known:
        speaker = next(
            (s.speaker for s in segments if format_timestamp(s.start) == item.time), None
        )
        owner = names.get(speaker or "", speaker or "")
    return item.model_copy(update={"owner": owner})


def _key(*parts: str) -> str:
    return re.sub(r"\W+", " ", " ".join(parts).lower()).strip()


def merge(chunks: Sequence[ChunkNotes]) -> ChunkNotes:
    """All chunks' notes in time order, each item once (by its normalised text)."""
    merged = ChunkNotes()
    seen: set[tuple[str, str]] = set()
    for notes in chunks:
        for field in type(notes).model_fields:
            for item in getattr(notes, field):
                values = [str(v) for k, v in item.model_dump().items() if k != "time"]
                key = (field, _key(*values[:1]) if field == "people" else _key(*values))
                if key not in seen:
                    seen.add(key)
                    getattr(merged, field).append(item)
    return merged


def render(notes: ChunkNotes) -> list[str]:
    """The notes as lines for the writing prompt, most important first (a prompt that
    must be cut keeps the start)."""
    lines: list[str] = []
    if notes.people:
        people = ", ".join(f"{p.name} ({p.speaker})" if p.speaker else p.name for p in notes.people)
        lines.append(f"People: {people}")
    sections: list[tuple[str, list[str]]] = [
        ("Decisions", [f"[{d.time}] {_by(d.by)}{d.decision}" for d in notes.decisions]),
        (
            "Action items",
            [
                f"[{a.time}] {a.owner}: {a.task}" + (f" (due {a.due})" if a.due else "")
                for a in notes.action_items
            ],
        ),
        ("Open questions", [f"[{q.time}] {q.question}" for q in notes.open_questions]),
        ("Numbers", [f"[{n.time}] {n.value}: {n.meaning}" for n in notes.numbers]),
        ("Dates", [f"[{d.time}] {d.date}: {d.meaning}" for d in notes.dates]),
    ]
    for title, items in sections:
        if items:
            lines.append(f"{title}:")
            lines.extend(f"- {item}" for item in items)
    return lines


def _by(who: str) -> str:
    return f"{who}: " if who.strip() else ""


def action_items(notes: ChunkNotes, segments: Sequence[TranscriptLine]) -> list[ActionItem]:
    """The merged notes' action items, each with the span of the segment it comes from."""
    by_time: dict[str, TranscriptLine] = {}
    for s in segments:
        by_time.setdefault(format_timestamp(s.start), s)
    out = []
    for item in notes.action_items:
        segment = by_time.get(item.time) if any(s.end > 0 for s in segments) else None
        out.append(
            ActionItem(
                owner=item.owner.strip(),
                task=item.task.strip(),
                due=item.due.strip() or None,
                source=SourceSpan(start=segment.start, end=segment.end) if segment else None,
            )
        )
    return out


def action_items_text(items: Sequence[ActionItem]) -> str:
    """The ``action_items`` format's summary text: one ``- owner: task (due ...)`` line each."""
    return "\n".join(f"- {i.owner}: {i.task}" + (f" (due {i.due})" if i.due else "") for i in items)
