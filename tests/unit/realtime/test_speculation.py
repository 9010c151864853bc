"""Speculative finals on real recorded prompts (Debian asterisk-core-sounds-en) through the
real silero segmenter: a pass starts once a pause has lasted ``speculative_final_ms``, it
is the final when the utterance ends at that pause, and a pause that speech resumes after
(shorter than ``silence_duration_ms``) leaves no stale pass behind. The ASR here is a
recorder (a fake: what is under test is which audio gets decoded when)."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np

from eval.real_data import asterisk_prompts, read_wav
from serve_app.realtime.protocol import VadSettings
from serve_app.realtime.segmenter import SAMPLE_RATE, Utterance, UtteranceSegmenter
from serve_app.realtime.speculation import SpeculativeFinal

VAD = VadSettings(threshold=0.5, prefix_padding_ms=300, silence_duration_ms=500)


def clips(count: int) -> list[np.ndarray]:
    return [read_wav(wav) for wav, _ in asterisk_prompts("en")[1::2][:count]]


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SAMPLE_RATE), np.float32)


async def stream(audio: np.ndarray) -> tuple[list[Utterance], list[Any], list[int]]:
    """Utterances, the pass each one's final got (None: none fitted), lengths decoded."""
    segmenter = UtteranceSegmenter(VAD, max_utterance_s=28)
    early = SpeculativeFinal(200)
    decoded: list[int] = []

    async def fake_asr(piece: np.ndarray) -> int:
        decoded.append(len(piece))
        return len(piece)

    utterances, finals, item = [], [], 0
    for i in range(0, len(audio), 1600):  # 100 ms appends, as clients send them
        for event in segmenter.feed(audio[i : i + 1600]):
            if isinstance(event, Utterance):
                utterances.append(event)
                task = early.take(f"item{item}", event)
                finals.append(await task if task is not None else None)
                item += 1
        early.maybe_start(f"item{item}", segmenter, VAD.prefix_padding_ms, fake_asr)
        await asyncio.sleep(0)
    return utterances, finals, decoded


def test_a_pause_that_ends_the_utterance_was_already_decoded() -> None:
    a, b = clips(2)
    audio = np.concatenate([silence(0.5), a, silence(1.5), b, silence(1.5)])
    utterances, finals, decoded = asyncio.run(stream(audio))
    assert len(utterances) == 2
    for utterance, final in zip(utterances, finals, strict=True):
        assert final is not None, "the final did not come from the speculative pass"
        # it decoded the utterance up to its pause: at most the padding shorter
        missing = utterance.audio.shape[0] - final
        assert 0 <= missing <= VAD.prefix_padding_ms * SAMPLE_RATE // 1000
    # one pass per pause (the prompts' own pauses included), none repeated
    assert len(decoded) == len(set(decoded))


def test_speech_resuming_after_a_short_pause_drops_that_pass() -> None:
    a, b = clips(2)
    # 0.35 s: past the 200 ms that starts a pass, short of the 500 ms that ends a turn
    audio = np.concatenate([silence(0.5), a, silence(0.35), b, silence(1.5)])
    utterances, finals, decoded = asyncio.run(stream(audio))
    assert len(utterances) == 1
    (utterance,), (final,) = utterances, finals
    # passes of the pauses inside (the prompts' own and the short one) were dropped: the
    # final is the pass at the real end, over both prompts
    assert len(decoded) >= 2 and all(d < final for d in decoded[:-1])
    assert any(abs(d - len(a)) < 0.6 * SAMPLE_RATE for d in decoded[:-1])  # the short pause
    assert final == decoded[-1] and final > len(a) + len(b)
    assert utterance.audio.shape[0] - final <= VAD.prefix_padding_ms * SAMPLE_RATE // 1000
