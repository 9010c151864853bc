"""Streaming utterance segmentation of a realtime session with silero VAD.

silero's ``VADIterator`` (the package's own streaming interface) reads the audio 512
samples (32 ms) at a time and reports where speech starts (padded by ``prefix_padding_ms``)
and where it ends (after ``silence_duration_ms`` of silence). The segmenter keeps only the
audio it may still need: the current utterance, or while nobody speaks the last
``prefix_padding_ms`` plus one window, so memory stays bounded whatever the session's
length. Speech longer than ``max_utterance_s`` is cut there and continues as a new
utterance. With turn detection off, audio accumulates until the client commits (or it
reaches ``max_utterance_s``).

Sample positions count from the first sample of the session (16 kHz).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from serve_app.realtime.protocol import VadSettings

SAMPLE_RATE = 16000
WINDOW = 512
"""Samples per silero VAD step at 16 kHz."""


@dataclass(frozen=True)
class SpeechStart:
    sample: int


@dataclass(frozen=True)
class Utterance:
    """One utterance's audio and where it lies in the session (``end`` exclusive)."""

    start: int
    end: int
    audio: np.ndarray
    committed_by_client: bool = False
    silence_start: int | None = None
    """Where the silence that ended it began (VAD cuts only): the end a speculative final
    decoded up to (:meth:`UtteranceSegmenter.silence_start`)."""

    @property
    def duration_s(self) -> float:
        return (self.end - self.start) / SAMPLE_RATE


SegmenterEvent = SpeechStart | Utterance


def load_vad_model() -> Any:
    """silero VAD's ONNX model (shipped in the ``silero-vad`` wheel); stateful: one per
    session."""
    from silero_vad import load_silero_vad

    return load_silero_vad(onnx=True)


class UtteranceSegmenter:
    """Feed 16 kHz float32 audio; get speech starts and finished utterances."""

    def __init__(
        self,
        vad: VadSettings | None,
        max_utterance_s: float,
        model_factory: Callable[[], Any] = load_vad_model,
    ) -> None:
        self.vad = vad
        self.max_samples = int(max_utterance_s * SAMPLE_RATE)
        self.position = 0  # samples received
        self._buf = np.zeros(0, np.float32)
        self._buf_start = 0  # session sample of _buf[0]
        self._pending = np.zeros(0, np.float32)  # < WINDOW samples not yet seen by the VAD
        self._speech_start: int | None = None  # in an utterance since this sample
        self._iterator: Any = None
        self._vad_origin = 0  # session sample where the iterator started counting
        if vad is not None:
            from silero_vad import VADIterator

            self._iterator = VADIterator(
                model_factory(),
                threshold=vad.threshold,
                sampling_rate=SAMPLE_RATE,
                min_silence_duration_ms=vad.silence_duration_ms,
                speech_pad_ms=vad.prefix_padding_ms,
            )
        else:
            self._speech_start = 0  # manual: everything since the last commit

    @property
    def in_speech(self) -> bool:
        return self._speech_start is not None and (
            self._iterator is None or bool(self._iterator.triggered)
        )

    @property
    def speech_start(self) -> int | None:
        return self._speech_start

    def silence_start(self) -> int | None:
        """Where the current utterance's trailing silence began (the VAD's probability
        fell below ``threshold - 0.15``), while the utterance is not yet cut; None while
        speech goes on. If the silence lasts ``silence_duration_ms``, the utterance ends
        here plus the padding."""
        if self._iterator is None or self._speech_start is None or not self._iterator.triggered:
            return None
        temp_end = int(self._iterator.temp_end)
        return self._vad_origin + temp_end if temp_end else None

    def audio_between(self, start: int, end: int) -> np.ndarray:
        """Kept audio from session sample ``start`` to ``end`` (clipped to what is kept)."""
        lo = max(0, start - self._buf_start)
        return self._buf[lo : max(lo, end - self._buf_start)].copy()

    def buffered_samples(self) -> int:
        return int(self._buf.shape[0] + self._pending.shape[0])

    def current_audio(self) -> np.ndarray:
        """The utterance being spoken, so far (empty when nobody speaks)."""
        if self._speech_start is None:
            return np.zeros(0, np.float32)
        return self._buf[self._speech_start - self._buf_start :].copy()

    def feed(self, audio: np.ndarray) -> list[SegmenterEvent]:
        events: list[SegmenterEvent] = []
        self._buf = np.concatenate([self._buf, audio.astype(np.float32, copy=False)])
        if self._iterator is None:
            self.position += audio.shape[0]
            if self.position - (self._speech_start or 0) >= self.max_samples:
                events.append(self._cut(self.position, committed=False))
            return events
        data = np.concatenate([self._pending, audio.astype(np.float32, copy=False)])
        whole = data.shape[0] - data.shape[0] % WINDOW
        self._pending = data[whole:]
        import torch

        for offset in range(0, whole, WINDOW):
            window = torch.from_numpy(np.ascontiguousarray(data[offset : offset + WINDOW]))
            self.position += WINDOW
            silence = self.silence_start()
            found = self._iterator(window)
            if found and "start" in found and self._speech_start is None:
                start = max(self._buf_start, self._vad_origin + int(found["start"]))
                self._speech_start = start
                events.append(SpeechStart(start))
            elif found and "end" in found and self._speech_start is not None:
                end = min(self.position, self._vad_origin + int(found["end"]))
                cut = self._cut(max(end, self._speech_start), committed=False)
                events.append(replace(cut, silence_start=silence))
                self._speech_start = None
            if (
                self._speech_start is not None
                and self.position - self._speech_start >= self.max_samples
            ):
                events.append(self._cut(self.position, committed=False))
                self._speech_start = self.position  # speech goes on: a new utterance
                events.append(SpeechStart(self.position))
        self._trim()
        return events

    def commit(self) -> Utterance | None:
        """The client's ``input_audio_buffer.commit``: the utterance so far, now (None if
        there is none)."""
        if self._iterator is not None:  # the samples the VAD has not seen yet belong too
            self.position += self._pending.shape[0]
            self._pending = np.zeros(0, np.float32)
        utterance = None
        if self._speech_start is not None:
            utterance = self._cut(self.position, committed=True)
        if self._iterator is not None:
            self._speech_start = None
            self._reset_vad()
        return utterance

    def clear(self) -> None:
        """``input_audio_buffer.clear``: drop the audio not yet committed."""
        self._buf = np.zeros(0, np.float32)
        self._buf_start = self.position
        if self._iterator is not None:
            self._speech_start = None
            self._reset_vad()
        else:
            self._speech_start = self.position

    def _reset_vad(self) -> None:
        self._iterator.reset_states()
        self.position += self._pending.shape[0]
        self._pending = np.zeros(0, np.float32)
        self._vad_origin = self.position
        self._trim()

    def _cut(self, end: int, committed: bool) -> Utterance:
        start = self._speech_start if self._speech_start is not None else end
        audio = self._buf[start - self._buf_start : end - self._buf_start].copy()
        if self._iterator is None:
            self._speech_start = end
        self._drop_before(end)
        return Utterance(start, end, audio, committed)

    def _drop_before(self, sample: int) -> None:
        cut = max(0, min(sample - self._buf_start, self._buf.shape[0]))
        self._buf = self._buf[cut:]
        self._buf_start += cut

    def _trim(self) -> None:
        """While nobody speaks, keep only what a speech start may reach back to."""
        if self._speech_start is not None:
            return
        keep = WINDOW * 2
        if self.vad is not None:
            keep += int(self.vad.prefix_padding_ms / 1000 * SAMPLE_RATE)
        self._drop_before(self.position - keep)
