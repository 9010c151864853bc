"""Decoding uploads with PyAV (FFmpeg's libraries inside the wheel; no system ffmpeg).

Every decoder error becomes :class:`InvalidAudioError` with a message saying what was wrong,
so the API can answer 400 instead of 500.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np

from serve_app.errors import InvalidAudioError

SAMPLE_RATE = 16000


@dataclass(frozen=True)
class AudioInfo:
    """What probing an upload found."""

    container: str
    codec: str
    sample_rate: int
    channels: int
    duration: float | None
    """Seconds, from the container header when it has one."""


def _open(data: bytes | BinaryIO):  # type: ignore[no-untyped-def]
    import av

    if isinstance(data, bytes | bytearray | memoryview):
        if not data:
            raise InvalidAudioError("The uploaded file is empty")
        source: BinaryIO = io.BytesIO(data)
    else:
        # A file (the audio store's, possibly remote), read from its start so that probing
        # and then decoding one file object both see the whole file.
        data.seek(0)
        if not data.read(1):
            raise InvalidAudioError("The uploaded file is empty")
        data.seek(0)
        source = data
    try:
        container = av.open(source, mode="r", metadata_errors="ignore")
    except av.FFmpegError as exc:
        raise InvalidAudioError(
            f"The uploaded file is not a recognised audio format ({exc.strerror or exc})"
        ) from exc
    if not container.streams.audio:
        container.close()
        raise InvalidAudioError(
            f"The uploaded file has no audio stream (detected format: {container.format.name})"
        )
    return container


def probe_audio(data: bytes | BinaryIO, decode_s: float = 1.0) -> AudioInfo:
    """Check by content that ``data`` is decodable audio: open it and decode its first frames.

    ``data`` is the file's bytes or a seekable binary file (read from its start, left open).

    Raises :class:`InvalidAudioError` when it is not.
    """
    import av

    container = _open(data)
    try:
        stream = container.streams.audio[0]
        decoded = 0.0
        try:
            for frame in container.decode(stream):
                decoded += frame.samples / max(frame.sample_rate, 1)
                if decoded >= decode_s:
                    break
        except av.FFmpegError as exc:
            if decoded == 0:
                raise InvalidAudioError(f"The audio stream cannot be decoded ({exc})") from exc
        if decoded == 0:
            raise InvalidAudioError("The uploaded file contains no audio samples")
        duration = None
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / av.time_base
        return AudioInfo(
            container=container.format.name,
            codec=stream.codec_context.name,
            sample_rate=stream.codec_context.sample_rate,
            channels=stream.codec_context.channels,
            duration=duration,
        )
    finally:
        container.close()


def decode_audio(data: bytes | BinaryIO, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Decode to mono float32 at ``sample_rate``, from bytes or a seekable binary file.

    The result is written into one preallocated array sized from the header's duration
    (grown if the header lied), so a long file is held once, not once per frame plus once
    concatenated. A file that breaks off mid-way keeps what decoded before the break.
    """
    import av

    container = _open(data)
    try:
        stream = container.streams.audio[0]
        stream.thread_type = "AUTO"
        estimate = 0.0
        if stream.duration is not None and stream.time_base is not None:
            estimate = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            estimate = container.duration / av.time_base
        buffer = np.empty(int(estimate * sample_rate) + sample_rate, dtype=np.float32)
        filled = 0
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)

        def append(frames: list[Any]) -> None:
            nonlocal buffer, filled
            for out in frames:
                samples = out.to_ndarray().reshape(-1)
                if filled + samples.size > buffer.size:
                    grown = np.empty(max(buffer.size * 2, filled + samples.size), np.float32)
                    grown[:filled] = buffer[:filled]
                    buffer = grown
                buffer[filled : filled + samples.size] = samples
                filled += samples.size

        try:
            for frame in container.decode(stream):
                frame.pts = None  # the resampler re-times; avoids errors on odd timestamps
                append(resampler.resample(frame))
        except av.FFmpegError as exc:
            if filled == 0:
                raise InvalidAudioError(f"The audio stream cannot be decoded ({exc})") from exc
        append(resampler.resample(None))
        if filled == 0:
            raise InvalidAudioError("The uploaded file contains no audio samples")
        # A header that overstated the length by a lot: copy rather than pin the spare memory.
        if buffer.size - filled > sample_rate * 60:
            return buffer[:filled].copy()
        return buffer[:filled]
    finally:
        container.close()
