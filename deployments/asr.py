"""Whisper ASR replicas: faster-whisper (CTranslate2), transformers or vLLM per model.

One deployment serves every local Whisper model through Ray Serve model multiplexing:
callers pick the model with ``handle.options(multiplexed_model_id=name)``, each replica
keeps an LRU of ``max_models_per_replica`` loaded models, and Serve routes requests to
replicas that already hold the model.

With ``asr.batch_size`` > 1, chunks that queue together (same model, language and decoding
options) are decoded as one batch: each pass takes the chunks that queued while the previous
one ran (``serve_app/asr/batcher.py``, and why not ``@serve.batch``), and faster-whisper's
batched decoder encodes and decodes them in one forward pass per step
(docs/configuration.md, "Batching", for what it gains). Chunks without a known language,
or longer than one Whisper window, always take the one-chunk path.

Each model's registry entry names its backend (``serve_app/asr/backends``); every backend
returns the same ``ChunkTranscript``. Models registered in the config are checked when the
replica starts: one that is not present fails the deployment with a clear message.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import numpy as np

from deployments.metrics import ASRMetrics
from serve_app.asr.backends.base import ASRBackend
from serve_app.asr.backends.loader import load_backend
from serve_app.asr.batcher import FILE_JOB_PRIORITY, Batcher
from serve_app.asr.decoding import ChunkTranscript, DecodeOptions
from serve_app.asr.registry import build_registry
from serve_app.audio.decode import SAMPLE_RATE
from serve_app.autoscaling.queued_audio import ReportsQueuedAudio, counts_queued_audio
from serve_app.config import ASRConfig, ModelsConfig
from serve_app.priority import lower_priority

logger = logging.getLogger("ray.serve")

BatchItem = tuple[str, np.ndarray, str, DecodeOptions]
"""One batched request: model id, audio, language, decoding options."""

MAX_BATCHED_CHUNK_S = 30.0
"""One Whisper window: longer audio is never batched (the batched decoder would cut it)."""


class WhisperASR(ReportsQueuedAudio):
    """Transcribes one chunk of 16 kHz mono float32 audio per request; reports the audio it
    holds to the autoscaler (``serve_app/autoscaling``: the ``queued_audio`` policy)."""

    def __init__(self, config: ASRConfig, models: ModelsConfig) -> None:
        import ctranslate2
        from ray import serve

        lower_priority(config.deployment.nice)  # first: threads started later inherit it
        self._config = config
        self._metrics = ASRMetrics()
        self._registry = build_registry(models, config)
        for spec in self._registry.registered:  # deploy-time check: a clear error, no hang
            self._registry.resolve(spec.name)
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
        self._batcher: Batcher[BatchItem, ChunkTranscript] = Batcher(
            self._transcribe_group, config.batch_size, config.batch_wait_timeout_s
        )
        # Warm the default model so the first job does not pay the load.
        self._default = self._load_model(config.default_model)

    def _load_model(self, model_id: str) -> ASRBackend:
        spec, path = self._registry.resolve(model_id)
        started = time.perf_counter()
        model = load_backend(
            spec.backend, path, self._config, self._device, self._compute_type, spec.engine_args
        )
        logger.info(
            "loaded %s (%s on %s, %s) in %.2fs",
            model_id,
            spec.backend,
            self._device,
            self._compute_type,
            time.perf_counter() - started,
        )
        return model

    def _model_id(self) -> str:
        from ray import serve

        return serve.get_multiplexed_model_id() or self._config.default_model

    async def _model(self, model_id: str) -> ASRBackend:
        if model_id == self._config.default_model:
            return self._default
        return await self._get_model(model_id)

    @counts_queued_audio
    async def transcribe_chunk(
        self,
        audio: np.ndarray,
        language: str | None,
        options: DecodeOptions | None = None,
        priority: int = FILE_JOB_PRIORITY,
    ) -> ChunkTranscript:
        """``priority``: lower is decoded sooner among the requests this replica holds
        (``serve_app/asr/batcher.py``; realtime sessions pass ``REALTIME_PRIORITY``)."""
        options = options or DecodeOptions()
        model_id = self._model_id()
        # The batched decoder needs a known language (detection is per chunk) and one Whisper
        # window. It is used at batch_size 1 too: one clip per pass, no timestamp tokens.
        if language is not None and audio.shape[0] <= MAX_BATCHED_CHUNK_S * SAMPLE_RATE:
            return await self._batcher.submit((model_id, audio, language, options), priority)
        model = await self._model(model_id)
        return await asyncio.to_thread(model.transcribe, audio, language, options)

    async def _transcribe_group(
        self, items: list[BatchItem]
    ) -> list[ChunkTranscript | BaseException]:
        """One batch of requests: decode them in groups that can share a batched pass.

        A group whose batched pass fails is decoded again chunk by chunk, and a chunk that
        still fails gets its own error: one bad chunk never fails the others in its batch
        (which may belong to other jobs)."""
        audios = [audio for _, audio, _, _ in items]
        options = [opts for _, _, _, opts in items]
        groups: dict[tuple[str, str, str, str | None, float | None], list[int]] = {}
        for i, (model_id, _, language, opts) in enumerate(items):
            key = (model_id, language, opts.task, opts.prompt, opts.temperature)
            groups.setdefault(key, []).append(i)
        results: list[ChunkTranscript | BaseException] = [
            RuntimeError("not decoded") for _ in audios
        ]
        for (model_id, language, *_), indices in groups.items():
            self._metrics.batch.observe(len(indices))
            try:
                model = await self._model(model_id)
                batch = await asyncio.to_thread(
                    model.transcribe_many,
                    [audios[i] for i in indices],
                    language,
                    options[indices[0]],
                )
                for i, transcript in zip(indices, batch, strict=True):
                    results[i] = transcript
            except Exception:
                logger.warning("batched pass failed; decoding its chunks one by one", exc_info=True)
                for i in indices:
                    try:
                        model = await self._model(model_id)
                        results[i] = await asyncio.to_thread(
                            model.transcribe, audios[i], language, options[i]
                        )
                    except Exception as exc:
                        results[i] = exc
        return results

    async def detect_language(self, audio: np.ndarray) -> tuple[str, float]:
        model = await self._model(self._model_id())
        return await asyncio.to_thread(model.detect_language, audio)
