"""Speculative finals: an utterance's final transcript started before its end is certain.

Turn detection ends an utterance after ``silence_duration_ms`` of silence (500 ms by
default), and only then could its final pass start: the latency to ``completed`` was that
wait plus the decode. Here, once the trailing silence has lasted ``speculative_final_ms``,
the utterance so far (up to where the silence began, plus what has arrived of the padding)
is decoded at once. If the silence goes on until the utterance ends at that same point,
the speculative result is its final and the decode overlapped the wait; if speech resumes,
the result is dropped and the utterance goes on. At most one speculative pass is in
flight per session.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any

import numpy as np

from serve_app.realtime.segmenter import SAMPLE_RATE, WINDOW, Utterance, UtteranceSegmenter

Transcribe = Callable[[np.ndarray], Coroutine[Any, Any, Any]]


def _consume(task: asyncio.Task[Any]) -> None:
    """A dropped speculation's error is nobody's: never logged as unretrieved."""
    if not task.cancelled():
        with contextlib.suppress(BaseException):
            task.exception()


class SpeculativeFinal:
    """The session's speculative final pass (``after_ms`` 0: off)."""

    def __init__(self, after_ms: int) -> None:
        self.after = after_ms * SAMPLE_RATE // 1000
        self.item: str | None = None
        self.silence: int | None = None
        self.task: asyncio.Task[Any] | None = None

    def maybe_start(
        self, item: str | None, segmenter: UtteranceSegmenter, pad_ms: int, run: Transcribe
    ) -> None:
        """Start decoding ``item`` so far when its trailing silence is long enough."""
        silence = segmenter.silence_start()
        start = segmenter.speech_start
        if self.after <= 0 or item is None or silence is None or start is None:
            return
        if (item, silence) == (self.item, self.silence):
            return  # this silence is being (or was) decoded already
        if self.task is not None and not self.task.done():
            return
        if segmenter.position - silence < self.after:
            return
        end = silence + pad_ms * SAMPLE_RATE // 1000 - WINDOW
        self.item, self.silence = item, silence
        self.task = asyncio.create_task(run(segmenter.audio_between(start, end)))
        self.task.add_done_callback(_consume)

    def take(self, item: str, utterance: Utterance) -> asyncio.Task[Any] | None:
        """The speculative pass of ``item`` if the utterance ended at the silence it
        decoded up to (else None: the final pass decodes it)."""
        task, matches = self.task, self.item == item
        if task is None or not matches or utterance.silence_start != self.silence:
            return None
        self.task, self.item, self.silence = None, None, None
        return task
