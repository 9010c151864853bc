"""The vLLM backend's long-form loop: one window's sampled ids become segments at Whisper's
timestamp tokens, and the window says where the next starts (openai-whisper's and
faster-whisper's rule); and Whisper's timestamp rules, which the backend's logits processor
applies at each step. vLLM returns ids, no segments; the engine itself runs in
tests/serve/test_vllm_backend.py and bench/asr_backends.py."""

from __future__ import annotations

import torch

from serve_app.asr.backends.long_form import (
    SAMPLES_PER_TIMESTAMP,
    TIME_PRECISION,
    WindowSegment,
    split_window,
)
from serve_app.asr.backends.timestamp_rules import TimestampRules

TS = 50363  # tiny.en's <|0.00|>
EOT = 50256
NO_TIMESTAMPS = 50362
VOCAB = 51864
SR = 16_000
WINDOW = 30 * SR


def ts(seconds: float) -> int:
    return TS + round(seconds / TIME_PRECISION)


def test_a_window_that_stops_early_resumes_at_its_last_complete_segment():
    # Two complete segments, then end-of-text at 22.64 s of a 30 s window: the rest of the
    # window (speech the decoder skipped) is decoded again from 22.64 s, not dropped.
    ids = [ts(0.0), 10, 11, ts(7.36), ts(8.4), 12, ts(22.64), ts(22.64)]
    split = split_window(ids, TS, WINDOW)
    assert split.segments == [
        WindowSegment(0.0, 7.36, [10, 11]),
        WindowSegment(8.4, 22.64, [12]),
    ]
    assert split.advance == round(22.64 / TIME_PRECISION) * SAMPLES_PER_TIMESTAMP


def test_an_unfinished_last_segment_is_left_for_the_next_window():
    ids = [ts(0.0), 10, ts(3.0), ts(3.0), 11, 12]  # max_tokens reached mid-segment
    split = split_window(ids, TS, WINDOW)
    assert split.segments == [WindowSegment(0.0, 3.0, [10])]
    assert split.advance == 3 * SR


def test_a_single_timestamp_ending_means_no_speech_after_it():
    ids = [ts(0.0), 10, ts(2.0), ts(2.5), 11, ts(9.0)]
    split = split_window(ids, TS, 12 * SR)
    assert split.segments == [WindowSegment(0.0, 2.0, [10]), WindowSegment(2.5, 9.0, [11])]
    assert split.advance == 12 * SR


def test_text_without_a_timestamp_pair_spans_to_its_last_timestamp_or_the_window():
    assert split_window([ts(0.0), 10, 11], TS, 12 * SR).segments == [
        WindowSegment(0.0, 12.0, [10, 11])
    ]
    split = split_window([ts(0.0), 10, 11, ts(4.0)], TS, 12 * SR)
    assert split.segments == [WindowSegment(0.0, 4.0, [10, 11])] and split.advance == 12 * SR


def test_times_never_pass_the_window_and_the_loop_always_moves_on():
    split = split_window([ts(0.0), ts(1.0), ts(1.0), 10, ts(29.0)], TS, 4 * SR)
    assert split.segments == [WindowSegment(1.0, 4.0, [10])]
    # Only an empty pair at 0.00: advancing to 0 would decode the same window forever.
    stuck = split_window([ts(0.0), ts(0.0), 10], TS, WINDOW)
    assert stuck.segments == [] and stuck.advance == WINDOW


def _rules() -> TimestampRules:
    return TimestampRules(
        {
            "timestamp_begin": TS,
            "eot": EOT,
            "suppress": [7, *range(EOT + 1, TS)],
            "begin_suppress": [220],
        }
    )


def _allowed(output_ids: list[int], favour: int) -> set[int]:
    logits = torch.zeros(VOCAB)
    logits[favour] = 20.0  # likelier than all ~1,500 timestamps together
    out = _rules()(output_ids, logits)
    return set(torch.nonzero(out > -torch.inf).flatten().tolist())


def test_the_rules_keep_timestamps_in_pairs_and_in_order():
    first = _allowed([], favour=10)  # after the prompt's <|0.00|>: text, never blank/suppressed
    assert 10 in first and 220 not in first and 7 not in first and NO_TIMESTAMPS not in first
    assert not any(t >= TS for t in first)
    # In text after <|0.00|>: a timestamp must come after the start.
    in_text = _allowed([10], favour=10)
    assert ts(0.0) not in in_text and ts(0.02) in in_text and EOT in in_text
    # A segment just ended at 2.00: only a timestamp >= 2.00 or the end, no text.
    ended = _allowed([10, ts(2.0)], favour=EOT)
    assert ended == {EOT, *range(ts(2.0), VOCAB)}
    # A pair just closed: text next.
    assert not any(t >= TS for t in _allowed([10, ts(2.0), ts(2.5)], favour=ts(3.0)))


def test_timestamps_win_when_likelier_together_than_any_text_token():
    logits = torch.zeros(VOCAB)  # ~1,500 timestamps at even odds outweigh any one text token
    out = _rules()([10, 11], logits)
    assert torch.all(out[:TS] == -torch.inf) and torch.all(out[ts(0.02) :] > -torch.inf)
