"""Streaming utterance segmentation with silero VAD, on real recorded prompts (Debian's
asterisk-core-sounds-en, eval/real_data.py) separated by known pauses."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from eval.real_data import asterisk_prompts, read_wav
from serve_app.realtime.protocol import VadSettings
from serve_app.realtime.segmenter import SAMPLE_RATE, SpeechStart, Utterance, UtteranceSegmenter

VAD = VadSettings(threshold=0.5, prefix_padding_ms=300, silence_duration_ms=500)
GAP_S = 1.5


@pytest.fixture(scope="module")
def prompts() -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Five short prompts with 1.5 s of silence after each, and where each one lies."""
    pieces, bounds, position = [], [], 0
    gap = np.zeros(int(GAP_S * SAMPLE_RATE), np.float32)
    for wav, _ in asterisk_prompts("en")[1::2][:5]:
        audio = read_wav(wav)
        bounds.append((position / SAMPLE_RATE, (position + len(audio)) / SAMPLE_RATE))
        pieces += [audio, gap]
        position += len(audio) + len(gap)
    return np.concatenate(pieces), bounds


def feed_all(segmenter: UtteranceSegmenter, audio: np.ndarray, block: int = 1234) -> list:
    events = []
    for i in range(0, len(audio), block):  # odd block sizes: windows straddle appends
        events += segmenter.feed(audio[i : i + block])
    return events


def test_each_prompt_is_one_utterance_with_its_padding(prompts):
    audio, bounds = prompts
    segmenter = UtteranceSegmenter(VAD, max_utterance_s=28)
    events = feed_all(segmenter, audio)
    utterances = [e for e in events if isinstance(e, Utterance)]
    starts = [e for e in events if isinstance(e, SpeechStart)]
    assert len(utterances) == len(starts) == len(bounds)
    for utterance, start, (begin, end) in zip(utterances, starts, bounds, strict=True):
        assert start.sample == utterance.start
        assert begin - 0.4 <= utterance.start / SAMPLE_RATE <= begin + 0.3
        assert end - 0.1 <= utterance.end / SAMPLE_RATE <= end + GAP_S - 0.3
        assert utterance.audio.shape[0] == utterance.end - utterance.start
        np.testing.assert_array_equal(utterance.audio, audio[utterance.start : utterance.end])
    # While nobody speaks only the padding is kept: memory does not grow with the session.
    assert segmenter.buffered_samples() < SAMPLE_RATE


def test_long_speech_is_cut_at_max_utterance_and_goes_on(prompts):
    audio, bounds = prompts
    segmenter = UtteranceSegmenter(VAD, max_utterance_s=1.5)
    utterances = [e for e in feed_all(segmenter, audio) if isinstance(e, Utterance)]
    assert len(utterances) > len(bounds)
    assert max(u.duration_s for u in utterances) <= 1.5 + 0.05
    # consecutive pieces of one prompt join without a gap
    joined = [(a, b) for a, b in itertools.pairwise(utterances) if a.end == b.start]
    assert joined


def test_commit_and_clear_with_turn_detection_off(prompts):
    audio, _ = prompts
    segmenter = UtteranceSegmenter(None, max_utterance_s=28)
    assert segmenter.feed(audio[:16000]) == []
    first = segmenter.commit()
    assert (
        first is not None and (first.start, first.end) == (0, 16000) and first.committed_by_client
    )
    segmenter.feed(audio[16000:24000])
    segmenter.clear()
    segmenter.feed(audio[24000:32000])
    second = segmenter.commit()
    assert second is not None and (second.start, second.end) == (24000, 32000)
    np.testing.assert_array_equal(second.audio, audio[24000:32000])
    # Without a commit, the buffer is cut at max_utterance_s rather than growing.
    small = UtteranceSegmenter(None, max_utterance_s=2)
    cut = [e for e in feed_all(small, audio[: 5 * SAMPLE_RATE]) if isinstance(e, Utterance)]
    assert [u.end for u in cut] == [26 * 1234, 52 * 1234]  # the appends that reach 2 s


def test_commit_mid_speech_ends_the_utterance_there(prompts):
    audio, bounds = prompts
    segmenter = UtteranceSegmenter(VAD, max_utterance_s=28)
    middle = int((bounds[0][0] + bounds[0][1]) / 2 * SAMPLE_RATE)
    events = feed_all(segmenter, audio[:middle])
    assert [type(e) for e in events] == [SpeechStart] and segmenter.in_speech
    utterance = segmenter.commit()
    assert utterance is not None and utterance.end == segmenter.position
    assert segmenter.commit() is None  # nothing left to commit
