"""Keeps each job's original audio on disk (compressed) so spans can be re-transcribed.

PCM WAV uploads are stored as FLAC of the 16 kHz mono 16-bit audio every later step
decodes to: not the original (a 44.1 kHz stereo WAV loses its rate, its channels and any
precision past 16 bits), but all that re-transcription reads, in a fraction of the size.
Everything else is already compressed and kept byte for byte. Files expire after ``ttl_s``.
"""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

from serve_app.audio.decode import AudioInfo, decode_audio

_SAFE_ID = frozenset("0123456789abcdefABCDEF-_")


class AudioStore:
    def __init__(self, directory: str | Path, ttl_s: float) -> None:
        self.directory = Path(directory)
        self.ttl_s = ttl_s
        self.directory.mkdir(parents=True, exist_ok=True)

    def _path(self, job_id: str) -> Path:
        if not job_id or not set(job_id) <= _SAFE_ID:
            raise ValueError(f"invalid job id {job_id!r}")
        return self.directory / f"{job_id}.audio"

    def save(self, job_id: str, data: bytes, info: AudioInfo) -> Path:
        """Store the upload; written to a temporary name first so readers never see half."""
        if info.codec.startswith("pcm_"):
            data = _to_flac(data)
        path = self._path(job_id)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        return path

    def load(self, job_id: str) -> bytes | None:
        """The stored audio, or ``None`` if it was never kept or has expired."""
        path = self._path(job_id)
        if not path.is_file() or time.time() - path.stat().st_mtime > self.ttl_s:
            return None
        return path.read_bytes()

    def sweep(self, now: float | None = None) -> int:
        """Delete expired files; returns how many."""
        now = now or time.time()
        removed = 0
        for path in self.directory.glob("*.audio"):
            if now - path.stat().st_mtime > self.ttl_s:
                path.unlink(missing_ok=True)
                removed += 1
        return removed


def _to_flac(data: bytes) -> bytes:
    import av
    import numpy as np

    audio = decode_audio(data)  # 16 kHz mono: what every later step uses anyway
    pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16)
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="flac") as out:
        stream = out.add_stream("flac", rate=16000, layout="mono")
        for start in range(0, pcm.size, 16000):
            frame = av.AudioFrame.from_ndarray(
                pcm[start : start + 16000].reshape(1, -1), format="s16", layout="mono"
            )
            frame.sample_rate = 16000
            frame.pts = start
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()
