"""The one interface every ASR engine implements, whatever runs underneath."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from serve_app.asr.decoding import ChunkTranscript, DecodeOptions
from serve_app.audio.decode import SAMPLE_RATE
from serve_app.transcript.segments import Segment


class ASRBackend(Protocol):
    """One loaded Whisper model. Audio is 16 kHz mono float32; timestamps in the results are
    relative to each chunk; segments, words, scores and languages have the same shapes
    whatever the backend (``serve_app.transcript.segments``)."""

    backend: str
    """``faster-whisper``, ``transformers`` or ``vllm``."""

    def transcribe(
        self, audio: np.ndarray, language: str | None, options: DecodeOptions
    ) -> ChunkTranscript:
        """One chunk of any length; ``language`` None: detected."""
        ...

    def transcribe_many(
        self, audios: list[np.ndarray], language: str, options: DecodeOptions
    ) -> list[ChunkTranscript]:
        """Several chunks of one known language, each up to one Whisper window, in one pass."""
        ...

    def detect_language(self, audio: np.ndarray) -> tuple[str, float]:
        """The most likely language of ``audio`` and its probability."""
        ...


def batch_transcripts(
    audios: list[np.ndarray], per_chunk: list[list[Segment]], language: str, elapsed: float
) -> list[ChunkTranscript]:
    """One batched pass's results, one per chunk, in the chunks' order (a given language)."""
    return [
        ChunkTranscript(
            segments=segments,
            language=language,
            language_probability=1.0,
            duration=audio.shape[0] / SAMPLE_RATE,
            transcribe_s=elapsed,
        )
        for audio, segments in zip(audios, per_chunk, strict=True)
    ]
