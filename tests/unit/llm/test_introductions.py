"""Speakers named from their own introductions, and the prompt lines that show the name."""

import pytest

from serve_app.llm.introductions import introduced, speakers
from serve_app.llm.prompts import timed_lines
from serve_app.llm.schemas import TranscriptLine


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Hi everyone, Priya here. Let's settle the plan.", "Priya"),
        ("Helen speaking, from product.", "Helen"),
        ("Hi, Jason from recruiting. Numbers first.", "Jason"),
        ("And Derek, from people ops.", "Derek"),
        ("Hello, I'm Owen.", "Owen"),
        ("This is Dana from finance.", "Dana"),
        ("My name is Kofi and I run the lab.", "Kofi"),
        ("Hi everyone, Wei from the data team.", "Wei"),
    ],
)
def test_introductions(text: str, name: str) -> None:
    assert introduced(text) == name


@pytest.mark.parametrize(
    "text",
    [
        "Hi Jason, how are you?",  # greets someone else
        "Is Tom here?",
        "Apart from that, fine.",
        "Data from the survey is in.",
        "It's Monday here, sorry.",
        "Sorry, it's boiling in here.",
        "Hi everyone, welcome.",
    ],
)
def test_not_introductions(text: str) -> None:
    assert introduced(text) is None


def test_a_label_is_named_by_its_own_first_introduction() -> None:
    segments = [
        TranscriptLine(start=0, end=4, speaker="SPEAKER_1", text="Morning, Natalie here."),
        # Natalie names someone else: that is not SPEAKER_1's introduction of SPEAKER_2.
        TranscriptLine(
            start=4, end=8, speaker="SPEAKER_1", text="Is Jason here? Jason, you there?"
        ),
        TranscriptLine(start=8, end=12, speaker="SPEAKER_2", text="Yes, Jason here."),
        TranscriptLine(start=12, end=16, speaker="SPEAKER_2", text="I'm Sam's stand-in."),
        TranscriptLine(start=16, end=20, speaker="SPEAKER_3", text="Budget first."),
        TranscriptLine(start=20, end=24, text="Priya here, no label."),
    ]
    assert speakers(segments) == {"SPEAKER_1": "Natalie", "SPEAKER_2": "Jason"}
    _, lines = timed_lines(segments)
    assert lines[:3] == [
        "[00:00:00] Natalie: Morning, Natalie here.",
        "[00:00:04] Natalie: Is Jason here? Jason, you there?",
        "[00:00:08] Jason: Yes, Jason here.",
    ]
    assert lines[4:] == ["[00:00:16] SPEAKER_3: Budget first.", "[00:00:20] Priya here, no label."]
