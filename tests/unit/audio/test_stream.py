"""Decoding as a stream: the blocks are exactly ``decode_audio``'s samples, the duration cap
is counted from them (never a header), and memory stays at a block however long the file
is, where a whole-file decode holds all of it."""

from __future__ import annotations

import numpy as np
import pytest

from eval.speech import encode
from serve_app.audio.decode import decode_audio, probe_audio
from serve_app.audio.store import AudioStore
from serve_app.audio.stream import count_samples, decoded_blocks
from serve_app.audio.window import SampleWindow
from serve_app.errors import InvalidAudioError
from tests.unit.audio import bombs
from tests.unit.audio.test_bounds import MB, SR, numpy_peak


def _tone_and_silence(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    audio = (0.3 * np.sin(2 * np.pi * 330 * t)).astype(np.float32)
    audio[(t % 7) > 4] = 0.0  # 4 s of tone, 3 s of silence
    return audio


@pytest.mark.parametrize("fmt", ["wav", "flac", "ogg", "mp3", "m4a"])
def test_blocks_are_the_whole_file_decode_exactly(fmt):
    data = encode(_tone_and_silence(23.3), fmt)
    whole = decode_audio(data)
    blocks = list(decoded_blocks(data, 5 * SR))
    assert [b.size for b in blocks[:-1]] == [5 * SR] * (len(blocks) - 1)
    assert 0 < blocks[-1].size <= 5 * SR
    assert np.array_equal(np.concatenate(blocks), whole)
    assert count_samples(data) == whole.shape[0]


def test_stereo_at_another_rate_streams_like_it_decodes():
    data = encode(_tone_and_silence(9.0), "wav", sample_rate=44100, channels=2)
    assert np.array_equal(np.concatenate(list(decoded_blocks(data, SR))), decode_audio(data))


def test_the_cap_is_counted_from_decoded_samples_not_the_header():
    lying = bombs.flac_silence(5 * 60, claimed_samples=8000)  # says 1 s, holds 5 min
    assert probe_audio(lying).duration == pytest.approx(1.0)
    with pytest.raises(InvalidAudioError, match="max_audio_duration_s"):
        count_samples(lying, max_duration_s=60)
    with pytest.raises(InvalidAudioError, match="max_audio_duration_s"):
        list(decoded_blocks(lying, 10 * SR, max_duration_s=60))
    assert count_samples(lying, max_duration_s=301) == 5 * 60 * SR


def test_undecodable_and_empty_inputs_are_400s():
    with pytest.raises(InvalidAudioError):
        count_samples(b"not audio at all" * 100)
    with pytest.raises(InvalidAudioError, match="no audio samples"):
        count_samples(bombs.wav(frames=0))


def test_an_hour_without_a_header_duration_streams_in_a_block_of_memory():
    """An hour of Opus in Matroska with no duration (0.9 MB): a whole-file decode holds
    220 MiB of float32; the stream holds a minute block, whatever the length."""
    data = bombs.opus_silence_mkv(3600)
    assert probe_audio(data).duration is None
    samples, peak = numpy_peak(lambda: count_samples(data, block_samples=60 * SR))
    assert samples == pytest.approx(3600 * SR, abs=SR // 10)
    whole_mb = samples * 4 / MB  # what decode_audio returns for this file
    assert whole_mb > 200 and peak < 16, (peak, whole_mb)


def test_the_window_keeps_what_is_asked_and_copies_slices():
    window = SampleWindow()
    audio = np.arange(100, dtype=np.float32)
    for start in range(0, 100, 30):
        window.append(audio[start : start + 30].copy())
    assert (window.start, window.end) == (0, 100)
    assert np.array_equal(window.slice(25, 65), audio[25:65])
    window.drop_before(61)  # whole blocks only: the one holding sample 61 stays
    assert window.start == 60 and window.nbytes == 40 * 4
    assert np.array_equal(window.slice(60, 200), audio[60:])  # clipped to the end
    with pytest.raises(ValueError, match="dropped"):
        window.slice(59, 70)


def test_flac_written_block_by_block_is_the_flac_written_whole(tmp_path):
    store = AudioStore(tmp_path, ttl_s=60)
    audio = _tone_and_silence(12.0)
    store.save_flac("a", audio)
    with store.flac_writer("b") as write:
        for start in range(0, audio.size, 7 * SR + 123):
            write(audio[start : start + 7 * SR + 123])
    assert np.array_equal(decode_audio(store.load("a")), decode_audio(store.load("b")))
    assert np.abs(decode_audio(store.load("b")) - audio).max() < 1e-4


def test_a_flac_writer_that_fails_keeps_what_was_stored(tmp_path):
    store = AudioStore(tmp_path, ttl_s=60)
    store.save("a", b"original upload")
    with pytest.raises(RuntimeError), store.flac_writer("a") as write:
        write(_tone_and_silence(1.0))
        raise RuntimeError("decoding stopped")
    assert store.load("a") == b"original upload"
