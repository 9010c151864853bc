"""Fitting a chat prompt: the whole transcript when it fits, else the relevant lines."""

import pytest

from serve_app.errors import InvalidRequestError
from serve_app.llm.chat import fit_chat_prompt
from serve_app.llm.schemas import ChatMessage, ChatRequest, TranscriptLine

SEGMENTS = [
    TranscriptLine(start=0, end=5, speaker="SPEAKER_1", text="Could someone close that window?"),
    TranscriptLine(start=8, end=13, speaker="SPEAKER_2", text="The paywall is rejected."),
    TranscriptLine(start=16, end=21, speaker="SPEAKER_1", text="Gemma, can you call by Friday?"),
    TranscriptLine(start=24, end=29, speaker="SPEAKER_2", text="Whether we keep it stays open."),
]
LINES = [f"[00:00:{int(s.start):02d}] {s.speaker}: {s.text}" for s in SEGMENTS]


def _fit(window: int, max_tokens: int = 64) -> tuple[str, str]:
    req = ChatRequest(
        transcript=SEGMENTS,
        messages=[ChatMessage(role="user", content="Was the paywall accepted?")],
        max_tokens=max_tokens,
    )
    messages, info = fit_chat_prompt(req, LINES, [8] * 4, 8, window, 0, "m")
    assert messages[-1]["content"] == "Was the paywall accepted?"
    return messages[0]["content"], info.strategy


def test_the_whole_transcript_when_it_fits():
    prompt, strategy = _fit(window=2048)
    assert strategy == "full" and all(line in prompt for line in LINES)


def test_only_the_relevant_lines_when_it_does_not():
    # room for 3 of the 4 lines: the one about the paywall and its neighbours
    prompt, strategy = _fit(window=64 + 8 + 200 + 34)
    assert strategy == "selected"
    assert LINES[1] in prompt and LINES[3] not in prompt


def test_no_room_for_the_transcript_is_a_clear_error():
    with pytest.raises(InvalidRequestError, match="no room"):
        _fit(window=400, max_tokens=200)
