"""Speech detection with silero VAD (the ONNX model that ships with faster-whisper)."""

from __future__ import annotations

import numpy as np

from serve_app.config import VadConfig


def detect_speech(audio: np.ndarray, vad: VadConfig, max_speech_s: float) -> list[tuple[int, int]]:
    """Speech spans ``(start, end)`` in samples; long speech is split at its quietest pause."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(
        threshold=vad.threshold,
        min_speech_duration_ms=vad.min_speech_duration_ms,
        max_speech_duration_s=max_speech_s,
        min_silence_duration_ms=vad.min_silence_duration_ms,
        speech_pad_ms=vad.speech_pad_ms,
    )
    return [(int(s["start"]), int(s["end"])) for s in get_speech_timestamps(audio, options)]


def speech_span(audio: np.ndarray) -> tuple[int, int] | None:
    """First and last speech sample of a chunk (faster-whisper's VAD defaults), or None."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    speech = get_speech_timestamps(audio, VadOptions())
    if not speech:
        return None
    return int(speech[0]["start"]), int(speech[-1]["end"])
