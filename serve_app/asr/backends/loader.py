"""Builds the backend a registry entry names (each backend imports its engine lazily)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from serve_app.asr.backends.base import ASRBackend
from serve_app.config import ASRConfig


def load_backend(
    backend: str,
    path: Path,
    config: ASRConfig,
    device: str,
    compute_type: str,
    engine_args: dict[str, Any] | None = None,
) -> ASRBackend:
    """A loaded model of ``backend`` from the local directory ``path``."""
    if backend == "faster-whisper":
        from serve_app.asr.backends.faster_whisper import FasterWhisperBackend

        return FasterWhisperBackend(path, config, device, compute_type)
    if backend == "transformers":
        from serve_app.asr.backends.transformers import TransformersBackend

        return TransformersBackend(str(path), config, device)
    if backend == "vllm":
        from serve_app.asr.backends.vllm import VLLMBackend

        return VLLMBackend(str(path), config, device, engine_args or {})
    raise ValueError(f"unknown ASR backend '{backend}'")
