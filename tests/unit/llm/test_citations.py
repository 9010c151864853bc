"""Chat citations: only segments the transcript holds, cited by time or matched by words."""

from __future__ import annotations

from serve_app.llm.citations import citations, cited_times
from serve_app.llm.schemas import TranscriptLine

TRANSCRIPT = [
    TranscriptLine(start=3.0, end=7.0, speaker="SPEAKER_1", text="Hi, Alice here."),
    TranscriptLine(start=65.4, end=70.0, speaker="SPEAKER_2", text="Bob owns the export fix."),
    TranscriptLine(start=3725.0, end=3730.0, speaker="SPEAKER_1", text="Release on Thursday."),
]


def test_times_in_an_answer_are_read_in_every_common_shape():
    assert cited_times("at [00:01:05] and 1:02:05") == ["00:01:05", "01:02:05"]
    assert cited_times("at 01:05") == ["00:01:05"]


def test_a_cited_time_gives_its_segment_and_an_unreal_one_is_dropped():
    cited = citations("Bob owns it [00:01:05]. Also [00:42:00].", TRANSCRIPT)
    assert [(c.start, c.end, c.speaker, c.text) for c in cited] == [
        (65.4, 70.0, "SPEAKER_2", "Bob owns the export fix.")
    ]


def test_an_answer_without_times_is_matched_by_its_words():
    cited = citations("The release is on Thursday.", TRANSCRIPT)
    assert [c.start for c in cited] == [3725.0]
    assert citations("I do not know.", TRANSCRIPT) == []


def test_a_cited_line_that_does_not_support_the_answer_gives_way_to_one_that_does():
    # The time is Alice's greeting; the answer's words are Bob's line.
    cited = citations("Bob owns the export fix [00:00:03].", TRANSCRIPT)
    assert [c.start for c in cited] == [65.4]
    # Two cited, one supports it: only that one.
    cited = citations("Bob owns the export fix [00:00:03] [00:01:05].", TRANSCRIPT)
    assert [c.start for c in cited] == [65.4]
    # Nothing shares two words with a bare answer: the cited line stays.
    assert [c.start for c in citations("Yes [00:00:03].", TRANSCRIPT)] == [3.0]


def test_an_untimed_transcript_has_nothing_to_cite():
    assert citations("[00:00:00] yes", [TranscriptLine(text="full text only")]) == []
