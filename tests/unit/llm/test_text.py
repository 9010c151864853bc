"""Prompt building, context fitting, summary shaping and topics (no Ray, no vllm)."""

from __future__ import annotations

import re

import pytest

from serve_app.llm.context import (
    chunk_by_budget,
    content_words,
    select_relevant,
    split_long_line,
)
from serve_app.llm.output import count_words, shape_summary
from serve_app.llm.prompts import (
    chat_messages,
    format_timestamp,
    notes_messages,
    numbered_line,
    summary_messages,
    summary_notes_messages,
    transcript_lines,
)
from serve_app.llm.schemas import TranscriptLine, usage_from_engine

SEGMENTS = [
    TranscriptLine(start=3.4, end=6.0, text=" Release on Thursday. ", speaker="SPEAKER_1"),
    TranscriptLine(start=3725.0, end=3730.0, text="Bob owns the export fix."),
    TranscriptLine(start=3731.0, end=3732.0, text="   "),
]


def test_lines_carry_time_and_speaker():
    assert format_timestamp(3725.9) == "01:02:05"
    assert transcript_lines(SEGMENTS) == [
        "[00:00:03] SPEAKER_1: Release on Thursday.",
        "[01:02:05] Bob owns the export fix.",
    ]
    assert transcript_lines([], "line one\n\nline two") == ["line one", "line two"]
    assert transcript_lines([], "  ") == []


def test_notes_lines_are_number_and_speaker_only_and_prompts_hold_no_example_to_copy():
    # No time on every line (it nearly doubled the prompt's tokens); code keeps the times.
    assert numbered_line(0, SEGMENTS[0]) == "#1 SPEAKER_1: Release on Thursday."
    assert numbered_line(1, SEGMENTS[1]) == "#2 Bob owns the export fix."
    lines = [numbered_line(i, s) for i, s in enumerate(SEGMENTS[:2])]
    for msgs in (notes_messages(lines, 1, 1), summary_notes_messages([], [], 80, lines)):
        ask = msgs[1]["content"].split("\n\n")[-1]
        # The only quoted words are the schema's own field names: no sample note to copy.
        assert re.findall(r'"([^"]*)"', ask) == ["evidence"], ask
        assert lines[0] in msgs[1]["content"]


def test_prompts_hold_the_transcript_and_the_format():
    lines = transcript_lines(SEGMENTS)
    msgs = summary_messages(lines, "bullet_points", 50)
    assert msgs[0]["role"] == "system" and "Never invent" in msgs[0]["content"]
    assert lines[0] in msgs[1]["content"] and "50 words" in msgs[1]["content"]
    assert "'- '" in msgs[1]["content"]
    assert "Part 2 of 3" in notes_messages(lines, 2, 3)[1]["content"]
    assert "Part 1 of 1" not in notes_messages(lines, 1, 1)[1]["content"]
    assert "language of the transcript" in notes_messages(lines, 1, 1)[1]["content"]
    assert "in French" in notes_messages(lines, 1, 1, "French")[1]["content"]
    conv = [{"role": "user", "content": "Who?"}]
    chat = chat_messages(lines, conv, note="only 2 of 9")
    assert (
        chat[1:] == conv and lines[1] in chat[0]["content"] and "only 2 of 9" in chat[0]["content"]
    )


def test_chunks_respect_the_budget_and_keep_every_line_in_order():
    counts = [30, 40, 50, 10, 90, 5]
    groups = chunk_by_budget(counts, 100)
    assert [i for g in groups for i in g] == list(range(len(counts)))
    assert all(sum(counts[i] for i in g) <= 100 for g in groups)
    assert groups == [[0, 1], [2, 3], [4, 5]]
    assert chunk_by_budget([500], 100) == [[0]]  # alone, never dropped
    with pytest.raises(ValueError):
        chunk_by_budget([1], 0)


def test_a_long_line_is_split_with_its_prefix():
    line = "[00:01:00] SPEAKER_2: " + " ".join(f"w{i}" for i in range(300))
    pieces = split_long_line(line, 600, 200)
    assert len(pieces) >= 3
    assert all(p.startswith("[00:01:00] SPEAKER_2: ") for p, _ in pieces)
    words = [w for p, _ in pieces for w in p.split()[2:]]
    assert words == [f"w{i}" for i in range(300)]  # nothing lost, order kept
    assert split_long_line("short", 3, 200) == [("short", 3)]
    numbered = "#7 SPEAKER_2: " + " ".join(f"w{i}" for i in range(300))
    assert all(p.startswith("#7 SPEAKER_2: ") for p, _ in split_long_line(numbered, 600, 200))


def test_relevant_lines_first_in_time_order():
    lines = [f"[00:00:{i:02d}] filler talk number {i}" for i in range(20)]
    lines[12] = "[00:00:12] SPEAKER_1: the launch codename is Bluebird"
    chosen = select_relevant(lines, [10] * 20, "What is the launch codename?", 40)
    assert 12 in chosen and 11 in chosen and 13 in chosen  # the match and its neighbours
    assert chosen == sorted(chosen) and len(chosen) == 4


MODEL_TEXT = """Here is a summary:
1. Alice proposed shipping on Thursday.
2. Bob owns the export fix.
3. Dan helps Bob with the export rewrite next week."""


@pytest.mark.parametrize(
    "fmt, check",
    [
        ("paragraph", lambda s: "\n" not in s and s.startswith("Alice proposed")),
        ("bullet_points", lambda s: all(x.startswith("- ") for x in s.splitlines())),
        ("key_points", lambda s: [x[:3] for x in s.splitlines()] == ["1. ", "2. ", "3. "]),
    ],
)
def test_summary_shape_is_enforced(fmt, check):
    shaped = shape_summary(MODEL_TEXT, fmt, 100)
    assert check(shaped), shaped
    assert "Here is" not in shaped


def test_prose_becomes_bullets_and_max_length_holds():
    prose = "Alice opened the meeting. Bob reported three bugs. Carol proposed Thursday."
    bullets = shape_summary(prose, "bullet_points", 100)
    assert bullets.splitlines() == [
        "- Alice opened the meeting.",
        "- Bob reported three bugs.",
        "- Carol proposed Thursday.",
    ]
    for limit in (3, 5, 8):
        shaped = shape_summary(prose, "paragraph", limit)
        assert count_words(shaped) <= limit
    assert shape_summary("", "paragraph", 10) == ""


def test_repeated_points_are_kept_once():
    looped = "1. Bob owns the fix.\n2. Dan helps.\n3. Bob owns the fix.\n4. Dan helps!"
    assert shape_summary(looped, "key_points", 100) == "1. Bob owns the fix.\n2. Dan helps."


def test_content_words_leave_out_labels():
    assert "speaker_1" not in content_words("SPEAKER_1: hello world")


def test_usage_names():
    u = usage_from_engine({"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17})
    assert (u.prompt, u.completion, u.total) == (12, 5, 17)
