"""Segment edits and speaker renames as pure functions."""

import pytest

from serve_app.transcript.edits import (
    EditError,
    UnknownSegmentError,
    edit_segment,
    rename_speakers,
    speakers_of,
)
from serve_app.transcript.segments import Segment, Word


def transcript():
    return [
        Segment(
            id="0",
            start=0,
            end=1,
            text="helo there",
            speaker="SPEAKER_1",
            words=[Word(start=0, end=1, word="helo", probability=0.5, speaker="SPEAKER_1")],
        ),
        Segment(id="1", start=1, end=2, text="hi", speaker="SPEAKER_2"),
        Segment(id="1.1", start=2, end=3, text="and you", speaker="SPEAKER_3"),
    ]


def test_text_edit_replaces_text_and_drops_stale_word_timings():
    edited = edit_segment(transcript(), "0", "  hello   there ", None)
    assert edited[0].text == "hello there" and edited[0].words == []
    assert edited[0].speaker == "SPEAKER_1" and edited[1:] == transcript()[1:]


def test_speaker_edit_reassigns_segment_and_its_words():
    edited = edit_segment(transcript(), "0", None, "Alice")
    assert edited[0].speaker == "Alice" and edited[0].words[0].speaker == "Alice"
    assert edited[0].speaker_confidence is None and edited[0].text == "helo there"


@pytest.mark.parametrize(
    ("segment_id", "text", "speaker", "error"),
    [
        ("9", "x", None, UnknownSegmentError),
        ("0", None, None, EditError),
        ("0", "   ", None, EditError),
        ("0", None, " ", EditError),
        ("0", None, "x" * 101, EditError),
    ],
)
def test_bad_segment_edits_are_refused(segment_id, text, speaker, error):
    with pytest.raises(error):
        edit_segment(transcript(), segment_id, text, speaker)


def test_rename_and_merge():
    renamed = rename_speakers(transcript(), {"SPEAKER_1": "Alice", "SPEAKER_3": "SPEAKER_2"})
    assert [s.speaker for s in renamed] == ["Alice", "SPEAKER_2", "SPEAKER_2"]
    assert renamed[0].words[0].speaker == "Alice"
    assert speakers_of(renamed) == ["Alice", "SPEAKER_2"]


def test_rename_of_an_unknown_speaker_names_the_known_ones():
    with pytest.raises(EditError, match=r"SPEAKER_9.*SPEAKER_1, SPEAKER_2, SPEAKER_3"):
        rename_speakers(transcript(), {"SPEAKER_9": "Bob"})
    with pytest.raises(EditError):
        rename_speakers(transcript(), {})
