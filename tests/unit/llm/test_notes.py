"""Structured notes: parsing cut-short JSON, tying notes to segments, merging, action items,
and a summary run end to end against a scripted fake of the LLM calls."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from serve_app.llm.notes import (
    ITEM_MODELS,
    MODEL_KINDS,
    ActionNote,
    ChunkNotes,
    Decision,
    OpenQuestion,
    Person,
    Quote,
    action_items,
    ground,
    kind_schema,
    locate,
    merge,
    parse_items,
    quoted,
)
from serve_app.llm.prompts import format_line
from serve_app.llm.schemas import SummaryRequest, TranscriptLine
from serve_app.llm.selection import points
from serve_app.llm.summary import Summariser, SummaryBudget

SEGMENTS = [
    TranscriptLine(start=0.0, end=7.0, speaker="SPEAKER_1", text="Hi, Alice here."),
    TranscriptLine(
        start=65.2, end=72.0, speaker="SPEAKER_2", text="Bob will fix the export by Wednesday."
    ),
    TranscriptLine(start=80.0, end=88.0, speaker="SPEAKER_1", text="Decided: we ship Thursday."),
]


def test_each_kind_has_its_schema():
    assert set(ITEM_MODELS) == {
        "people",
        "decisions",
        "action_items",
        "numbers",
        "dates",
        "open_questions",
    }
    schema = kind_schema("action_items")
    assert schema["required"] == ["items"]
    assert set(schema["properties"]["items"]["items"]["properties"]) == {
        "time",
        "owner",
        "task",
        "due",
    }


def test_a_reply_cut_by_max_tokens_keeps_its_complete_items():
    full = {
        "items": [
            {"time": "00:01:05", "owner": "Bob", "task": "fix export", "due": "Wed"},
            {"time": "00:01:06", "owner": "Carol", "task": "write notes", "due": "Tue"},
        ]
    }
    text = json.dumps(full)
    cut = text[: text.index("Carol") + 8]  # inside the second item
    assert [a.owner for a in parse_items("action_items", cut)] == ["Bob"]
    assert [a.owner for a in parse_items("action_items", text)] == ["Bob", "Carol"]
    assert parse_items("action_items", "not json at all") == []
    # An item that does not validate is skipped, the others kept.
    mixed = json.dumps({"items": [{"owner": "x"}, full["items"][0]]})
    assert [a.owner for a in parse_items("action_items", mixed)] == ["Bob"]


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
    assert points(merged) == ["Alice: Ship Thursday.", "Alice: Keep the export."]


def test_a_pasted_transcript_line_is_not_a_note():
    notes = ChunkNotes(
        decisions=[Decision(time="00:01:20", decision="SPEAKER_1: Decided: we ship Thursday.")]
    )
    assert ground(notes, SEGMENTS).decisions == []


class ScriptedLLM:
    """Fake of the LLM calls (named so): per kind of note, the JSON a model would give
    for the chunk; a fixed text for a plain prompt; one token a word. Real-model runs are
    in tests/serve."""

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
            return "A plain summary."
        items: list[dict[str, str]] = []
        if "Bob will fix" in prompt and "List every task" in prompt:
            items = [{"time": "00:01:05", "owner": "Bob", "task": "fix the export", "due": ""}]
        if "we ship Thursday" in prompt and "List every decision" in prompt:
            items = [{"time": "00:01:20", "decision": "ship Thursday", "by": "SPEAKER_1"}]
        if "Alice here" in prompt and "List every person" in prompt:
            items = [{"name": "Alice", "speaker": "SPEAKER_1"}]
        return json.dumps({"items": items})


async def _noop(_p: float, _m: str) -> None:
    return None


def _run(fmt: str, chunk_tokens: int) -> tuple[Any, ScriptedLLM]:
    llm = ScriptedLLM()
    req = SummaryRequest(transcript=SEGMENTS, format=fmt)  # type: ignore[arg-type]
    budget = SummaryBudget.for_request(4096, 100, 256, chunk_tokens, 16)
    lines = [format_line(s) for s in SEGMENTS]
    draft = asyncio.run(Summariser(llm, req, budget, 2, _noop).run(SEGMENTS, lines))
    return draft, llm


def test_a_summary_is_each_kind_of_note_per_chunk_then_one_point_per_note():
    draft, llm = _run("paragraph", chunk_tokens=8)  # one line per chunk
    assert draft.info.strategy == "map_reduce" and draft.info.chunks == 3
    # The model takes four kinds; numbers and dates are read off the transcript.
    assert len(llm.prompts) == 3 * len(MODEL_KINDS) and all(s for _, s in llm.prompts)
    # Each note shown as what its line says, by who said it (named where known); in the
    # order they were said. The decision's line also has a date note: shown once.
    assert draft.text.splitlines() == [
        "- SPEAKER_2: Bob will fix the export by Wednesday.",
        "- Alice: Decided: we ship Thursday.",
    ]
    assert [(a.owner, a.source.start if a.source else None) for a in draft.action_items] == [
        ("Bob", 65.2)
    ]


def test_the_action_items_format_is_the_notes_items():
    draft, llm = _run("action_items", chunk_tokens=1000)
    assert draft.info.strategy == "full" and len(llm.prompts) == len(MODEL_KINDS)
    assert draft.text == "- Bob: fix the export"


def test_without_notes_the_transcript_itself_is_summarised():
    llm = ScriptedLLM()
    chatter = [TranscriptLine(start=0.0, end=3.0, text="Lovely weather today.")]
    budget = SummaryBudget.for_request(4096, 100, 256, 1000, 16)
    req = SummaryRequest(transcript=chatter)
    run = Summariser(llm, req, budget, 2, _noop).run(chatter, [format_line(chatter[0])])
    draft = asyncio.run(run)
    assert draft.text == "A plain summary." and llm.prompts[-1][1] is False


def test_a_note_is_tied_to_the_line_it_words_not_to_a_wrong_time_it_cites():
    # The model pasted the 00:01:20 line and cited the time of the line before it.
    segment = locate("00:01:05", "Decided: we ship Thursday.", SEGMENTS)
    assert segment is not None and segment.start == 80.0
    # A paraphrase sharing one word keeps the time it cites.
    segment = locate("00:01:05", "fixing", SEGMENTS)
    assert segment is not None and segment.start == 65.2


def test_a_note_is_shown_as_what_its_line_says_by_who_said_it_not_as_the_model_words_it():
    notes = ChunkNotes(
        people=[Person(name="Alice", speaker="SPEAKER_1"), Person(name="Bob", speaker="SPEAKER_2")],
        # The model guessed Bob decided, and worded the task its own way.
        decisions=[Decision(time="00:01:20", decision="we ship on Thursday", by="Bob")],
        action_items=[ActionNote(time="00:01:05", owner="Bob", task="export fix, rejected")],
    )
    grounded = ground(notes, SEGMENTS)
    assert [(d.decision, d.by) for d in grounded.decisions] == [("we ship on Thursday", "Bob")]
    assert [(d.quote.speaker, d.quote.text) for d in grounded.decisions if d.quote] == [
        ("SPEAKER_1", "Decided: we ship Thursday.")
    ]
    assert points(grounded) == [
        "Bob: Bob will fix the export by Wednesday.",
        "Alice: Decided: we ship Thursday.",
    ]
    # The action items list names owners, labels mapped with the whole transcript's people.
    labelled = grounded.model_copy(
        update={"action_items": [ActionNote(time="00:01:05", owner="SPEAKER_2", task="fix it")]}
    )
    assert [i.owner for i in action_items(labelled, SEGMENTS)] == ["Bob"]


def test_action_items_are_the_tasks_whose_line_sets_a_deadline_or_asks_by_name_once_each():
    segments = [
        *SEGMENTS,
        TranscriptLine(start=90, end=96, speaker="SPEAKER_2", text="I'll grab us some coffee."),
        TranscriptLine(start=98, end=104, speaker="SPEAKER_1", text="Bob, can you ask Dana?"),
    ]
    notes = ChunkNotes(
        action_items=[
            ActionNote(time="00:01:05", owner="Bob", task="fix the export"),
            ActionNote(time="00:01:05", owner="Alice", task="export fix"),  # the same line
            ActionNote(time="00:01:30", owner="Bob", task="grab coffee"),
            ActionNote(time="00:01:38", owner="Bob", task="ask Dana"),
        ]
    )
    assert [(i.owner, i.task) for i in action_items(notes, segments)] == [
        ("Bob", "fix the export"),
        ("Bob", "ask Dana"),
    ]
    # A transcript without times (full_text) cannot be checked: the items as written.
    untimed = [TranscriptLine(text=s.text) for s in segments]
    assert len(action_items(notes, untimed)) == 4


def test_a_quote_is_the_sentences_of_the_line_the_note_draws_on():
    line = TranscriptLine(
        start=0,
        end=9,
        speaker="SPEAKER_3",
        text="Helen here, from product. Lovely weather. Dark mode stays out. It is rejected.",
    )
    assert quoted("rejected: dark mode", line).text == "Dark mode stays out. It is rejected."
    # The speaker's introduction is not what a note is about.
    assert (
        quoted("Helen decided", line).text == "Lovely weather. Dark mode stays out. It is rejected."
    )
    assert quoted("Helen: the weather", line) == Quote(speaker="SPEAKER_3", text="Lovely weather.")


def test_a_note_that_only_names_someone_is_dropped():
    notes = ChunkNotes(
        people=[Person(name="Alice", speaker="SPEAKER_1")],
        decisions=[Decision(time="00:01:20", decision="Alice", by="Bob")],
        open_questions=[OpenQuestion(time="00:00:00", question="Alice?")],
    )
    grounded = ground(notes, SEGMENTS)
    assert grounded.decisions == [] and grounded.open_questions == []
