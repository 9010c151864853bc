"""Decoding is bounded whatever the file says: the duration cap counts decoded samples (never
a header), memory follows decoded progress (never a claimed length), a span decodes only
the span, and files of a kind no route can use are refused by content."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from eval.speech import encode
from serve_app.audio.decode import decode_audio, probe_audio
from serve_app.config import AudioInputConfig
from serve_app.errors import InvalidAudioError, UnsupportedAudioFormatError
from tests.unit.audio import bombs

SR = 16000
MB = 1 << 20


def numpy_peak(call: Callable[[], Any]) -> tuple[Any, float]:
    """``call()``'s result (or the exception it raised) and the peak of the memory allocated
    meanwhile as seen by tracemalloc (numpy reports its arrays), in MiB."""
    tracemalloc.start()
    try:
        try:
            result: Any = call()
        except Exception as exc:  # returned, so that the peak is reported either way
            result = exc
        return result, tracemalloc.get_traced_memory()[1] / MB
    finally:
        tracemalloc.stop()


@pytest.fixture(scope="module")
def silent_mkv() -> bytes:
    return bombs.opus_silence_mkv(20 * 60)  # 20 min in about 300 KB, no duration in the header


def test_hours_in_a_container_without_duration_stop_at_the_cap(silent_mkv):
    assert probe_audio(silent_mkv).duration is None
    error, peak = numpy_peak(lambda: decode_audio(silent_mkv, max_duration_s=60))
    assert isinstance(error, InvalidAudioError), error
    assert "60 s" in error.message and "max_audio_duration_s" in error.message
    # One minute is 3.7 MiB of float32; the 20 min behind it are never held.
    assert peak < 16, peak


def test_a_header_that_understates_the_length_is_not_believed():
    lying = bombs.flac_silence(10 * 60, claimed_samples=8000)  # says 1 s, holds 10 min
    assert probe_audio(lying).duration == pytest.approx(1.0)
    with pytest.raises(InvalidAudioError, match="max_audio_duration_s"):
        decode_audio(lying, max_duration_s=60)
    assert decode_audio(lying).shape[0] == 10 * 60 * SR


def test_memory_follows_decoded_progress_not_the_whole_file_doubling(silent_mkv):
    audio, peak = numpy_peak(lambda: decode_audio(silent_mkv))
    held = audio.nbytes / MB  # 73 MiB
    assert audio.shape[0] == pytest.approx(20 * 60 * SR, abs=SR // 10)
    # Growing one buffer by doubling (and copying) peaked near 2.7x the result.
    assert peak < 1.3 * held + 8, (peak, held)


def test_the_cap_is_exact_for_audio_just_under_it():
    audio = decode_audio(encode(np.zeros(59 * SR, np.float32), "ogg"), max_duration_s=60)
    assert audio.shape[0] == pytest.approx(59 * SR, abs=SR // 10)


def test_a_span_decodes_only_the_span():
    rate = 8000
    quiet = np.zeros(20 * 60 * rate, np.float32)
    t = np.arange(rate // 2) / rate
    marker = 600 * rate  # half a second of tone at 10:00
    quiet[marker : marker + rate // 2] = 0.5 * np.sin(2 * np.pi * 440 * t)
    data = bombs.flac(quiet, rate)
    started = time.perf_counter()
    span, peak = numpy_peak(lambda: decode_audio(data, start_s=599.5, end_s=601.0))
    spent = time.perf_counter() - started
    assert span.shape[0] == pytest.approx(1.5 * SR, abs=SR // 50)
    loud = np.flatnonzero(np.abs(span) > 0.1) / SR
    assert loud.min() == pytest.approx(0.5, abs=0.03) and loud.max() == pytest.approx(1.0, abs=0.03)
    whole = time.perf_counter()
    decode_audio(data)
    assert spent < (time.perf_counter() - whole) / 4, spent
    assert peak < 8, peak


@pytest.mark.parametrize("fmt", ["mp3", "ogg", "m4a", "wav"])
def test_spans_in_every_format_start_where_asked(fmt):
    audio = np.zeros(40 * SR, np.float32)
    t = np.arange(SR // 4) / SR
    audio[30 * SR : 30 * SR + SR // 4] = 0.5 * np.sin(2 * np.pi * 440 * t)
    span = decode_audio(encode(audio, fmt), start_s=29.0, end_s=31.0)
    assert span.shape[0] == pytest.approx(2 * SR, abs=SR // 20)
    loud = np.flatnonzero(np.abs(span) > 0.1) / SR
    assert loud.min() == pytest.approx(1.0, abs=0.06), fmt


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (bombs.wav(channels=64), "64 channels.*audio_input.max_channels"),
        (bombs.wav(rate=1, frames=3600, bits=8), "1 Hz.*audio_input.min_sample_rate"),
        (bombs.wav(rate=384000, frames=384000), "384000 Hz.*audio_input.max_sample_rate"),
        (bombs.video_without_audio(), "no audio stream"),
        (b"", "empty"),
    ],
    ids=["64 channels", "1 Hz", "384 kHz", "video without audio", "zero bytes"],
)
def test_unusable_kinds_are_refused_by_probe_and_decode(data, message):
    with pytest.raises(InvalidAudioError, match=message) as probed:
        probe_audio(data)
    assert probed.value.status_code == 400
    with pytest.raises(InvalidAudioError, match=message):
        decode_audio(data)


def test_channel_and_rate_bounds_come_from_the_config():
    limits = AudioInputConfig(max_channels=64, max_sample_rate=384000)
    assert probe_audio(bombs.wav(channels=64), limits).channels == 64
    assert probe_audio(bombs.wav(rate=384000, frames=38400), limits).sample_rate == 384000


def test_containers_off_the_allow_list_get_415():
    data = bombs.nut()
    with pytest.raises(UnsupportedAudioFormatError, match="nut") as refused:
        probe_audio(data)
    assert refused.value.status_code == 415
    with pytest.raises(UnsupportedAudioFormatError):
        decode_audio(data)
    assert probe_audio(data, AudioInputConfig(formats=["nut"])).codec == "pcm_s16le"


def test_a_lying_wav_length_decodes_what_is_there():
    lying = bombs.wav(frames=SR, claimed_bytes=0x7FFFFF00)  # says 18 hours, holds 1 s
    assert decode_audio(lying, max_duration_s=60).shape[0] == SR
