"""Structured meeting notes: what the model writes about one window of a transcript, how
code checks it, and how the windows' notes are merged.

The model reads a window of numbered transcript lines (``#12 SPEAKER_1: ...``)
and answers with JSON decoded against :func:`window_schema` (vLLM structured outputs): the
speakers' names, topics, decisions, action items (owner, task, due) and open questions,
each with ``evidence``, the numbers of the lines that say it. The schema lets the model
cite only the window's line numbers, and name as owner only a speaker label of the window
or a name written in it.

Code then checks every item (:mod:`serve_app.llm.checks`) and drops, and counts, those
whose evidence does not support them (an item may be anchored to the line next to a cited
one that backs it: :data:`serve_app.llm.checks.NEIGHBOURS`).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, Field, ValidationError

from serve_app.llm.evidence import same_point
from serve_app.llm.prompts import line_number
from serve_app.llm.schemas import ActionItem, SourceSpan, TranscriptLine

LIMITS = {"topics": 3, "points": 4, "decisions": 3, "action_items": 3, "open_questions": 2}
"""Most items of each kind in one window's notes (the schema's ``maxItems``)."""
LEAST = {"topics": 1, "points": 2}
"""Fewest items of a kind in one window's notes (the schema's ``minItems``): a window
always has a subject and says something. Left free, a small model answers every list
empty (seen with Qwen2.5-Coder-1.5B on QMSum meetings); what it is made to write is
checked against its evidence like everything else."""
POINT_TOKENS = 2000
"""A window gets one more point (beyond ``LIMITS["points"]``) for every this many
transcript tokens, up to :data:`MAX_POINTS`: a whole 20-minute meeting in one window says
more than four things."""
MAX_POINTS = 8
KINDS = ("topics", "points", "decisions", "action_items", "open_questions")
MAX_EVIDENCE = 3
EVIDENCE_FIRST = False
"""Whether an item's ``evidence`` comes before its text in the schema (and so in the
model's answer): the model then picks the lines first and writes what they say."""
ORDER = ("topics", "points", "decisions", "action_items", "open_questions", "speakers")
"""The order of the lists in a window's schema, and so in the model's answer."""
SENTENCE = r"^[^\s\-*#>(\[0-9•‣·][^\n\"\\#.!?\u3002\uff01\uff1f]{10,238}[.!?\u3002\uff01\uff1f]$"
"""One sentence of prose (the ``pattern`` of a summary sentence and of a point): no list
mark, heading, line number or quote, and one sentence end, at its end. A small model
otherwise copies the outline's or the notes' format into the summary, packs three
sentences on different lines under one citation, or is cut off mid-sentence by a
length limit (all seen on the tuning meeting)."""


class Noted(BaseModel):
    evidence: list[int] = Field(default_factory=list)
    """Indices in the transcript of the segments that say it (the model cites their line
    numbers, :func:`serve_app.llm.prompts.line_number`; :func:`parse` turns them back)."""
    time: str = ""
    """``HH:MM:SS`` of the first evidence line, set once checked (empty without times)."""


class SpeakerName(Noted):
    label: str
    name: str


class Topic(Noted):
    title: str


class Point(Noted):
    text: str
    """What was said, proposed or reported, naming the speaker: the summary's material."""


class Decision(Noted):
    text: str


class ActionNote(Noted):
    owner: str
    task: str
    due: str = ""


class OpenQuestion(Noted):
    text: str


class WindowNotes(BaseModel):
    """The notes of one window (or, merged, of the whole transcript)."""

    speakers: list[SpeakerName] = Field(default_factory=list)
    topics: list[Topic] = Field(default_factory=list)
    points: list[Point] = Field(default_factory=list)
    decisions: list[Decision] = Field(default_factory=list)
    action_items: list[ActionNote] = Field(default_factory=list)
    open_questions: list[OpenQuestion] = Field(default_factory=list)


class SummarySentence(Noted):
    text: str


class SummaryNotes(BaseModel):
    sentences: list[SummarySentence] = Field(default_factory=list)


def _item(fields: dict[str, Any], ids: Sequence[int], most: int = MAX_EVIDENCE) -> dict[str, Any]:
    """An item: its fields, then ``evidence`` (written after the text it backs: a small
    model cites the lines of what it just wrote), at most ``most`` line numbers."""
    evidence = {
        "type": "array",
        "items": {"type": "integer", "enum": [line_number(i) for i in ids]},
        "minItems": 1,
        "maxItems": most,
    }
    props = {"evidence": evidence, **fields} if EVIDENCE_FIRST else {**fields, "evidence": evidence}
    return {
        "type": "object",
        "properties": props,
        "required": list(props),
        "additionalProperties": False,
    }


def _text_field(most: int) -> dict[str, Any]:
    """A string of at most ``most`` characters: a small model's string ends, and so does
    its JSON (within the token budget)."""
    return {"type": "string", "maxLength": most}


def _list(item: dict[str, Any], most: int, least: int = 0) -> dict[str, Any]:
    out = {"type": "array", "items": item, "maxItems": most}
    if least:
        out["minItems"] = least
    return out


def points_for(tokens: int) -> int:
    """Most points a window of ``tokens`` transcript tokens gets."""
    return min(MAX_POINTS, LIMITS["points"] + tokens // POINT_TOKENS)


def window_schema(
    ids: Sequence[int], labels: Sequence[str], owners: Sequence[str], points: int = 0
) -> dict[str, Any]:
    """JSON schema of one window's notes: evidence only among ``ids``, speaker labels only
    among ``labels``, owners only among ``owners`` (or "" when nobody is named); at most
    ``points`` points (``LIMITS["points"]`` when 0)."""
    text = _text_field(240)
    props: dict[str, Any] = {}
    props["topics"] = _list(
        _item({"title": _text_field(80)}, ids), LIMITS["topics"], min(LEAST["topics"], len(ids))
    )
    sentence = {"type": "string", "pattern": SENTENCE}
    props["points"] = _list(
        _item({"text": sentence}, ids), points or LIMITS["points"], min(LEAST["points"], len(ids))
    )
    props["decisions"] = _list(_item({"text": text}, ids), LIMITS["decisions"])
    owner = {"type": "string", "enum": [*dict.fromkeys([*owners, ""])]}
    action = _item({"owner": owner, "task": _text_field(200), "due": _text_field(60)}, ids)
    props["action_items"] = _list(action, LIMITS["action_items"])
    props["open_questions"] = _list(_item({"text": text}, ids), LIMITS["open_questions"])
    if labels:
        label = {"type": "string", "enum": list(labels)}
        name = _text_field(60)
        props["speakers"] = _list(_item({"label": label, "name": name}, ids), len(labels))
    props = {k: props[k] for k in ORDER if k in props}
    return {
        "type": "object",
        "properties": props,
        "required": list(props),
        "additionalProperties": False,
    }


def summary_schema(ids: Sequence[int], most: int, least: int = 1) -> dict[str, Any]:
    """JSON schema of the summary: ``least`` to ``most`` prose sentences (:data:`SENTENCE`),
    each citing ``ids``."""
    sentence = _item({"text": {"type": "string", "pattern": SENTENCE}}, ids)
    props = {"sentences": _list(sentence, most, min(least, most))}
    return {"type": "object", "properties": props, "required": ["sentences"],
            "additionalProperties": False}  # fmt: skip


_NAME = re.compile(r"(?<![.!?])\s+([^\W\d_][^\W\d_'\-]+)")


def owner_candidates(segments: Sequence[TranscriptLine], most: int = 40) -> list[str]:
    """Who may own a task: the speaker labels, then the capitalised words said inside a
    sentence (names, in a script with capitals), most frequent first."""
    labels = [*dict.fromkeys(s.speaker for s in segments if s.speaker)]
    said: Counter[str] = Counter()
    for s in segments:
        for word in _NAME.findall(s.text):
            if word[0].isupper() and not word.isupper() and word[1] != "'":  # not "I'm"
                said[word] += 1
    names = [w for w, _ in said.most_common() if w not in labels]
    return [*labels, *names][:most]


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], text: str) -> M:
    """The model's JSON as ``model``; a reply cut short by ``max_tokens`` keeps its
    complete items (structured decoding guarantees the shape, not that the reply was
    finished); each item's ``evidence``, the line numbers the model cited, as segment
    indices. Nothing usable: an empty ``model``."""
    for candidate in _json_prefixes(text):
        try:
            raw = json.loads(candidate)
        except ValueError:
            continue
        if not isinstance(raw, dict):
            continue
        fields: dict[str, Any] = {}
        for name, info in model.model_fields.items():
            values = raw.get(name)
            item_type = info.annotation.__args__[0]  # type: ignore[union-attr]
            fields[name] = [_indices(v) for v in values or [] if _valid(item_type, v)]
        return model(**fields)
    return model()


def _indices(value: Any) -> Any:
    if isinstance(value, dict) and isinstance(value.get("evidence"), list):
        return {**value, "evidence": [n - line_number(0) for n in value["evidence"]]}
    return value


def _valid(item_type: type[BaseModel], value: Any) -> bool:
    try:
        item_type.model_validate(value)
    except ValidationError:
        return False
    return True


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


def _text(item: BaseModel) -> str:
    for name in ("text", "title", "task", "name"):
        value = getattr(item, name, None)
        if isinstance(value, str):
            return value
    return ""


def merge(windows: Sequence[WindowNotes]) -> WindowNotes:
    """All windows' notes in order, a point said in several windows once (the first
    wording, with the evidence of all); a speaker's first name wins."""
    merged = WindowNotes()
    for notes in windows:
        for s in notes.speakers:
            if all(p.label != s.label for p in merged.speakers):
                merged.speakers.append(s)
        for kind in KINDS:
            have: list[Noted] = getattr(merged, kind)
            for item in getattr(notes, kind):
                same = next((h for h in have if same_point(_text(h), _text(item))), None)
                if same is None:
                    have.append(item)
                else:
                    extra = [i for i in item.evidence if i not in same.evidence]
                    same.evidence = sorted([*same.evidence, *extra])
    return merged


def speaker_names(notes: WindowNotes) -> dict[str, str]:
    """Speaker label -> the name the checked notes give it."""
    return {s.label: s.name.strip() for s in notes.speakers}


def action_items(notes: WindowNotes, segments: Sequence[TranscriptLine]) -> list[ActionItem]:
    """The merged notes' action items, owners called by name, each with the span of its
    first evidence segment (None for a transcript sent without times)."""
    names = speaker_names(notes)
    timed = any(s.end > 0 for s in segments)
    out = []
    for a in notes.action_items:
        first = segments[a.evidence[0]] if a.evidence else None
        out.append(
            ActionItem(
                owner=names.get(a.owner, a.owner),
                task=a.task.strip(),
                due=a.due.strip() or None,
                source=SourceSpan(start=first.start, end=first.end) if first and timed else None,
            )
        )
    return out


def action_items_text(items: Sequence[ActionItem]) -> str:
    """The ``action_items`` format's summary text: one ``- owner: task (due ...)`` line each."""
    return "\n".join(
        f"- {i.owner or '?'}: {i.task}" + (f" (due {i.due})" if i.due else "") for i in items
    )


def notes_lines(notes: WindowNotes) -> list[str]:
    """The checked notes as the summary prompt lists them, each as a JSON object of its
    kind and fields (``{"decision": ..., "evidence": [12, 13]}``): the summary's schema
    rejects that shape, so it cannot be copied as a sentence."""
    names = speaker_names(notes)

    def line(kind: str, item: Noted, **fields: str) -> str:
        cited = [line_number(i) for i in item.evidence]
        return json.dumps({kind: _text(item), **fields, "evidence": cited}, ensure_ascii=False)

    out = [line("point", p) for p in notes.points]
    out += [line("decision", d) for d in notes.decisions]
    for a in notes.action_items:
        owner = names.get(a.owner, a.owner)
        out.append(line("action_item", a, owner=owner, due=a.due))
    out += [line("open_question", q) for q in notes.open_questions]
    return out
