import os
import time

import numpy as np
import pytest

from eval.speech import encode
from serve_app.audio.decode import decode_audio, probe_audio
from serve_app.audio.store import AudioStore
from tests.unit.audio.test_decode import tone


@pytest.fixture
def store(tmp_path):
    return AudioStore(tmp_path / "audio", ttl_s=60)


def test_wav_is_kept_as_flac_and_decodes_the_same(store):
    wav = encode(tone(3.0), "wav")
    store.save("abc123", wav, probe_audio(wav))
    kept = store.load("abc123")
    assert kept is not None and len(kept) < len(wav)
    assert probe_audio(kept).codec == "flac"
    np.testing.assert_allclose(decode_audio(kept), decode_audio(wav), atol=1e-3)


def test_compressed_uploads_are_kept_byte_for_byte(store):
    mp3 = encode(tone(1.0), "mp3")
    store.save("def456", mp3, probe_audio(mp3))
    assert store.load("def456") == mp3


def test_expired_audio_is_gone(store):
    mp3 = encode(tone(1.0), "mp3")
    path = store.save("0a0b", mp3, probe_audio(mp3))
    old = time.time() - 120
    os.utime(path, (old, old))
    assert store.load("0a0b") is None
    assert store.sweep() == 1 and not path.exists()


def test_unknown_and_unsafe_ids(store):
    assert store.load("ffff") is None
    with pytest.raises(ValueError):
        store.load("../etc/passwd")
