"""The prefill/decode split of a summary's LLM time (calls overlap: wall time, once)."""

from __future__ import annotations

from serve_app.llm.timing import CallTimes, union_length


def test_overlapping_intervals_count_once():
    assert union_length([]) == 0
    assert union_length([(0, 2), (1, 3), (5, 6)]) == 4
    assert union_length([(0, 10), (2, 3)]) == 10


def test_parallel_calls_split_into_prefill_and_decode():
    times = CallTimes()
    times.add(0.0, 2.0, 5.0)  # prefill 0-2, decode 2-5
    times.add(1.0, 3.0, 4.0)  # its prefill overlaps: 0-3 in all
    times.add(6.0, None, 7.0)  # no token: all prefill
    out = times.as_dict({"prompt_tokens": 900, "completion_tokens": 40})
    assert out == {
        "calls": 3,
        "llm_s": 6.0,
        "prefill_s": 4.0,
        "decode_s": 2.0,
        "prompt_tokens": 900,
        "completion_tokens": 40,
    }
