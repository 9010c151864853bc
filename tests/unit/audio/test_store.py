"""AudioStore on a local directory and on a real S3-compatible server (moto, loopback):
every case runs on both."""

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import s3fs

from eval.speech import encode
from serve_app.audio.decode import decode_audio, probe_audio
from serve_app.audio.store import AudioStore
from tests.unit.audio.test_decode import tone
from tests.waiting import wait_until


@dataclass
class Backend:
    url: str
    storage_options: dict[str, Any] | None

    def store(self, ttl_s: float = 60) -> AudioStore:
        return AudioStore(self.url, ttl_s, self.storage_options)

    def names(self) -> list[str]:
        """What is stored, seen from outside the store (no shared cache)."""
        if self.storage_options is None:
            return sorted(os.listdir(self.url)) if os.path.isdir(self.url) else []
        fs = s3fs.S3FileSystem(
            **self.storage_options, skip_instance_cache=True, use_listings_cache=False
        )
        prefix = self.url.removeprefix("s3://")
        return sorted(p.rsplit("/", 1)[-1] for p in fs.find(prefix))


@pytest.fixture(params=["local", "s3"])
def backend(request, tmp_path) -> Backend:
    if request.param == "local":
        return Backend(str(tmp_path / "audio"), None)
    s3 = request.getfixturevalue("s3_audio")
    return Backend(s3.url, s3.storage_options)


def test_compressed_uploads_are_kept_byte_for_byte(backend):
    store = backend.store()
    mp3, wav = encode(tone(1.0), "mp3"), encode(tone(1.0), "wav")
    store.save("def456", mp3)
    store.save("abc123", wav)  # no conversion on save: that is save_flac's, by the caller
    assert store.load("def456") == mp3
    assert store.load("abc123") == wav
    assert backend.names() == ["abc123.audio", "def456.audio"]


def test_writer_shows_the_object_only_when_the_block_ends(backend):
    store = backend.store()
    with store.open_writer("0a0b") as file:
        file.write(b"first half ")
        assert store.open("0a0b") is None
        file.write(b"second half")
    assert store.load("0a0b") == b"first half second half"

    with store.open_writer("0a0b") as file:
        file.write(b"replacement")
        assert store.load("0a0b") == b"first half second half"  # the old one until the end
    assert store.load("0a0b") == b"replacement"
    assert backend.names() == ["0a0b.audio"]


def test_a_writer_that_raises_leaves_nothing(backend):
    store = backend.store()
    store.save("0a0b", b"kept")
    for job_id in ("0a0b", "0c0d"):
        with pytest.raises(RuntimeError), store.open_writer(job_id) as file:
            file.write(b"partial")
            raise RuntimeError("upload broke off")
    assert store.load("0a0b") == b"kept"
    assert store.open("0c0d") is None
    assert backend.names() == ["0a0b.audio"]  # no temporary file either


def test_flac_round_trip_replaces_the_upload(backend):
    store = backend.store()
    audio = tone(3.0)
    wav = encode(audio, "wav")
    store.save("abc123", wav)
    store.save_flac("abc123", decode_audio(wav))
    kept = store.load("abc123")
    assert kept is not None and len(kept) < len(wav) / 2
    assert probe_audio(kept).codec == "flac"
    decoded = decode_audio(kept)
    assert decoded.shape == audio.shape
    np.testing.assert_allclose(decoded, audio, atol=1e-3)


def test_save_flac_wants_mono(backend):
    with pytest.raises(ValueError, match="mono"):
        backend.store().save_flac("abc", np.zeros((2, 100), np.float32))
    assert backend.names() == []


def test_open_gives_a_seekable_file_that_decodes(backend):
    store = backend.store()
    mp3 = encode(tone(2.0), "mp3")
    store.save("beef", mp3)
    with store.open("beef") as file:
        assert file.seekable()
        assert probe_audio(file).codec.startswith("mp3")
        # the same file object again: decoding starts from the beginning
        np.testing.assert_array_equal(decode_audio(file), decode_audio(mp3))


def test_expired_audio_is_gone_and_swept(backend):
    store = backend.store(ttl_s=60)
    store.save("0a0b", b"audio")
    assert store.sweep() == 0
    # S3 keeps LastModified to the second: wait past a 1 s TTL rather than fake a clock.
    short = backend.store(ttl_s=1.0)
    wait_until(lambda: short.load("0a0b") is None, timeout=10, what="the audio to pass 1 s")
    assert short.open("0a0b") is None
    assert store.load("0a0b") == b"audio"  # still fresh for a 60 s TTL
    assert store.sweep(now=time.time() + 120) == 1
    assert store.load("0a0b") is None and backend.names() == []
    assert store.sweep(now=time.time() + 120) == 0


def test_delete(backend):
    store = backend.store()
    store.save("feed", b"audio")
    store.delete("feed")
    store.delete("feed")  # twice: nothing to delete is fine
    assert store.load("feed") is None and backend.names() == []


@pytest.mark.parametrize("job_id", ["../etc/passwd", "", "a/b", "x.audio", "ab cd"])
def test_unsafe_ids_are_refused(backend, job_id):
    store = backend.store()
    for call in (store.open, store.load, store.delete):
        with pytest.raises(ValueError):
            call(job_id)
    with pytest.raises(ValueError):
        store.save(job_id, b"x")
    with pytest.raises(ValueError), store.open_writer(job_id):
        pass
    assert backend.names() == []


def test_unknown_ids(backend):
    store = backend.store()
    assert store.open("ffff") is None and store.load("ffff") is None
    store.delete("ffff")


def test_local_paths_and_file_urls_are_the_same_store(tmp_path):
    directory = tmp_path / "kept"
    AudioStore(directory, 60).save("abc", b"one")
    assert AudioStore(f"file://{directory}", 60).load("abc") == b"one"
    assert AudioStore(str(directory), 60).load("abc") == b"one"


def test_sweep_removes_temporary_files_a_crashed_writer_left(tmp_path):
    store = AudioStore(tmp_path, 60)
    stale = Path(tmp_path / ".abc.1234.tmp")
    stale.write_bytes(b"half")
    old = time.time() - 120
    os.utime(stale, (old, old))
    store.save("abc", b"audio")
    assert store.sweep() == 1 and not stale.exists()
    assert store.load("abc") == b"audio"
