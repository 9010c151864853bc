"""The vLLM backend's segments come from Whisper's timestamp tokens in the sampled ids (vLLM
returns ids and text, no segments); the engine itself runs in tests/serve/test_vllm_backend.py
and bench/asr_backends.py."""

from __future__ import annotations

from serve_app.asr.backends.vllm import TIME_PRECISION, timed_segments

EOT = 50256  # tiny.en's <|endoftext|>; specials follow it, timestamps start at <|0.00|>
TS = 50363
SPECIAL = EOT + 1  # e.g. <|startoftranscript|>


def ts(seconds: float) -> int:
    return TS + round(seconds / TIME_PRECISION)


def test_timestamp_pairs_become_timed_segments():
    ids = [ts(0.0), 10, 11, ts(2.4), ts(2.4), 12, ts(5.0), EOT]
    assert timed_segments(ids, TS, EOT, 30.0) == [(0.0, 2.4, [10, 11]), (2.4, 5.0, [12])]


def test_text_without_timestamps_spans_the_window():
    assert timed_segments([SPECIAL, 10, 11, EOT], TS, EOT, 12.5) == [(0.0, 12.5, [10, 11])]


def test_a_last_segment_cut_off_ends_with_the_window():
    ids = [ts(0.0), 10, ts(3.0), ts(3.0), 11, 12]  # max_tokens reached mid-segment
    assert timed_segments(ids, TS, EOT, 7.0) == [(0.0, 3.0, [10]), (3.0, 7.0, [11, 12])]


def test_times_never_pass_the_window_and_empty_pairs_give_nothing():
    ids = [ts(0.0), ts(1.0), ts(1.0), 10, ts(29.0)]
    assert timed_segments(ids, TS, EOT, 4.0) == [(1.0, 4.0, [10])]
    assert timed_segments([ts(0.0), ts(0.0), EOT], TS, EOT, 4.0) == []
