"""Decoding uploads with PyAV (FFmpeg's libraries inside the wheel; no system ffmpeg).

Every decoder error becomes :class:`InvalidAudioError` with a message saying what was wrong,
so the API can answer 400 instead of 500. What a file may be is bounded by its content,
never by what its header claims:

- only demuxers on the allow-list (``audio_input.formats``) may open it (else 415), and its
  channel count and sample rate must lie within ``audio_input`` (else 400);
- a duration cap counts decoded samples and stops decoding as soon as they pass it;
- decoded audio is held in one array grown from decoded progress (``ndarray.resize``,
  which reallocates in place), never preallocated from a claimed length, so memory follows
  the audio actually decoded, up to the cap;
- a span (``start_s``/``end_s``) is decoded after a seek, not from the file's start.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np

from serve_app.config import AudioInputConfig
from serve_app.errors import InvalidAudioError, UnsupportedAudioFormatError

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16000
GROWTH_S = 60.0
"""The decoded array grows by at least this much audio at a time (and by a quarter)."""
DURATION_LIMIT = "chunker.max_audio_duration_s"


@dataclass(frozen=True)
class AudioInfo:
    """What probing an upload found."""

    container: str
    codec: str
    sample_rate: int
    channels: int
    duration: float | None
    """Seconds, from the container header when it has one (a claim, not a measurement)."""


def _source(data: bytes | BinaryIO) -> BinaryIO:
    if isinstance(data, bytes | bytearray | memoryview):
        if not data:
            raise InvalidAudioError("The uploaded file is empty")
        return io.BytesIO(data)
    # A file (the audio store's, possibly remote), read from its start so that probing
    # and then decoding one file object both see the whole file.
    data.seek(0)
    if not data.read(1):
        raise InvalidAudioError("The uploaded file is empty")
    data.seek(0)
    return data


def _check_stream(stream: Any, limits: AudioInputConfig) -> None:
    codec = stream.codec_context
    channels, rate = codec.channels, codec.sample_rate
    if channels > limits.max_channels:
        raise InvalidAudioError(
            f"The audio has {channels} channels; this server takes at most "
            f"{limits.max_channels} (audio_input.max_channels)"
        )
    if rate and rate < limits.min_sample_rate:
        raise InvalidAudioError(
            f"The audio's sample rate is {rate} Hz; this server takes at least "
            f"{limits.min_sample_rate} Hz (audio_input.min_sample_rate)"
        )
    if rate > limits.max_sample_rate:
        raise InvalidAudioError(
            f"The audio's sample rate is {rate} Hz; this server takes at most "
            f"{limits.max_sample_rate} Hz (audio_input.max_sample_rate)"
        )


def _open(data: bytes | BinaryIO, limits: AudioInputConfig | None) -> tuple[Any, Any]:
    """The container and its first audio stream, checked against ``limits``."""
    import av

    limits = limits or AudioInputConfig()
    source = _source(data)
    try:
        # No protocol for nested opens: a playlist-like demuxer can open nothing else.
        container = av.open(
            source, mode="r", metadata_errors="ignore", options={"protocol_whitelist": "none"}
        )
    except av.FFmpegError as exc:
        raise InvalidAudioError(
            f"The uploaded file is not a recognised audio format ({exc.strerror or exc})"
        ) from exc
    try:
        names = container.format.name.split(",")
        if not set(names) & set(limits.formats):
            raise UnsupportedAudioFormatError(
                f"The uploaded file is in a container this server does not open "
                f"(detected format: {container.format.name}); send audio or video in a "
                "common format such as WAV, MP3, FLAC, Ogg, MP4/M4A or WebM"
            )
        if not container.streams.audio:
            raise InvalidAudioError(
                f"The uploaded file has no audio stream (detected format: {container.format.name})"
            )
        stream = container.streams.audio[0]
        _check_stream(stream, limits)
    except BaseException:
        container.close()
        raise
    return container, stream


def probe_audio(
    data: bytes | BinaryIO, limits: AudioInputConfig | None = None, decode_s: float = 1.0
) -> AudioInfo:
    """Check by content that ``data`` is decodable audio within ``limits``: open it and
    decode its first frames.

    ``data`` is the file's bytes or a seekable binary file (read from its start, left open).

    Raises :class:`InvalidAudioError` when it is not.
    """
    import av

    container, stream = _open(data, limits)
    try:
        decoded = 0.0
        try:
            for frame in container.decode(stream):
                _check_stream(stream, limits or AudioInputConfig())  # a later frame may change it
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


def _readable(seconds: float) -> str:
    hours, rest = divmod(round(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours} h" * bool(hours), f"{minutes} min" * bool(minutes), f"{secs} s" * bool(secs)]
    return " ".join(p for p in parts if p) or f"{seconds:g} s"


def too_long(limit_s: float, limit_name: str = DURATION_LIMIT) -> InvalidAudioError:
    return InvalidAudioError(
        f"The audio lasts longer than this server's limit of {_readable(limit_s)} "
        f"({limit_s:g} s, {limit_name}); send a shorter recording"
    )


def _frames(container: Any, stream: Any, start_s: float) -> Iterator[Any]:
    """Decoded frames from about ``start_s`` (a seek to the keyframe before it), or from
    the start when the container cannot seek."""
    if start_s > 0:
        try:
            container.seek(int(start_s / stream.time_base), stream=stream, backward=True)
        except Exception:  # no index, not seekable: decode from the start and skip
            logger.info("cannot seek in %s; decoding from the start", container.format.name)
    yield from container.decode(stream)


def _resampled(
    container: Any, stream: Any, sample_rate: int, start_s: float, limits: AudioInputConfig
) -> Iterator[tuple[float, np.ndarray]]:
    """(time of the first sample, mono float32 at ``sample_rate``) per decoded frame, from
    about ``start_s``; the times after the first follow from the sample counts."""
    import av

    resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
    origin: float | None = None
    produced = 0
    decoded_any = False
    try:
        for frame in _frames(container, stream, start_s):
            if frame.sample_rate and not (
                limits.min_sample_rate <= frame.sample_rate <= limits.max_sample_rate
            ):
                _check_stream(stream, limits)
            if origin is None:
                origin = float(frame.time) if frame.time is not None else 0.0
            frame.pts = None  # the resampler re-times; avoids errors on odd timestamps
            for out in resampler.resample(frame):
                samples = out.to_ndarray().reshape(-1)
                yield origin + produced / sample_rate, samples
                produced += samples.size
                decoded_any = True
    except (av.FFmpegError, ValueError) as exc:
        if not decoded_any:
            raise InvalidAudioError(f"The audio stream cannot be decoded ({exc})") from exc
        logger.info("decoding stopped early (%s); keeping what decoded", exc)
    for out in resampler.resample(None):
        yield (origin or 0.0) + produced / sample_rate, out.to_ndarray().reshape(-1)
        produced += out.samples


def decode_audio(
    data: bytes | BinaryIO,
    sample_rate: int = SAMPLE_RATE,
    *,
    limits: AudioInputConfig | None = None,
    max_duration_s: float | None = None,
    limit_name: str = DURATION_LIMIT,
    start_s: float = 0.0,
    end_s: float | None = None,
) -> np.ndarray:
    """Decode to mono float32 at ``sample_rate``, from bytes or a seekable binary file.

    ``start_s``/``end_s``: only that span (seeking to it). ``max_duration_s``: decoding stops
    with a 400 naming ``limit_name`` as soon as the decoded audio passes it. A file that
    breaks off mid-way keeps what decoded before the break.
    """
    limits = limits or AudioInputConfig()
    cap = None if max_duration_s is None else int(max_duration_s * sample_rate)
    first = round(start_s * sample_rate)
    last = None if end_s is None else round(end_s * sample_rate)
    step = int(GROWTH_S * sample_rate)
    container, stream = _open(data, limits)
    try:
        stream.thread_type = "AUTO"
        buffer = np.empty(0, dtype=np.float32)
        filled = 0
        for at, samples in _resampled(container, stream, sample_rate, start_s, limits):
            begin = round(at * sample_rate)
            # Keep the part of these samples that lies in [first, last).
            lo = max(first - begin, 0)
            hi = samples.size if last is None else min(samples.size, last - begin)
            if hi > lo:
                piece = samples[lo:hi]
                if filled + piece.size > buffer.size:
                    if cap is not None and filled + piece.size > cap:
                        raise too_long(max_duration_s or 0.0, limit_name)
                    grown = max(filled + piece.size, buffer.size + max(step, buffer.size // 4))
                    if cap is not None:
                        grown = min(grown, cap)
                    buffer.resize(grown, refcheck=False)  # realloc: no second copy held
                buffer[filled : filled + piece.size] = piece
                filled += piece.size
            if last is not None and begin + samples.size >= last:
                break
        if filled == 0:
            if start_s > 0:
                raise InvalidAudioError(f"No audio was found from {start_s:.3f} s on")
            raise InvalidAudioError("The uploaded file contains no audio samples")
        buffer.resize(filled, refcheck=False)
        return buffer
    finally:
        container.close()
