"""Structured meeting notes: what the map step takes from each chunk of a transcript
(people, decisions, action items and open questions from the model, one kind per prompt,
decoded against :func:`kind_schema`, so always that JSON shape; more read off the
transcript by :mod:`serve_app.llm.pattern_notes`), how the notes are tied to segments and
merged, and the action items they give (the summary's points are chosen by
:mod:`serve_app.llm.selection`).

Each note carries the ``[HH:MM:SS]`` time of the line it comes from; :func:`locate` turns
it into the span of a real transcript segment, and a note that points nowhere in its chunk
is kept only when its words identify the segment it comes from. The summary shows each
note as what was said (:class:`Quote`: the sentences of its segment that the note draws
on, by the segment's speaker), not as the model worded it: the 1.5B model's wording added
rejections and owners the meeting never gave, and its guess of who said a line was often
wrong.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, Field, ValidationError
from pydantic.json_schema import SkipJsonSchema

from serve_app.llm import cues, introductions
from serve_app.llm.context import content_words, sentences
from serve_app.llm.matching import WordMatcher
from serve_app.llm.prompts import format_timestamp
from serve_app.llm.schemas import ActionItem, SourceSpan, TranscriptLine


class Person(BaseModel):
    name: str
    speaker: str = ""
    """The speaker label (``SPEAKER_1``) when this person speaks, else empty."""


class Quote(BaseModel):
    """What was said where a note comes from. Set when the note is grounded; not asked of
    the model."""

    speaker: str = ""
    """Who said it (the segment's speaker label), when known."""
    text: str
    """The sentences of the segment that share a word with the note (all of them when
    none does), the speaker's introduction left out (:func:`quoted`)."""


class Decision(BaseModel):
    time: str
    decision: str
    by: str = ""
    quote: SkipJsonSchema[Quote | None] = None


class ActionNote(BaseModel):
    time: str
    owner: str
    task: str
    due: str = ""
    quote: SkipJsonSchema[Quote | None] = None


class NumberNote(BaseModel):
    time: str
    value: str
    meaning: str
    by: str = ""
    """Who said it (the speaker label), when known."""


class DateNote(BaseModel):
    time: str
    date: str
    meaning: str
    by: str = ""
    """Who said it (the speaker label), when known."""


class OpenQuestion(BaseModel):
    time: str
    question: str
    quote: SkipJsonSchema[Quote | None] = None


class ChunkNotes(BaseModel):
    """The notes of one chunk (or, merged, of the whole transcript)."""

    people: list[Person] = Field(default_factory=list)
    decisions: list[Decision] = Field(default_factory=list)
    action_items: list[ActionNote] = Field(default_factory=list)
    numbers: list[NumberNote] = Field(default_factory=list)
    dates: list[DateNote] = Field(default_factory=list)
    open_questions: list[OpenQuestion] = Field(default_factory=list)


ITEM_MODELS: dict[str, type[BaseModel]] = {
    "people": Person,
    "decisions": Decision,
    "action_items": ActionNote,
    "numbers": NumberNote,
    "dates": DateNote,
    "open_questions": OpenQuestion,
}
"""The kinds of note."""

MODEL_KINDS = ("people", "decisions", "action_items", "open_questions")
"""The kinds the model takes, each by a prompt of its own (one simple question at a time is
what a small model answers well; the transcript comes first, so the prompts of one chunk
share their prefix in vLLM's cache). Numbers and dates are read off the transcript
(:mod:`serve_app.llm.pattern_notes`)."""


def kind_schema(kind: str) -> dict[str, Any]:
    """JSON schema of one kind's reply, ``{"items": [...]}`` (vLLM structured outputs)."""
    items = {"type": "array", "items": ITEM_MODELS[kind].model_json_schema()}
    return {"type": "object", "properties": {"items": items}, "required": ["items"]}


def parse_items(kind: str, text: str) -> list[Any]:
    """One kind's items from the model's JSON; a reply cut short by ``max_tokens`` keeps
    its complete items (structured decoding guarantees the shape, not that the reply was
    finished), and an item that does not validate is skipped."""
    model = ITEM_MODELS[kind]
    for candidate in _json_prefixes(text):
        try:
            raw = json.loads(candidate)
        except ValueError:
            continue
        items = raw.get("items") if isinstance(raw, dict) else None
        if not isinstance(items, list):
            continue
        out = []
        for item in items:
            try:
                out.append(model.model_validate(item))
            except ValidationError:
                continue
        return out
    return []


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
    """The segment a note comes from: the one sharing most content words with it (of
    several, the one whose ``[HH:MM:SS]`` the note cites), when it shares at least two or
    is cited; else the cited one; else None. ``segments`` is the chunk the note was
    written on. Words win over the cited time: the model often pastes one line and cites
    the time of the line next to it."""
    wanted = WordMatcher(words_of)
    stamp = time.strip("[] ")

    def overlap(segment: TranscriptLine) -> int:
        return wanted.shared(segment.text)

    def cited(segment: TranscriptLine) -> bool:
        return format_timestamp(segment.start) == stamp

    best = max(segments, key=lambda s: (overlap(s), cited(s)), default=None)
    if best is not None and (overlap(best) >= 2 or cited(best)):
        return best
    return max((s for s in segments if cited(s)), key=overlap, default=None)


T = TypeVar("T", bound=BaseModel)
_LABELLED_LINE = re.compile(r"^\W*SPEAKER_\d+\b")
_WHO_FIELDS = frozenset({"time", "owner", "by", "speaker"})  # a label is fine there


def quoted(note: str, segment: TranscriptLine) -> Quote:
    """The sentences of ``segment`` that share a content word with ``note``, in order
    (all of them when none does), and its speaker. A speaker's introduction ("Marcus
    here, from QA.") is not what a note is about, and is left out (unless it is all the
    segment says)."""
    wanted = WordMatcher(note)
    said = [s for s in sentences(segment.text) if not introductions.introduced(s)]
    said = [s for s in said if wanted.shared(s)] or said
    return Quote(speaker=segment.speaker or "", text=" ".join(said) or segment.text.strip())


def _grounded(
    items: list[T], text_of: Callable[[T], str], segments: Sequence[TranscriptLine]
) -> list[T]:
    """Items whose source segment is found, each with ``time`` set to that segment's and
    ``quote`` to what the segment says of it (:func:`quoted`).

    An item that is a transcript line pasted with its speaker label (``SPEAKER_2: ...``) is
    dropped: small models fall into copying every line, small talk included, and a note
    that is a real extraction names people instead of quoting labels.
    """
    out = []
    for item in items:
        texts = [v for k, v in item.model_dump().items() if k not in _WHO_FIELDS]
        if any(isinstance(v, str) and _LABELLED_LINE.match(v) for v in texts):
            continue
        segment = locate(getattr(item, "time", ""), text_of(item), segments)
        if segment is None:
            continue
        update = {"time": format_timestamp(segment.start), "quote": quoted(text_of(item), segment)}
        out.append(item.model_copy(update=update))
    return out


def ground(notes: ChunkNotes, segments: Sequence[TranscriptLine]) -> ChunkNotes:
    """The model's notes that say more than a name and come from a segment of their chunk,
    with that segment's time (numbers and dates, read off the segments, are kept as
    they are).

    Without timed segments (a transcript sent as ``full_text``) nothing can be located,
    and the notes are kept as written.
    """
    if not any(s.end > 0 for s in segments):
        return notes
    known = " ".join(s.text for s in segments).lower()
    people = [p for p in notes.people if p.name.strip() and p.name.lower() in known]
    # Every name given counts here, a speaker's whose name this chunk does not say too.
    names = {w for p in notes.people for w in content_words(p.name)}

    def says(text: str) -> bool:  # more than names: "Jason" alone is not a decision
        return bool(set(content_words(text)) - names)

    items = _grounded(
        [a for a in notes.action_items if says(a.task)], lambda a: f"{a.task} {a.due}", segments
    )
    decisions = [d for d in notes.decisions if says(d.decision)]
    questions = [q for q in notes.open_questions if says(q.question)]
    return notes.model_copy(
        update={
            "people": people,
            "decisions": _grounded(decisions, lambda d: d.decision, segments),
            "action_items": [_real_owner(a, people, known, segments) for a in items],
            "open_questions": _grounded(questions, lambda q: q.question, segments),
        }
    )


def speaker_names(people: Sequence[Person]) -> dict[str, str]:
    """Speaker label -> the person's name; the first name given to a label wins."""
    names: dict[str, str] = {}
    for p in people:
        if p.speaker:
            names.setdefault(p.speaker, p.name)
    return names


def _real_owner(
    item: ActionNote, people: list[Person], known: str, segments: Sequence[TranscriptLine]
) -> ActionNote:
    """The item with an owner the transcript names: a speaker label becomes the name the
    notes give it, and a name the chunk never says becomes the speaker of the item's
    segment (its label, or that label's name)."""
    names = speaker_names(people)
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


def action_items(notes: ChunkNotes, segments: Sequence[TranscriptLine]) -> list[ActionItem]:
    """The merged notes' action items, each with the span of the segment it comes from,
    one per segment (the first: a task read off the line comes before the model's).
    With timed segments, only the items whose segment sets a deadline or asks someone by
    name: on a long meeting the model also filed small talk as tasks ("grab some coffee",
    "close the window"), 79 of them in 40 minutes (see the README)."""
    by_time: dict[str, TranscriptLine] = {}
    for s in segments:
        by_time.setdefault(format_timestamp(s.start), s)
    timed = any(s.end > 0 for s in segments)
    names = speaker_names(notes.people)  # of the whole transcript: a chunk may lack them
    out: list[ActionItem] = []
    seen: set[str] = set()
    for item in notes.action_items:
        segment = by_time.get(item.time) if timed else None
        owner = names.get(item.owner.strip(), item.owner.strip())
        if timed and (
            segment is None
            or not (cues.due_in(segment.text) or cues.asks(segment.text))
            or item.time in seen
        ):
            continue
        seen.add(item.time)
        out.append(
            ActionItem(
                owner=owner,
                task=item.task.strip(),
                due=item.due.strip() or None,
                source=SourceSpan(start=segment.start, end=segment.end) if segment else None,
            )
        )
    return out


def action_items_text(items: Sequence[ActionItem]) -> str:
    """The ``action_items`` format's summary text: one ``- owner: task (due ...)`` line each."""
    return "\n".join(f"- {i.owner}: {i.task}" + (f" (due {i.due})" if i.due else "") for i in items)
