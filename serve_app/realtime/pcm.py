"""PCM input of a realtime session: base64 ``append`` payloads to 16 kHz mono float32.

OpenAI's ``audio/pcm`` is 16-bit little-endian mono at 24 kHz; 16 kHz is accepted too (no
resampling). 24 kHz is resampled with PyAV's (libswresample) streaming resampler, which
keeps its filter state between appends, so the cut between two appends leaves no seam.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import numpy as np

from serve_app.realtime.protocol import ProtocolError

TARGET_RATE = 16000


def decode_base64_pcm(payload: str, event_id: str | None) -> np.ndarray:
    """The int16 samples of one ``input_audio_buffer.append``."""
    try:
        raw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ProtocolError(
            f"input_audio_buffer.append: audio is not valid base64 ({exc})",
            param="audio",
            event_id=event_id,
        ) from exc
    if len(raw) % 2:
        raise ProtocolError(
            "input_audio_buffer.append: audio has an odd number of bytes; expected 16-bit PCM",
            param="audio",
            event_id=event_id,
        )
    return np.frombuffer(raw, dtype="<i2")


class PcmInput:
    """int16 samples at ``rate`` in, 16 kHz float32 out, block by block."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._resampler: Any = None
        if rate != TARGET_RATE:
            import av

            self._resampler = av.AudioResampler(format="flt", layout="mono", rate=TARGET_RATE)

    def convert(self, samples: np.ndarray) -> np.ndarray:
        if self._resampler is None:
            return samples.astype(np.float32) / 32768.0
        import av

        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(samples, dtype=np.int16).reshape(1, -1),
            format="s16",
            layout="mono",
        )
        frame.sample_rate = self.rate
        out = [f.to_ndarray().reshape(-1) for f in self._resampler.resample(frame)]
        return np.concatenate(out).astype(np.float32) if out else np.zeros(0, np.float32)

    def flush(self) -> np.ndarray:
        """What the resampler still holds (at the end of the session)."""
        if self._resampler is None:
            return np.zeros(0, np.float32)
        out = [f.to_ndarray().reshape(-1) for f in self._resampler.resample(None)]
        return np.concatenate(out).astype(np.float32) if out else np.zeros(0, np.float32)
