"""Builds the FastAPI app from its parts; the Serve ingress and the tests both call this."""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path

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
    realtime,
    retranslate,
    speakers,
    summary,
    system,
    transcribe,
)
from serve_app.http.auth import AnonymousIdentity, AuthMiddleware, KeyRing, load_local_key
from serve_app.http.backends import AssistantBackend, TranscriptionBackend
from serve_app.http.errors import document_errors, install_error_handlers
from serve_app.http.middleware import (
    BodySizeLimitMiddleware,
    HostOriginMiddleware,
    RequestContextMiddleware,
)
from serve_app.http.streams import LiveStreams
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
    app.state.live_streams = LiveStreams(settings.live)
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
    app.include_router(speakers.router)
    app.include_router(realtime.router)
    mount_assets(app)
    # Last added runs first. Host and Origin checks outermost, before anything else answers
    # (CORS preflights included); then CORS headers for the configured origins, so our own
    # 500s (and 401s, 429s) carry them; then request ids, then auth, then sizes.
    keys, anonymous = _identities(settings)
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=int(settings.max_upload_mb * 1e6),
        max_json_bytes=int(settings.limits.max_json_mb * 1e6),
    )
    app.add_middleware(
        AuthMiddleware,
        enabled=settings.auth.enabled,
        keys=keys,
        rate_limit=settings.rate_limit,
        anonymous=anonymous,
    )
    app.add_middleware(RequestContextMiddleware, echo_request_id=not behind_serve_proxy)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=["X-Request-ID", "X-Process-Time-Ms"],
    )
    app.add_middleware(
        HostOriginMiddleware, allowed_hosts=settings.allowed_hosts, origins=settings.cors_origins
    )
    return app


def _identities(settings: IngressConfig) -> tuple[KeyRing, AnonymousIdentity | None]:
    """The API keys; with auth off, the local admin key and per-browser identities signed
    with a secret derived from it (so they survive restarts and agree across replicas)."""
    if settings.auth.enabled:
        return KeyRing.from_config(settings.auth, PROJECT_ROOT), None
    if settings.auth.local_key_file is None:
        return KeyRing([]), AnonymousIdentity(secrets.token_bytes(32))
    path = Path(settings.auth.local_key_file)
    key = load_local_key(path if path.is_absolute() else PROJECT_ROOT / path)
    secret = hashlib.sha256(b"serve-transcribe anonymous identity\0" + key.encode()).digest()
    return KeyRing.local(key), AnonymousIdentity(secret)
