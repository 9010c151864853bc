"""Structured notes: parsing cut-short JSON, tying notes to segments, merging, action items,
and a summary run end to end against a scripted fake of the LLM calls."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from serve_app.llm.notes import (
    NOTES_SCHEMA,
    ActionNote,
    ChunkNotes,
    Decision,
    Person,
    action_items,
    ground,
    locate,
    merge,
    parse_notes,
    render,
)
from serve_app.llm.schemas import SummaryRequest, TranscriptLine
from serve_app.llm.summary import Summariser, SummaryBudget

SEGMENTS = [
    TranscriptLine(start=0.0, end=7.0, speaker="SPEAKER_1", text="Hi, Alice here."),
    TranscriptLine(start=65.2, end=72.0, speaker="SPEAKER_2", text="Bob will fix the export."),
    TranscriptLine(start=80.0, end=88.0, speaker="SPEAKER_1", text="Decided: we ship Thursday."),
]


def test_the_schema_is_the_notes_shape():
    assert set(NOTES_SCHEMA["properties"]) == {
        "people",
        "decisions",
        "action_items",
        "numbers",
        "dates",
        "open_questions",
    }


def test_a_reply_cut_by_max_tokens_keeps_its_complete_items():
    full = {
        "decisions": [{"time": "00:01:20", "decision": "ship Thursday", "by": "Alice"}],
        "action_items": [
            {"time": "00:01:05", "owner": "Bob", "task": "fix export", "due": "Wed"},
            {"time": "00:01:06", "owner": "Carol", "task": "write notes", "due": "Tue"},
        ],
    }
    text = json.dumps(full)
    cut = text[: text.index("Carol") + 8]  # inside the second action item
    notes = parse_notes(cut)
    assert [a.owner for a in notes.action_items] == ["Bob"]
    assert notes.decisions[0].decision == "ship Thursday"
    assert parse_notes(text).action_items[1].owner == "Carol"
    assert parse_notes("not json at all").is_empty()


def test_a_note_is_tied_to_the_segment_it_cites_or_its_words_match():
    assert locate("00:01:05", "Bob export", SEGMENTS) is SEGMENTS[1]
    # A wrong time, but the words name the segment.
    assert locate("00:09:99", "ship on Thursday, decided", SEGMENTS) is SEGMENTS[2]
    # A wrong time and nothing in common: nowhere.
    assert locate("00:09:99", "budget approved", SEGMENTS) is None


def test_grounding_drops_invented_notes_and_people():
    notes = ChunkNotes(
        people=[Person(name="Alice", speaker="SPEAKER_1"), Person(name="Zed")],
        action_items=[
            ActionNote(time="00:01:05", owner="Bob", task="fix the export", due="Wednesday"),
            ActionNote(time="00:30:00", owner="Bob", task="order pizza", due=""),
        ],
    )
    grounded = ground(notes, SEGMENTS)
    assert [p.name for p in grounded.people] == ["Alice"]
    # An owner the transcript never names becomes the speaker of the item's segment.
    invented = ChunkNotes(
        people=[Person(name="Alice", speaker="SPEAKER_1")],
        action_items=[
            ActionNote(time="00:01:20", owner="Zed", task="ship it Thursday"),
            ActionNote(time="00:01:20", owner="SPEAKER_1", task="announce Thursday"),
        ],
    )
    assert [a.owner for a in ground(invented, SEGMENTS).action_items] == ["Alice", "Alice"]
    assert [a.task for a in grounded.action_items] == ["fix the export"]
    items = action_items(grounded, SEGMENTS)
    assert items[0].source is not None and (items[0].source.start, items[0].source.end) == (
        65.2,
        72.0,
    )
    assert items[0].due == "Wednesday"


def test_merge_keeps_time_order_and_each_item_once():
    a = ChunkNotes(decisions=[Decision(time="00:00:01", decision="Ship Thursday", by="Alice")])
    b = ChunkNotes(
        decisions=[
            Decision(time="00:02:00", decision="ship thursday.", by="alice"),
            Decision(time="00:03:00", decision="Keep the export", by="Alice"),
        ]
    )
    merged = merge([a, b])
    assert [d.decision for d in merged.decisions] == ["Ship Thursday", "Keep the export"]
    assert render(merged)[0] == "Decisions:"


class ScriptedLLM:
    """Fake of the LLM calls (named so): JSON notes for notes prompts, a fixed text for the
    writing prompt; counts one token a word. Real-model runs are in tests/serve."""

    def __init__(self) -> None:
        self.prompts: list[tuple[str, bool]] = []

    async def count(self, texts: list[str]) -> list[int]:
        return [len(t.split()) for t in texts]

    async def generate(
        self, messages: list[dict[str, str]], max_tokens: int, json_schema: Any = None
    ) -> str:
        prompt = messages[-1]["content"]
        self.prompts.append((prompt, json_schema is not None))
        if json_schema is None:
            return "Bob fixes the export; the release is on Thursday."
        if "Bob will fix" in prompt:
            item = {"time": "00:01:05", "owner": "Bob", "task": "fix the export", "due": ""}
            return json.dumps({"action_items": [item]})
        return json.dumps({"decisions": [{"time": "00:01:20", "decision": "ship Thursday"}]})


async def _noop(_p: float, _m: str) -> None:
    return None


def _run(fmt: str, chunk_tokens: int) -> tuple[Any, ScriptedLLM]:
    llm = ScriptedLLM()
    req = SummaryRequest(transcript=SEGMENTS, format=fmt)  # type: ignore[arg-type]
    budget = SummaryBudget.for_request(4096, 100, 256, chunk_tokens, 16)
    lines = [f"[{s.start}] {s.text}" for s in SEGMENTS]
    lines[1] = "[00:01:05] SPEAKER_2: Bob will fix the export."
    draft = asyncio.run(Summariser(llm, req, budget, 2, _noop).run(SEGMENTS, lines))
    return draft, llm


def test_a_summary_is_notes_per_chunk_then_prose_from_the_notes():
    draft, llm = _run("paragraph", chunk_tokens=8)  # one line per chunk
    assert draft.info.strategy == "map_reduce" and draft.info.chunks == 3
    assert [structured for _, structured in llm.prompts] == [True, True, True, False]
    writing = llm.prompts[-1][0]
    assert "Bob: fix the export" in writing and "ship Thursday" in writing
    assert draft.text.startswith("Bob fixes")
    assert [(a.owner, a.source.start if a.source else None) for a in draft.action_items] == [
        ("Bob", 65.2)
    ]


def test_the_action_items_format_needs_no_writing_step():
    draft, llm = _run("action_items", chunk_tokens=1000)
    assert draft.info.strategy == "full" and len(llm.prompts) == 1
    assert draft.text == "- Bob: fix the export"
