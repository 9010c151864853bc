"""FastAPI dependencies from ``app.state``: the backends, the model registry and settings.

The assistant (summary/chat) is ``None`` when no LLM is deployed: its routes then answer 503.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from serve_app.asr.registry import ModelRegistry
from serve_app.config import IngressConfig
from serve_app.errors import LLMUnavailableError
from serve_app.http.auth import NOBODY, Principal
from serve_app.http.backends import AssistantBackend, TranscriptionBackend


def get_principal(conn: HTTPConnection) -> Principal:
    """Who is calling (``AuthMiddleware``); nobody (no job, not admin) if it did not run."""
    principal: Principal = conn.scope.get("state", {}).get("principal", NOBODY)
    return principal


def get_backend(conn: HTTPConnection) -> TranscriptionBackend:
    return conn.app.state.backend


def get_registry(conn: HTTPConnection) -> ModelRegistry:
    return conn.app.state.registry


def get_settings(conn: HTTPConnection) -> IngressConfig:
    return conn.app.state.settings


def get_assistant(conn: HTTPConnection) -> AssistantBackend:
    assistant: AssistantBackend | None = getattr(conn.app.state, "assistant", None)
    if assistant is None:
        raise LLMUnavailableError("The LLM is not enabled on this server (llm.enabled: false)")
    return assistant


BackendDep = Annotated[TranscriptionBackend, Depends(get_backend)]
RegistryDep = Annotated[ModelRegistry, Depends(get_registry)]
SettingsDep = Annotated[IngressConfig, Depends(get_settings)]
AssistantDep = Annotated[AssistantBackend, Depends(get_assistant)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
