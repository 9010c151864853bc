"""Builds the FastAPI app from its parts; the Serve ingress and the tests both call this."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from serve_app import NAME, __version__
from serve_app.asr.registry import ModelRegistry
from serve_app.config import IngressConfig
from serve_app.http import (
    chat,
    edits,
    openai_audio,
    openai_chat,
    retranslate,
    summary,
    system,
    transcribe,
)
from serve_app.http.auth import AuthMiddleware, KeyRing
from serve_app.http.backends import AssistantBackend, TranscriptionBackend
from serve_app.http.errors import document_errors, install_error_handlers
from serve_app.http.middleware import BodySizeLimitMiddleware, RequestContextMiddleware
from serve_app.http.web import mount_assets
from serve_app.paths import PROJECT_ROOT


def create_http_app(
    backend: TranscriptionBackend,
    registry: ModelRegistry,
    settings: IngressConfig,
    behind_serve_proxy: bool = False,
    assistant: AssistantBackend | None = None,
) -> FastAPI:
    """The API app. ``behind_serve_proxy``: the Serve proxy already sets ``X-Request-ID``."""
    app = FastAPI(title=NAME, version=__version__)
    app.state.backend = backend
    app.state.registry = registry
    app.state.settings = settings
    app.state.assistant = assistant  # None: summary/chat answer 503
    install_error_handlers(app)
    document_errors(app)
    app.include_router(system.router)
    app.include_router(transcribe.router)
    app.include_router(edits.router)
    app.include_router(openai_audio.router)
    app.include_router(retranslate.router)
    app.include_router(summary.router)
    app.include_router(chat.router)
    app.include_router(openai_chat.router)
    mount_assets(app)
    # Last added runs first: CORS outermost so even our own 500s (and 401s, 429s) carry
    # CORS headers and preflights need no key; then request ids, then auth, then sizes.
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=int(settings.max_upload_mb * 1e6),
        max_json_bytes=int(settings.limits.max_json_mb * 1e6),
    )
    app.add_middleware(
        AuthMiddleware,
        enabled=settings.auth.enabled,
        keys=KeyRing.from_config(settings.auth, PROJECT_ROOT),
        origins=settings.cors_origins,
        rate_limit=settings.rate_limit,
    )
    app.add_middleware(RequestContextMiddleware, echo_request_id=not behind_serve_proxy)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=["X-Request-ID", "X-Process-Time-Ms"],
    )
    return app
