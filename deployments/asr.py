"""Whisper ASR replicas (faster-whisper / CTranslate2).

One deployment serves every local Whisper model through Ray Serve model multiplexing:
callers pick the model with ``handle.options(multiplexed_model_id=name)``, each replica
keeps an LRU of ``max_models_per_replica`` loaded models, and Serve routes requests to
replicas that already hold the model.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Protocol

import numpy as np

from serve_app.config import ASRConfig, ModelsConfig
from serve_app.models import build_registry
from serve_app.transcript import (
    ChunkTranscript,
    DecodeOptions,
    Segment,
    Word,
    temperature_schedule,
)

logger = logging.getLogger("ray.serve")


class ASRHandle(Protocol):
    """Methods reachable through the ASR deployment handle."""

    async def transcribe_chunk(
        self, audio: np.ndarray, language: str | None, options: DecodeOptions | None = None
    ) -> ChunkTranscript: ...

    async def detect_language(self, audio: np.ndarray) -> tuple[str, float]: ...


class WhisperASR:
    """Transcribes one chunk of 16 kHz mono float32 audio per request."""

    def __init__(self, config: ASRConfig, models: ModelsConfig) -> None:
        import ctranslate2
        from ray import serve

        self._config = config
        self._registry = build_registry(models, config)
        device = config.device
        if device == "auto":
            device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
        self._device = device
        self._compute_type = config.resolved_compute_type(device)

        async def load(model_id: str) -> Any:
            return await asyncio.to_thread(self._load_model, model_id)

        # Decorated here rather than on the class so the LRU size comes from config.
        self._get_model = serve.multiplexed(
            max_num_models_per_replica=config.max_models_per_replica
        )(load)
        # Warm the default model so the first job does not pay the load.
        self._default = self._load_model(config.default_model)

    def _load_model(self, model_id: str) -> Any:
        from faster_whisper import WhisperModel

        _, path = self._registry.resolve(model_id)
        started = time.perf_counter()
        model = WhisperModel(
            str(path),
            device=self._device,
            compute_type=self._compute_type,
            cpu_threads=self._config.cpu_threads,
            num_workers=self._config.num_workers,
            local_files_only=True,
        )
        logger.info(
            "loaded %s (%s, %s) in %.2fs",
            model_id,
            self._device,
            self._compute_type,
            time.perf_counter() - started,
        )
        return model

    async def _model(self) -> Any:
        from ray import serve

        model_id = serve.get_multiplexed_model_id() or self._config.default_model
        if model_id == self._config.default_model:
            return self._default
        return await self._get_model(model_id)

    async def transcribe_chunk(
        self, audio: np.ndarray, language: str | None, options: DecodeOptions | None = None
    ) -> ChunkTranscript:
        model = await self._model()
        return await asyncio.to_thread(
            self._transcribe, model, audio, language, options or DecodeOptions()
        )

    async def detect_language(self, audio: np.ndarray) -> tuple[str, float]:
        model = await self._model()
        language, probability, _ = await asyncio.to_thread(
            model.detect_language, audio, vad_filter=True
        )
        return language, float(probability)

    def _transcribe(
        self, model: Any, audio: np.ndarray, language: str | None, options: DecodeOptions
    ) -> ChunkTranscript:
        cfg = self._config
        started = time.perf_counter()
        segments, info = model.transcribe(
            audio,
            language=language,
            task=options.task,
            initial_prompt=options.prompt,
            temperature=temperature_schedule(options.temperature),
            beam_size=cfg.beam_size,
            vad_filter=cfg.vad_filter,
            condition_on_previous_text=cfg.condition_on_previous_text,
            word_timestamps=cfg.word_timestamps,
        )
        result = [
            Segment(
                start=s.start,
                end=s.end,
                text=s.text.strip(),
                words=[
                    Word(start=w.start, end=w.end, word=w.word, probability=w.probability)
                    for w in (s.words or [])
                ],
                avg_logprob=s.avg_logprob,
                no_speech_prob=s.no_speech_prob,
                compression_ratio=s.compression_ratio,
                temperature=s.temperature,
                tokens=list(s.tokens),
            )
            for s in segments  # a generator: decoding happens while iterating
        ]
        return ChunkTranscript(
            segments=result,
            language=info.language,
            language_probability=info.language_probability,
            duration=audio.shape[0] / 16000,
            transcribe_s=time.perf_counter() - started,
        )
