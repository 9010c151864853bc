"""Decoding as a stream: an upload's audio in consecutive blocks, so that whoever reads it
holds a block (plus what it keeps on purpose, ``serve_app.audio.window``) and never the
whole file.

The samples are those :func:`serve_app.audio.decode.decode_audio` returns, in the same
order (the same frames through the same resampler): concatenating the blocks gives its
array exactly. The duration cap counts decoded samples as they come, like ``decode_audio``,
and raises the same 400 as soon as they pass it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

import numpy as np

from serve_app.audio.decode import (
    DURATION_LIMIT,
    SAMPLE_RATE,
    _open,
    _resampled,
    too_long,
)
from serve_app.config import AudioInputConfig
from serve_app.errors import InvalidAudioError


def decoded_blocks(
    data: bytes | BinaryIO,
    block_samples: int,
    sample_rate: int = SAMPLE_RATE,
    *,
    limits: AudioInputConfig | None = None,
    max_duration_s: float | None = None,
    limit_name: str = DURATION_LIMIT,
) -> Iterator[np.ndarray]:
    """Mono float32 at ``sample_rate`` in blocks of ``block_samples`` (the last one shorter),
    from the file's start. Raises :class:`InvalidAudioError` when the file is not decodable
    audio, has no samples, or its decoded audio passes ``max_duration_s``.

    Close the generator (or exhaust it) to close the file's decoder."""
    if block_samples <= 0:
        raise ValueError(f"block_samples must be positive, got {block_samples}")
    limits = limits or AudioInputConfig()
    cap = None if max_duration_s is None else int(max_duration_s * sample_rate)
    container, stream = _open(data, limits)
    try:
        stream.thread_type = "AUTO"
        pending: list[np.ndarray] = []
        held = produced = 0
        for _, samples in _resampled(container, stream, sample_rate, 0.0, limits):
            if not samples.size:
                continue
            produced += samples.size
            if cap is not None and produced > cap:
                raise too_long(max_duration_s or 0.0, limit_name)
            pending.append(samples)
            held += samples.size
            while held >= block_samples:
                joined = np.concatenate(pending) if len(pending) > 1 else pending[0]
                yield joined[:block_samples]
                rest = joined[block_samples:]
                pending, held = ([rest] if rest.size else []), rest.size
        if held:
            yield np.concatenate(pending)
        if produced == 0:
            raise InvalidAudioError("The uploaded file contains no audio samples")
    finally:
        container.close()


def count_samples(
    data: bytes | BinaryIO,
    sample_rate: int = SAMPLE_RATE,
    *,
    limits: AudioInputConfig | None = None,
    max_duration_s: float | None = None,
    limit_name: str = DURATION_LIMIT,
    block_samples: int = 60 * SAMPLE_RATE,
) -> int:
    """How many samples ``decode_audio`` would return, decoding within the same bounds while
    holding one block at a time (the upload check before a job exists)."""
    return sum(
        block.size
        for block in decoded_blocks(
            data,
            block_samples,
            sample_rate,
            limits=limits,
            max_duration_s=max_duration_s,
            limit_name=limit_name,
        )
    )


def array_blocks(audio: np.ndarray, block_samples: int) -> Iterator[np.ndarray]:
    """The same blocks over audio already in memory (views, no copies)."""
    for start in range(0, audio.shape[0], block_samples):
        yield audio[start : start + block_samples]
