"""The kept-audio store a deployment opens, from the ``audio_store`` config section."""

from __future__ import annotations

import os
from typing import Any

from serve_app.audio.store import AudioStore
from serve_app.config import AudioStoreConfig
from serve_app.paths import resolve_path


def _expand(value: Any) -> Any:
    if isinstance(value, str):
        return os.path.expandvars(value)
    if isinstance(value, dict):
        return {k: _expand(v) for k, v in value.items()}
    return value


def open_audio_store(config: AudioStoreConfig) -> AudioStore:
    """A local directory (relative to the project root) or an fsspec URI such as
    ``s3://bucket/prefix``; ``${VAR}`` in the URI and storage options come from the
    environment."""
    url = os.path.expandvars(config.url)
    location = url if "://" in url else str(resolve_path(url))
    return AudioStore(location, config.ttl_s, _expand(config.storage_options) or None)
