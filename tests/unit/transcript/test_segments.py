from itertools import pairwise

import pytest

from serve_app.transcript.segments import (
    Segment,
    Word,
    finalize_chunk_segments,
    is_silence,
    join_text,
    shift_segments,
)
from serve_app.transcript.timefmt import format_display


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0, "00:00:00.000"),
        (1.2345, "00:00:01.234"),
        (59.9996, "00:01:00.000"),
        (3723.5, "01:02:03.500"),
        (-1, "00:00:00.000"),
        (36000, "10:00:00.000"),
    ],
)
def test_format_display(seconds, expected):
    assert format_display(seconds) == expected


def seg(start, end, text="hello world", words=True):
    ws = [Word(start=start, end=(start + end) / 2, word=" hello", probability=0.9)] if words else []
    return Segment(start=start, end=end, text=text, words=ws)


def test_shift_moves_segments_and_words():
    (shifted,) = shift_segments([seg(1.0, 2.0)], 30.0)
    assert (shifted.start, shifted.end) == (31.0, 32.0)
    assert shifted.words[0].start == 31.0


@pytest.mark.parametrize("text", ["", "  ", "...", "[silence]", "(Music)", "[BLANK_AUDIO]"])
def test_silence_segments_are_recognised(text):
    assert is_silence(seg(0, 1, text))


def test_speech_is_not_silence():
    assert not is_silence(seg(0, 1, "Hello."))


def test_finalize_drops_silence_clamps_and_stays_monotonic():
    segments = [seg(0.0, 2.0, " first "), seg(2.0, 3.0, "[silence]"), seg(2.5, 40.0, "last")]
    out = finalize_chunk_segments(segments, offset=60.0, chunk_end=90.0, previous_end=60.5)
    assert [s.text for s in out] == ["first", "last"]
    assert out[0].start == 60.5  # not before the previous chunk's last segment
    assert out[-1].end == 90.0  # not past the chunk's audio
    for a, b in pairwise(out):
        assert a.end <= b.start
    for s in out:
        assert s.start <= s.end
        assert all(s.start <= w.start <= w.end <= s.end for w in s.words)


def test_join_text():
    assert join_text([seg(0, 1, "Hello."), seg(1, 2, " World. ")]) == "Hello. World."
