"""Renaming a finished transcript's speakers after a new match: text kept, idempotent."""

from serve_app.speakers.relabel import relabelled, speech_seconds
from serve_app.transcript.segments import Segment, Word


def seg(speaker, text, speaker_id=None):
    return Segment(
        start=0.0,
        end=1.0,
        text=text,
        speaker=speaker,
        speaker_id=speaker_id,
        words=[Word(start=0.0, end=1.0, word=text, probability=1.0, speaker=speaker)],
    )


ALICE = {"speaker_id": "spk_a", "name": "Alice", "score": 0.9}


def test_a_new_match_names_the_speaker_and_keeps_edited_text():
    segments = [seg("SPEAKER_1", "edited by hand"), seg("SPEAKER_2", "hello")]
    out, display = relabelled(segments, {}, {}, {"SPEAKER_1": ALICE})
    assert [s.speaker for s in out] == ["Alice", "SPEAKER_2"]
    assert out[0].text == "edited by hand" and out[0].words[0].speaker == "Alice"
    assert out[0].speaker_id == "spk_a" and out[0].speaker_match == 0.9
    assert display == {"SPEAKER_1": "Alice"}
    # The same match again changes nothing.
    assert relabelled(out, display, {"SPEAKER_1": ALICE}, {"SPEAKER_1": ALICE}) is None


def test_a_person_no_longer_matching_is_unknown_again_but_a_hand_rename_stays():
    segments = [seg("Alice", "a", "spk_a"), seg("Bob", "b")]
    display = {"SPEAKER_1": "Alice", "SPEAKER_2": "Bob"}  # Bob was typed by a user
    out, shown = relabelled(segments, display, {"SPEAKER_1": ALICE}, {})
    assert [(s.speaker, s.speaker_id) for s in out] == [("SPEAKER_1", None), ("Bob", None)]
    assert shown == {"SPEAKER_2": "Bob"}


def test_speech_seconds_per_label():
    turns = [
        {"start": 0.0, "end": 2.0, "speaker": "SPEAKER_1"},
        {"start": 2.0, "end": 2.5, "speaker": "SPEAKER_2"},
        {"start": 3.0, "end": 4.0, "speaker": "SPEAKER_1"},
    ]
    assert speech_seconds(turns) == {"SPEAKER_1": 3.0, "SPEAKER_2": 0.5}
