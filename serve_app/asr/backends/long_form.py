"""Whisper's long-form (sequential) decoding for an engine that only decodes single windows.

One 30 s window's sampled tokens become segments at their timestamp tokens, and the window
says where the next one starts, as openai-whisper's ``transcribe`` and faster-whisper's
``_split_segments_by_timestamps`` decide it: after the last *complete* segment (a pair of
consecutive timestamps) when the window stops there or mid-segment, so the rest of the window
is decoded again; after the whole window when the tokens end on a single timestamp (no speech
after it) or carry no timestamp pair at all.
"""

from __future__ import annotations

from dataclasses import dataclass

TIME_PRECISION = 0.02
"""Seconds per Whisper timestamp token."""
SAMPLES_PER_TIMESTAMP = 320
"""16 kHz samples per timestamp step (two mel frames of 160 samples)."""


@dataclass(frozen=True)
class WindowSegment:
    """Text tokens between two timestamps; times in seconds from the window's start."""

    start: float
    end: float
    tokens: list[int]


@dataclass(frozen=True)
class WindowSplit:
    segments: list[WindowSegment]
    advance: int
    """Samples from this window's start to where the next window starts."""


def split_window(tokens: list[int], timestamp_begin: int, window_samples: int) -> WindowSplit:
    """Split one window's tokens (the sampled ones, after any timestamp the decoder prompt
    ended with; end-of-text and other special tokens already removed) at timestamp tokens.

    ``window_samples``: the audio the window holds (under 30 s at the end of a chunk); times
    past it are cut to it. A window that would not move the next start forward advances by
    the whole window, so the loop always ends.
    """
    window_s = window_samples / (SAMPLES_PER_TIMESTAMP / TIME_PRECISION)

    def seconds(token: int) -> float:
        return min((token - timestamp_begin) * TIME_PRECISION, window_s)

    is_stamp = [t >= timestamp_begin for t in tokens]
    single_timestamp_ending = len(tokens) >= 2 and is_stamp[-1] and not is_stamp[-2]
    consecutive = [i for i in range(1, len(tokens)) if is_stamp[i] and is_stamp[i - 1]]
    segments: list[WindowSegment] = []
    if consecutive:
        slices = consecutive + ([len(tokens)] if single_timestamp_ending else [])
        last = 0
        for current in slices:
            piece = tokens[last:current]
            start, end = seconds(piece[0]), seconds(piece[-1])
            text = [t for t in piece if t < timestamp_begin]
            if text:
                segments.append(WindowSegment(start, max(start, end), text))
            last = current
        if single_timestamp_ending:
            advance = window_samples
        else:
            # Seek to the last complete segment's end: the unfinished text after it is decoded
            # again in the next window, with the audio after this one.
            advance = (tokens[last - 1] - timestamp_begin) * SAMPLES_PER_TIMESTAMP
    else:
        stamps = [t for t in tokens if t >= timestamp_begin]
        end = window_s
        if stamps and stamps[-1] != timestamp_begin:
            end = seconds(stamps[-1])
        text = [t for t in tokens if t < timestamp_begin]
        start = seconds(tokens[0]) if tokens and is_stamp[0] else 0.0
        if text:
            segments.append(WindowSegment(start, max(start, end), text))
        advance = window_samples
    if advance <= 0 or advance > window_samples:
        advance = window_samples
    return WindowSplit(segments, advance)
