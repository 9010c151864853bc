"""The one interface every ASR engine implements, whatever runs underneath."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from serve_app.asr.decoding import ChunkTranscript, DecodeOptions


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
