"""Fitting a chat prompt: the transcript, and the notes read off it when they fit."""

from serve_app.llm.chat import fit_chat_prompt
from serve_app.llm.pattern_notes import key_notes
from serve_app.llm.schemas import ChatMessage, ChatRequest, TranscriptLine

SEGMENTS = [
    TranscriptLine(start=0, end=5, speaker="SPEAKER_1", text="Could someone close that window?"),
    TranscriptLine(start=8, end=13, speaker="SPEAKER_2", text="The paywall is rejected."),
    TranscriptLine(start=16, end=21, speaker="SPEAKER_1", text="Gemma, can you call by Friday?"),
    TranscriptLine(start=24, end=29, speaker="SPEAKER_2", text="Whether we keep it stays open."),
]
LINES = [f"[00:00:{int(s.start):02d}] {s.speaker}: {s.text}" for s in SEGMENTS]


def _prompt(window: int, key_tokens: int) -> str:
    req = ChatRequest(
        transcript=SEGMENTS,
        messages=[ChatMessage(role="user", content="Was the paywall accepted?")],
        max_tokens=64,
    )
    key = key_notes(SEGMENTS, {"SPEAKER_1": "Nicola"})
    messages, _ = fit_chat_prompt(req, LINES, [8] * 4, 8, window, 0, "m", key, key_tokens)
    return messages[0]["content"]


def test_decisions_questions_and_tasks_read_off_it_are_listed_after_the_transcript():
    prompt = _prompt(window=2048, key_tokens=48)
    transcript, listed = prompt.split("tasks with a deadline, as said in the transcript:\n")
    assert all(line in transcript for line in LINES)
    assert listed.splitlines() == [
        "Decisions made:",
        "[00:00:08] (SPEAKER_2): The paywall is rejected.",
        "Questions left open (not decided):",
        "[00:00:24] (SPEAKER_2): Whether we keep it stays open.",
        "Tasks given (who, due, asked by whom: what):",
        "[00:00:16] Gemma, due Friday, asked by Nicola: call by Friday",
    ]


def test_key_lines_that_would_crowd_out_the_transcript_are_left_out():
    prompt = _prompt(window=400, key_tokens=300)
    assert "tasks with a deadline" not in prompt and all(line in prompt for line in LINES)


def test_a_transcript_without_times_lists_its_notes_without_times():
    untimed = [TranscriptLine(text=s.text, speaker=s.speaker) for s in SEGMENTS]
    assert key_notes(untimed, {}) == [
        "Decisions made:",
        "(SPEAKER_2): The paywall is rejected.",
        "Questions left open (not decided):",
        "(SPEAKER_2): Whether we keep it stays open.",
        "Tasks given (who, due, asked by whom: what):",
        "Gemma, due Friday, asked by SPEAKER_1: call by Friday",
    ]
