"""FastAPI dependencies: the backend, the model registry and settings, from ``app.state``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from serve_app.backend import TranscriptionBackend
from serve_app.config import IngressConfig
from serve_app.models import ModelRegistry


def get_backend(conn: HTTPConnection) -> TranscriptionBackend:
    return conn.app.state.backend


def get_registry(conn: HTTPConnection) -> ModelRegistry:
    return conn.app.state.registry


def get_settings(conn: HTTPConnection) -> IngressConfig:
    return conn.app.state.settings


BackendDep = Annotated[TranscriptionBackend, Depends(get_backend)]
RegistryDep = Annotated[ModelRegistry, Depends(get_registry)]
SettingsDep = Annotated[IngressConfig, Depends(get_settings)]
