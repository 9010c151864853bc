"""Options of the HTTP front door beside ``IngressConfig`` (in ``serve_app/config.py``, which
re-exports them): API keys and the local identity, route limits, live-stream budgets and
the loopback names a local server answers to."""

from __future__ import annotations

from pydantic import Field, PositiveFloat, PositiveInt

from serve_app.deployment_options import DeploymentOptions, StrictModel
from serve_app.loopback import is_loopback


class AuthConfig(StrictModel):
    """API keys (``Authorization: Bearer <key>``). Off for local runs (loopback only)."""

    enabled: bool = False
    keys_env: str = "TRANSCRIBE_API_KEYS"
    """Environment variable with ``name=key`` pairs, comma- or newline-separated. A key
    written ``sha256:<hex>`` is its SHA-256 digest (the key itself need not be stored)."""
    keys_file: str | None = None
    """File with one ``name key [admin]`` per line (``#`` starts a comment); relative paths
    are under the project root. Read with the environment variable, at replica start."""
    admin_names: list[str] = Field(default_factory=list)
    """Names whose keys are admin keys: they see every job and may use ``/debug``."""
    local_key_file: str | None = "var/local-key"
    """With auth off: the local admin key, made at first start (mode 0600; relative paths are
    under the project root). The CLI on this machine reads it; a browser gets an anonymous
    identity of its own instead (docs/security.md). None: no local key."""


class LimitsConfig(StrictModel):
    """Bounds on what one request may ask for; past them, 413 or 400 saying which."""

    max_json_mb: PositiveFloat = 5.0
    """Every body but an upload (``multipart/form-data``): JSON in any case of Content-Type,
    any other type, or none (summary, chat, ``/v1/chat/completions``, re-transcription)."""
    max_transcript_segments: PositiveInt = 20_000
    max_messages: PositiveInt = 200
    max_tokens: PositiveInt = 2048
    """Cap on ``max_tokens`` of a chat request."""
    jobs_page_size: PositiveInt = 50
    """``/api/transcribe/jobs`` page size when ``limit`` is not given (at most 500)."""


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


def split_host_name(host: str) -> str:
    """The name of an ``allowed_hosts`` entry, without its port."""
    name, sep, port = host.rpartition(":")
    return name if sep and port.isdigit() and not name.endswith(":") else host


class LiveStreamsConfig(StrictModel):
    """Budget of live WebSocket streams per ingress replica: each holds one of the replica's
    ``max_ongoing_requests`` while open, so they get a share of their own, below it. Past a
    cap the socket is closed with code 1013 and a reason saying which."""

    max_streams: PositiveInt = 64
    """Open streams in all (must be below ``deployment.max_ongoing_requests``)."""
    max_streams_per_caller: PositiveInt = 16
    """Open streams per API key (or per anonymous browser)."""


def check_ingress(
    cors_origins: list[str],
    allowed_hosts: list[str],
    auth: AuthConfig,
    live: LiveStreamsConfig,
    deployment: DeploymentOptions,
) -> None:
    """``IngressConfig``'s secure defaults (``ValueError`` saying what to change): no wildcard
    origin, names beyond loopback only with keys, live streams below the request budget."""
    if "*" in cors_origins:
        raise ValueError(
            "ingress.cors_origins may not be '*' (any web page could call this API): "
            "list the origins of your web clients"
        )
    others = [h for h in allowed_hosts if not is_loopback(split_host_name(h))]
    if others and not auth.enabled:
        raise ValueError(
            f"ingress.allowed_hosts names {others}, reachable from other machines, while "
            "ingress.auth is off: set ingress.auth.enabled: true and give API keys "
            "(docs/security.md)"
        )
    if live.max_streams >= deployment.max_ongoing_requests:
        raise ValueError(
            f"ingress.live.max_streams ({live.max_streams}) must be below "
            f"ingress.deployment.max_ongoing_requests ({deployment.max_ongoing_requests}): "
            "live streams hold a request each, and /health and the API need the rest"
        )
