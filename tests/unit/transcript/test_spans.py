import math

from serve_app.transcript.segments import Segment
from serve_app.transcript.spans import SpanTranscript, confidence, replace_span, speaker_for_span


def seg(start, end, text="x", speaker=None, logprob=None, tokens=0):
    return Segment(
        start=start,
        end=end,
        text=text,
        speaker=speaker,
        avg_logprob=logprob,
        tokens=list(range(tokens)),
    )


def test_confidence_is_token_weighted_geometric_mean():
    segments = [seg(0, 1, logprob=-0.1, tokens=10), seg(1, 2, logprob=-1.0, tokens=30)]
    expected = math.exp((-0.1 * 10 + -1.0 * 30) / 40)
    assert abs(confidence(segments) - expected) < 1e-4
    assert confidence([]) == 0.0
    assert confidence([seg(0, 1, logprob=0.0, tokens=3)]) == 1.0


def test_speaker_for_span_is_the_one_talking_most():
    segments = [seg(0, 4, speaker="SPEAKER_1"), seg(4, 10, speaker="SPEAKER_2")]
    assert speaker_for_span(segments, 3, 6) == "SPEAKER_2"
    assert speaker_for_span(segments, 0, 3) == "SPEAKER_1"
    assert speaker_for_span(segments, 20, 30) is None


def test_replace_span_swaps_the_segments_inside_and_keeps_order():
    segments = [seg(0, 2, "a"), seg(2, 4, "b"), seg(4, 6, "c"), seg(6, 8, "d")]
    new = SpanTranscript(text="B and C", confidence=0.9, speaker="SPEAKER_1", model_used="base")
    out = replace_span(segments, 2.0, 6.0, new)
    assert [s.text for s in out] == ["a", "B and C", "d"]
    assert out[1].start == 2.0 and out[1].end == 6.0 and out[1].speaker == "SPEAKER_1"
