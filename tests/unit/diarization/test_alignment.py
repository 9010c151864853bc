"""Unit tests for serve_app.diarization.alignment (no Ray, no models)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest

from serve_app.diarization.alignment import (
    TurnIndex,
    align_segments,
    assign_words,
    map_speakers,
    speaker_stats,
)
from serve_app.transcript.segments import Segment, Word


def turn(start: float, end: float, speaker: str, confidence: float = 1.0) -> dict:
    return {"start": start, "end": end, "speaker": speaker, "confidence": confidence}


def word(start: float, end: float, text: str, p: float = 0.9) -> Word:
    return Word(start=start, end=end, word=text, probability=p)


def segment(words: list[Word], text: str | None = None) -> Segment:
    return Segment(
        start=words[0].start,
        end=words[-1].end,
        text=text if text is not None else "".join(w.word for w in words),
        words=words,
    )


TURNS = [turn(0.0, 2.0, "SPEAKER_1", 0.9), turn(2.0, 4.0, "SPEAKER_2", 0.8)]


def test_word_takes_speaker_with_largest_overlap():
    words = assign_words([word(1.7, 2.1, " a"), word(1.9, 2.5, " b")], TURNS)
    assert [w.speaker for w in words] == ["SPEAKER_1", "SPEAKER_2"]
    # 0.3 of 0.4 s covered by SPEAKER_1 (conf 0.9)
    assert words[0].speaker_confidence == pytest.approx(0.75 * 0.9, abs=1e-3)
    assert words[1].speaker_confidence == pytest.approx(5 / 6 * 0.8, abs=1e-3)


def test_word_fully_inside_turn_gets_turn_confidence():
    (w,) = assign_words([word(0.5, 0.9, " hi")], TURNS)
    assert (w.speaker, w.speaker_confidence) == ("SPEAKER_1", pytest.approx(0.9))
    assert w.word == " hi" and w.probability == pytest.approx(0.9)


def test_word_without_overlap_gets_nearest_turn_with_low_confidence():
    turns = [turn(0.0, 1.0, "SPEAKER_1"), turn(5.0, 6.0, "SPEAKER_2")]
    words = assign_words([word(1.2, 1.5, " x"), word(4.5, 4.8, " y"), word(9, 9.5, " z")], turns)
    assert [w.speaker for w in words] == ["SPEAKER_1", "SPEAKER_2", "SPEAKER_2"]
    assert 0 < words[0].speaker_confidence < 0.5
    assert words[2].speaker_confidence < words[1].speaker_confidence  # farther, less sure


def test_word_before_first_turn_gets_first_speaker():
    (w,) = assign_words([word(0.0, 0.2, " so")], [turn(3.0, 4.0, "SPEAKER_7")])
    assert w.speaker == "SPEAKER_7"


def test_zero_length_word_is_attributed():
    (w,) = assign_words([word(2.5, 2.5, " ok")], TURNS)
    assert w.speaker == "SPEAKER_2"
    assert w.speaker_confidence == pytest.approx(0.8)


def test_segment_spanning_two_speakers_is_split():
    words = [
        word(0.2, 0.6, " Hello"),
        word(0.7, 1.5, " there."),
        word(2.2, 2.6, " Hi"),
        word(2.7, 3.4, " back."),
    ]
    seg = Segment(start=0.0, end=3.6, text=" Hello there. Hi back.", words=words)
    out = align_segments([seg], TURNS)
    assert len(out) == 2
    first, second = out
    assert (first.speaker, first.text, first.start, first.end) == (
        "SPEAKER_1",
        "Hello there.",
        0.0,
        1.5,
    )
    assert (second.speaker, second.text, second.start, second.end) == (
        "SPEAKER_2",
        "Hi back.",
        2.2,
        3.6,
    )
    assert [w.word for w in first.words] == [" Hello", " there."]
    assert first.speaker_confidence == pytest.approx(0.9)
    assert second.speaker_confidence == pytest.approx(0.8)


def test_segment_alternating_speakers_gives_three_pieces():
    turns = [turn(0, 1, "A"), turn(1, 2, "B"), turn(2, 3, "A")]
    seg = segment([word(0.1, 0.5, " one"), word(1.1, 1.5, " two"), word(2.1, 2.5, " three")])
    out = align_segments([seg], turns)
    assert [(s.speaker, s.text) for s in out] == [("A", "one"), ("B", "two"), ("A", "three")]
    # pieces are ordered and do not overlap
    assert all(a.end <= b.start for a, b in itertools.pairwise(out))


def test_single_speaker_segment_keeps_original_bounds_and_text():
    seg = Segment(start=0.05, end=1.95, text="  Hello world ", words=[word(0.1, 0.5, " Hello")])
    (out,) = align_segments([seg], TURNS)
    assert (out.start, out.end, out.text, out.speaker) == (0.05, 1.95, "Hello world", "SPEAKER_1")


def test_segment_confidence_is_duration_weighted():
    turns = [turn(0, 1, "A", 1.0), turn(1, 4, "A", 0.5)]
    seg = segment([word(0.0, 1.0, " long"), word(1.0, 4.0, " longer")])
    (out,) = align_segments([seg], turns)
    assert out.speaker == "A"
    assert out.speaker_confidence == pytest.approx((1 * 1.0 + 3 * 0.5) / 4)


def test_partial_overlap_lowers_segment_confidence():
    turns = [turn(0.0, 1.0, "A", 1.0)]
    inside = align_segments([segment([word(0.2, 0.8, " in")])], turns)[0]
    half = align_segments([segment([word(0.6, 1.4, " half")])], turns)[0]
    assert inside.speaker_confidence == pytest.approx(1.0)
    assert half.speaker_confidence == pytest.approx(0.5)
    assert 0.0 <= half.speaker_confidence <= 1.0


def test_segment_without_words_uses_segment_span():
    seg = Segment(start=1.5, end=3.5, text=" mostly two")
    (out,) = align_segments([seg], TURNS)
    assert out.speaker == "SPEAKER_2"
    assert out.speaker_confidence == pytest.approx(0.75 * 0.8)
    assert out.words == []


def test_no_turns_leaves_speaker_empty():
    seg = segment([word(0.0, 0.5, " hi")])
    (out,) = align_segments([seg], [])
    assert out.speaker is None and out.speaker_confidence is None
    assert out.words[0].speaker is None


def test_turns_may_be_objects_and_words_keep_their_speaker():
    @dataclass
    class T:
        start: float
        end: float
        speaker: str
        confidence: float

    seg = segment([word(0.1, 0.5, " a", 0.9), word(2.5, 2.9, " b", 0.8)])
    out = align_segments([seg], [T(0, 2, "X", 1.0), T(2, 3, "Y", 1.0)])
    assert [(s.speaker, s.text) for s in out] == [("X", "a"), ("Y", "b")]
    assert isinstance(out[0], Segment)
    assert out[0].words[0].speaker == "X"
    assert out[0].tokens == []  # a split piece has no token ids of its own


def test_map_speakers_keeps_shown_names_and_numbers_new_voices():
    shown = [turn(0, 2, "SPEAKER_1"), turn(2, 4, "SPEAKER_2")]
    # a new pass with other labels, a third voice, and the second voice partly reassigned
    new = [turn(0, 2.5, "b"), turn(2.5, 4, "a"), turn(4, 5, "c"), turn(5, 6, "b")]
    mapped = map_speakers(new, shown)
    assert [t["speaker"] for t in mapped] == ["SPEAKER_1", "SPEAKER_2", "SPEAKER_3", "SPEAKER_1"]
    # nothing shown yet: numbered by first appearance
    fresh = map_speakers([turn(3, 4, "x"), turn(0, 1, "y")], [])
    assert [t["speaker"] for t in fresh] == ["SPEAKER_2", "SPEAKER_1"]
    # two labels cannot take one name: the one sharing less time gets a new one
    split = map_speakers([turn(0, 1.5, "p"), turn(1.5, 2, "q")], [turn(0, 2, "SPEAKER_4")])
    assert [t["speaker"] for t in split] == ["SPEAKER_4", "SPEAKER_5"]


def test_unsorted_turns_and_missing_confidence():
    turns = [{"start": 2.0, "end": 3.0, "speaker": "B"}, {"start": 0.0, "end": 1.0, "speaker": "A"}]
    words = assign_words([word(0.2, 0.4, " a"), word(2.2, 2.4, " b")], turns)
    assert [w.speaker for w in words] == ["A", "B"]
    assert words[0].speaker_confidence == pytest.approx(1.0)


def test_nearest_turn_search_with_long_earlier_turn():
    # a long early turn ending late must be found even if later turns start after it
    index = TurnIndex([turn(0, 10, "A"), turn(10.5, 11, "B"), turn(20, 21, "C")])
    assert index.attribute(10.2, 10.3)[0] in {"A", "B"}
    assert index.attribute(10.05, 10.1)[0] == "A"
    assert index.attribute(15.0, 15.5)[0] == "B"
    assert index.attribute(19.0, 19.5)[0] == "C"


def test_many_words_are_all_attributed_consistently():
    turns = [turn(i, i + 1, f"S{i % 3}") for i in range(100)]
    words = [word(i + 0.1, i + 0.9, f" w{i}") for i in range(100)]
    out = assign_words(words, turns)
    assert all(w.speaker == f"S{i % 3}" for i, w in enumerate(out))
    segs = align_segments([segment(words)], turns)
    assert len(segs) == 100
    assert segs[0].start == pytest.approx(0.1) and segs[-1].end == pytest.approx(99.9)


def test_speaker_stats():
    seg = segment([word(0.2, 0.6, " x"), word(2.2, 3.2, " y")])
    stats = speaker_stats(align_segments([seg], TURNS))
    assert stats == {"SPEAKER_1": pytest.approx(0.4), "SPEAKER_2": pytest.approx(1.0)}
