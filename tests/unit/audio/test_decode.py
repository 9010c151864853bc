import numpy as np
import pytest

from eval.speech import encode
from serve_app.audio.decode import decode_audio, probe_audio
from serve_app.errors import InvalidAudioError

SR = 16000


def tone(seconds=2.0, freq=440.0):
    t = np.arange(int(seconds * SR)) / SR
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.mark.parametrize("fmt", ["wav", "mp3", "m4a", "ogg", "flac", "webm"])
def test_every_format_decodes_to_16k_mono(fmt):
    audio = decode_audio(encode(tone(2.0), fmt))
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(audio.shape[0] / SR - 2.0) < 0.1
    assert 0.15 < np.abs(audio).max() < 0.5


def test_stereo_and_other_rates_are_downmixed_and_resampled():
    data = encode(tone(1.5), "flac", channels=2)
    info = probe_audio(data)
    assert info.channels == 2
    assert abs(decode_audio(data).shape[0] / SR - 1.5) < 0.05
    mp3 = probe_audio(encode(tone(1.0), "mp3"))
    assert mp3.sample_rate == 22050 and mp3.duration and abs(mp3.duration - 1.0) < 0.1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"hello, this is plainly a text file\n" * 20, "not a recognised audio format|no audio"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 200, "not a recognised audio format|does not open"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\xff" * 40, "audio"),
    ],
)
def test_non_audio_is_rejected_with_a_reason(data, message):
    with pytest.raises(InvalidAudioError, match=message):
        probe_audio(data)
    with pytest.raises(InvalidAudioError):
        decode_audio(data)


def test_truncated_file_keeps_what_decoded():
    data = encode(tone(3.0), "mp3")
    audio = decode_audio(data[: len(data) // 2])
    assert 0.5 < audio.shape[0] / SR < 2.5
