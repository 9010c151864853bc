"""What a realtime session is given by its ingress replica, and how it ends on an error."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from serve_app.asr.registry import ModelRegistry
from serve_app.audio.store import AudioStore
from serve_app.realtime.segmenter import Utterance
from serve_app.realtime.settings import RealtimeConfig


@dataclass
class RealtimeServices:
    """What sessions need from their replica: the ASR router and the diarizer handle
    (``diarizer`` None: no diarization), the job-store client, the audio store and the model
    registry."""

    asr: Any
    """An ``ASRRouter`` (``serve_app/asr/routing.py``), used like the ``WhisperASR`` handle:
    ``asr.options(multiplexed_model_id=model)``."""
    diarizer: Any | None
    store: Any
    audio: AudioStore
    registry: ModelRegistry
    config: RealtimeConfig
    lease_s: float


Final = tuple[str, Utterance, int, "asyncio.Task[Any] | None"]
"""A finished utterance waiting for its final: item, audio, chunk, speculative pass."""


class SessionClosed(Exception):
    """The session must end (a fatal error was sent)."""
