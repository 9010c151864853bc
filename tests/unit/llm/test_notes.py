"""Notes schema, parsing, merging and the summary's map-reduce, without the model (the
model's replies are scripted: ``ScriptedLLM`` is a fake of the LLM replica; the real
model runs in tests/serve/test_llm.py)."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from serve_app.llm import checks
from serve_app.llm.notes import (
    ActionNote,
    Decision,
    SummaryNotes,
    WindowNotes,
    action_items,
    action_items_text,
    merge,
    parse,
    summary_schema,
    window_schema,
)
from serve_app.llm.schemas import SummaryRequest, TranscriptLine
from serve_app.llm.summary import Summariser, SummaryBudget

SEGMENTS = [
    TranscriptLine(start=0, end=4, speaker="SPEAKER_1", text="Hi, Priya here, I run the release."),
    TranscriptLine(start=5, end=9, speaker="SPEAKER_2", text="Mm-hmm."),
    TranscriptLine(start=10, end=15, speaker="SPEAKER_1",
                   text="We ship version two on Thursday, agreed."),
    TranscriptLine(start=16, end=20, speaker="SPEAKER_2",
                   text="I will fix the export bug by Wednesday."),
    TranscriptLine(start=21, end=25, speaker="SPEAKER_1",
                   text="Who pays for the new servers is still open."),
]  # fmt: skip


def test_the_schema_allows_only_the_windows_lines_labels_and_owners():
    # Segments 2 and 3 are lines #3 and #4 of the prompt: the model cites those.
    schema = window_schema([2, 3], ["SPEAKER_1"], ["SPEAKER_1", "Priya"])
    jsonschema.Draft202012Validator.check_schema(schema)
    good = {
        "speakers": [{"evidence": [3], "label": "SPEAKER_1", "name": "Priya"}],
        "topics": [{"evidence": [3], "title": "Release"}],
        "points": [
            {"evidence": [3], "text": "We ship on Thursday."},
            {"evidence": [4], "text": "Bob fixes the export."},
        ],
        "decisions": [{"evidence": [3, 4], "text": "Ship on Thursday"}],
        "action_items": [{"evidence": [4], "owner": "", "task": "Fix", "due": ""}],
        "open_questions": [],
    }
    jsonschema.validate(good, schema)
    for bad in (
        {**good, "decisions": [{"evidence": [2], "text": "x"}]},
        {**good, "decisions": [{"evidence": [], "text": "x"}]},
        {**good, "action_items": [{"evidence": [4], "owner": "Bob", "task": "x", "due": ""}]},
        {**good, "speakers": [{"evidence": [3], "label": "SPEAKER_9", "name": "Bo"}]},
        {**good, "topics": []},  # a window always has a subject
        {**good, "points": good["points"][:1]},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)
    assert "speakers" not in window_schema([0], [], [])["properties"]
    summary = summary_schema([3], 2)
    jsonschema.validate({"sentences": [{"evidence": [4], "text": "Priya ships it on Thursday."}]},
                        summary)  # fmt: skip
    for text in ("- Priya ships it on Thursday.", "Release (#4): Priya ships it.",
                 "00:01:05-00:02:00: release.", "Priya ships it on Thursday"):  # fmt: skip
        with pytest.raises(jsonschema.ValidationError):  # list marks, outline, no sentence end
            jsonschema.validate({"sentences": [{"evidence": [4], "text": text}]}, summary)
    russian = "Прия выпускает версию в четверг."
    jsonschema.validate({"sentences": [{"evidence": [4], "text": russian}]}, summary)
    assert parse(WindowNotes, json.dumps(good)).decisions[0].evidence == [2, 3]


def test_a_reply_cut_short_keeps_its_complete_items():
    raw = json.dumps(
        {"decisions": [{"evidence": [2], "text": "Ship"}, {"evidence": [3], "text": "Fix"}]}
    )
    cut = raw[: raw.index('"Fix"') + 2]
    assert [d.text for d in parse(WindowNotes, cut).decisions] == ["Ship"]
    assert parse(WindowNotes, "not json") == WindowNotes()
    assert parse(SummaryNotes, '{"sentences": [{"text": 3}]}') == SummaryNotes()


def test_merge_keeps_a_point_once_with_all_its_evidence():
    a = WindowNotes(decisions=[Decision(text="Ship version two on Thursday", evidence=[2])])
    b = WindowNotes(
        decisions=[
            Decision(text="ship version two on thursday.", evidence=[9]),
            Decision(text="Hire a designer", evidence=[11]),
        ]
    )
    merged = merge([a, b])
    assert [(d.text, d.evidence) for d in merged.decisions] == [
        ("Ship version two on Thursday", [2, 9]),
        ("Hire a designer", [11]),
    ]


def test_action_items_carry_the_name_and_the_span_of_their_evidence():
    notes = WindowNotes(
        speakers=[],
        action_items=[ActionNote(owner="SPEAKER_2", task="Fix the export", due="Wednesday",
                                 evidence=[3])],
    )  # fmt: skip
    items = action_items(notes, SEGMENTS)
    assert [(i.owner, i.due, i.source and i.source.start) for i in items] == [
        ("SPEAKER_2", "Wednesday", 16)
    ]
    assert action_items_text(items) == "- SPEAKER_2: Fix the export (due Wednesday)"


class ScriptedLLM:
    """A fake of the LLM replica: answers each structured call from a script, by schema."""

    def __init__(self, notes: dict[str, Any], summary: dict[str, Any]) -> None:
        self.notes, self.summary = notes, summary
        self.calls: list[dict[str, Any] | None] = []

    async def count(self, texts: list[str]) -> list[int]:
        return [len(t.split()) for t in texts]

    async def generate(
        self,
        messages: list[dict[str, str]],
        max_tokens: int,
        json_schema: dict[str, Any] | None = None,
    ) -> str:
        self.calls.append(json_schema)
        assert json_schema is not None
        answer = self.summary if "sentences" in json_schema["properties"] else self.notes
        jsonschema.validate(answer, json_schema)  # what structured decoding guarantees
        return json.dumps(answer)


def _summarise(llm: ScriptedLLM, fmt: str = "bullet_points") -> Any:
    async def progress(percent: float, message: str, notes: Any = None) -> None:
        pass

    req = SummaryRequest(transcript=SEGMENTS, format=fmt, max_length=60)  # type: ignore[arg-type]
    budget = SummaryBudget.for_request(4096, 60, 512, 768, 0)
    import asyncio

    return asyncio.run(Summariser(llm, req, budget, 4, progress).run(SEGMENTS))


# The model's replies cite line numbers: segment i is line #i+1.
NOTES = {
    "speakers": [
        {"evidence": [1], "label": "SPEAKER_1", "name": "Priya"},
        {"evidence": [2], "label": "SPEAKER_2", "name": "Hmm"},
    ],
    "topics": [{"evidence": [3], "title": "Version two release"}],
    "points": [
        {"evidence": [1], "text": "Priya runs the release."},
        {"evidence": [2], "text": "The servers are paid for."},
    ],
    "decisions": [
        {"evidence": [3], "text": "Ship version two on Thursday"},
        {"evidence": [2], "text": "Sarah decided to go next"},
    ],
    "action_items": [
        {"evidence": [4], "owner": "SPEAKER_2", "task": "Fix the export bug", "due": "Wednesday"}
    ],
    "open_questions": [{"evidence": [5], "text": "Who pays for the new servers?"}],
}


def test_one_window_one_notes_call_one_summary_call_and_every_item_checked():
    summary = {
        "sentences": [
            {"evidence": [1, 3], "text": "Priya's team ships version two on Thursday."},
            {"evidence": [2], "text": "The budget doubled."},
        ]
    }
    llm = ScriptedLLM(NOTES, summary)
    draft = _summarise(llm)
    assert len(llm.calls) == draft.calls == 2
    assert draft.info.strategy == "full"
    # The kept sentence is short of max_length: checked notes that cite other lines follow.
    assert draft.text.splitlines() == [
        "- Priya's team ships version two on Thursday.",
        "- SPEAKER_2: Fix the export bug (Wednesday)",
        "- Who pays for the new servers?",
    ]
    assert [s.evidence for s in draft.sentences] == [[0, 2], [3], [4]]
    assert [d.text for d in draft.notes.decisions] == ["Ship version two on Thursday"]
    assert [s.name for s in draft.notes.speakers] == ["Priya"]
    assert [(i.owner, i.due) for i in draft.action_items] == [("SPEAKER_2", "Wednesday")]
    debug = draft.debug()
    assert debug["checks"]["dropped"] == {
        "points: evidence does not support it": 1,
        "decisions: evidence does not support it": 1,
        "summary: evidence does not support it": 1,
        "speakers: name not said in its evidence": 1,
    }
    assert {(r["kind"], r["text"], tuple(r["evidence"])) for r in debug["rejected"]} >= {
        ("points", "The servers are paid for.", (1,)),
        ("decisions", "Sarah decided to go next", (1,)),
    }
    assert debug["summary_source"] == "model" and debug["calls"] == 2
    assert debug["summary_from_notes"] == 2


def test_without_a_supported_sentence_the_checked_notes_are_the_summary():
    llm = ScriptedLLM(NOTES, {"sentences": [{"evidence": [2], "text": "Nothing happened."}]})
    draft = _summarise(llm)
    assert draft.source == "notes"
    assert draft.text.splitlines() == [
        "- Priya runs the release.",
        "- Ship version two on Thursday",
        "- SPEAKER_2: Fix the export bug (Wednesday)",
        "- Who pays for the new servers?",
    ]


def test_the_action_items_format_takes_one_call():
    llm = ScriptedLLM(NOTES, {"sentences": []})
    draft = _summarise(llm, "action_items")
    assert len(llm.calls) == 1
    assert draft.text == "- SPEAKER_2: Fix the export bug (due Wednesday)"


def test_a_long_transcript_is_noted_window_by_window():
    long = [
        TranscriptLine(start=10 * i, end=10 * i + 9, speaker=f"SPEAKER_{i % 2}",
                       text=f"We went through the plans of office{i} and the hiring there.")
        for i in range(60)
    ]  # fmt: skip

    class PerWindow(ScriptedLLM):
        async def generate(self, messages, max_tokens, json_schema=None):  # type: ignore[no-untyped-def]
            self.calls.append(json_schema)
            assert json_schema is not None
            props = json_schema["properties"]
            if "sentences" in props:
                ids = props["sentences"]["items"]["properties"]["evidence"]["items"]["enum"]
                text = f"The plans of office{ids[0] - 1}."  # line #n is segment n-1
                return json.dumps({"sentences": [{"evidence": ids[:1], "text": text}]})
            ids = props["topics"]["items"]["properties"]["evidence"]["items"]["enum"]
            title = f"office{ids[0] - 1}"
            return json.dumps({"topics": [{"evidence": ids[:1], "title": title}]})

    partial: list[list[str]] = []

    async def progress(percent: float, message: str, notes: Any = None) -> None:
        if notes is not None:  # the checked notes so far, as each window is done
            partial.append([t["title"] for t in notes["topics"]])

    import asyncio

    req = SummaryRequest(transcript=long, max_length=60)
    budget = SummaryBudget.for_request(4096, 60, 512, 200, 0)
    llm = PerWindow({}, {})
    draft = asyncio.run(Summariser(llm, req, budget, 4, progress).run(long))
    windows = draft.info.chunks
    assert draft.info.strategy == "map_reduce" and windows >= 3
    assert len(llm.calls) == windows + 1  # one per window, one summary
    assert len(draft.notes.topics) == windows
    assert [len(p) for p in partial] == list(range(1, windows + 1))
    assert partial[-1] == [t.title for t in draft.notes.topics]
    assert draft.text == "- The plans of office0."


def test_without_any_checked_note_or_sentence_the_summary_is_empty(monkeypatch):
    monkeypatch.setattr(checks, "NEIGHBOURS", 0)  # line 2's neighbours say some of it
    notes = {
        **{k: [] for k in NOTES},
        "topics": [{"evidence": [2], "title": "Hiring designers"}],
        "points": [{"evidence": [2], "text": "Three designers were hired."}] * 2,
        "decisions": [{"evidence": [2], "text": "Ship on Thursday"}],
    }
    summary = {"sentences": [{"evidence": [2], "text": "The team hired three designers."}]}
    llm = ScriptedLLM(notes, summary)
    draft = _summarise(llm)
    assert (draft.source, draft.text, draft.sentences) == ("none", "", [])
    assert draft.debug()["checks"]["dropped"] == {
        "topics: evidence does not support it": 1,
        "points: evidence does not support it": 2,
        "decisions: evidence does not support it": 1,
        "summary: evidence does not support it": 1,
    }
    assert len(llm.calls) == 2  # never prompted again
