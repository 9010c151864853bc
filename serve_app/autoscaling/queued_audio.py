"""The replica side of the queued-audio policy: the audio-seconds a replica holds.

``ReportsQueuedAudio`` gives a deployment class Serve's ``record_autoscaling_stats`` hook,
and ``counts_queued_audio`` wraps its request method (first argument: 16 kHz mono samples)
so every chunk counts from the moment the replica accepts it until its result is back.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

from serve_app.autoscaling.policy import HELD_CHUNKS_METRIC, QUEUED_AUDIO_METRIC

SAMPLE_RATE = 16_000
P = ParamSpec("P")
R = TypeVar("R")


class QueuedAudio:
    """Seconds and number of the chunks a replica holds right now."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.chunks = 0

    def add(self, seconds: float) -> None:
        self.seconds += seconds
        self.chunks += 1

    def remove(self, seconds: float) -> None:
        self.chunks -= 1
        # Float sums drift: an empty replica reports exactly zero.
        self.seconds = max(0.0, self.seconds - seconds) if self.chunks else 0.0

    def stats(self) -> dict[str, float]:
        return {QUEUED_AUDIO_METRIC: self.seconds, HELD_CHUNKS_METRIC: float(self.chunks)}


class ReportsQueuedAudio:
    """Mixin: the replica's held audio as Serve custom autoscaling metrics."""

    @property
    def queued_audio(self) -> QueuedAudio:
        held: QueuedAudio | None = self.__dict__.get("_queued_audio")
        if held is None:
            held = self.__dict__["_queued_audio"] = QueuedAudio()
        return held

    def record_autoscaling_stats(self) -> dict[str, float]:
        """Called by Serve every metrics interval; read by ``QueuedAudioPolicy``."""
        return self.queued_audio.stats()


def counts_queued_audio(
    method: Callable[Concatenate[Any, Any, P], Awaitable[R]],
) -> Callable[Concatenate[Any, Any, P], Awaitable[R]]:
    """Count the chunk (``audio``, the first argument) as held while ``method`` runs."""

    @functools.wraps(method)
    async def wrapper(self: Any, audio: Any, *args: P.args, **kwargs: P.kwargs) -> R:
        seconds = float(len(audio)) / SAMPLE_RATE
        held: QueuedAudio = self.queued_audio
        held.add(seconds)
        try:
            return await method(self, audio, *args, **kwargs)
        finally:
            held.remove(seconds)

    return wrapper
