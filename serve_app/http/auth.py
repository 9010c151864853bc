"""API keys, who is calling, and per-key rate limits, as one pure-ASGI middleware.

Keys come from settings (an environment variable and/or a file, read once when the app is
built) and are kept only as SHA-256 digests, compared in constant time. Each key has a
*name*: jobs belong to the name, so a key is rotated by adding a new key under the same name
and removing the old one, without losing access to earlier jobs.

HTTP requests send ``Authorization: Bearer <key>``. Browsers cannot set headers on a
WebSocket, so the live stream also accepts the key as a ``Sec-WebSocket-Protocol`` value
``bearer.<key>``, offered beside the protocol ``transcribe``, which the server selects.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from dataclasses import dataclass
from pathlib import Path

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serve_app.config import AuthConfig, RateLimitConfig
from serve_app.http.middleware import send_error
from serve_app.http.web import is_public
from serve_app.jobs.model import Job

OPEN_PATHS = frozenset({"/health", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})
"""Answered without a key: liveness, and the API's own description."""
WS_PROTOCOL = "transcribe"
WS_KEY_PREFIX = "bearer."


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's name (``None`` with auth off) and whether it is an admin."""

    name: str | None
    admin: bool

    def owns(self, owner: str | None) -> bool:
        """May this caller see a job created by ``owner``?"""
        return self.admin or owner == self.name

    def sees_transcription(self, job: Job | None) -> bool:
        """``job`` is a transcription job this caller may see (another key's is not found;
        summary jobs live under ``/api/summary``)."""
        return job is not None and job.kind == "transcription" and self.owns(job.owner)


ANONYMOUS = Principal(name=None, admin=True)
"""With auth off (local runs on loopback) every caller sees everything."""


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


class KeyRing:
    """Name and admin flag per key digest; lookups compare every digest in constant time."""

    def __init__(self, entries: list[tuple[str, bytes, bool]]) -> None:
        self._entries = entries

    def __len__(self) -> int:
        return len(self._entries)

    @classmethod
    def from_config(cls, config: AuthConfig, root: Path) -> KeyRing:
        entries: list[tuple[str, bytes, bool]] = []

        def add(name: str, key: str, admin: bool) -> None:
            name, key = name.strip(), key.strip()
            if not name or not key:
                raise ValueError("an API key entry needs a name and a key")
            digest = bytes.fromhex(key[7:]) if key.startswith("sha256:") else _digest(key)
            entries.append((name, digest, admin or name in config.admin_names))

        for pair in os.environ.get(config.keys_env, "").replace("\n", ",").split(","):
            if pair.strip():
                name, sep, key = pair.partition("=")
                if not sep:
                    raise ValueError(f"${config.keys_env}: expected name=key, got {pair!r}")
                add(name, key, False)
        if config.keys_file:
            path = Path(config.keys_file)
            path = path if path.is_absolute() else root / path
            for line in path.read_text().splitlines():
                fields = line.split("#", 1)[0].split()
                if fields:
                    add(fields[0], fields[1] if len(fields) > 1 else "", "admin" in fields[2:])
        if config.enabled and not entries:
            raise ValueError(
                f"ingress.auth is enabled but no key is configured (${config.keys_env} "
                "or ingress.auth.keys_file)"
            )
        return cls(entries)

    def authenticate(self, key: str) -> Principal | None:
        digest = _digest(key)
        found: Principal | None = None
        for name, expected, admin in self._entries:  # no early exit: constant time
            if hmac.compare_digest(digest, expected):
                found = Principal(name=name, admin=admin)
        return found


class TokenBucket:
    """``rate`` tokens a second up to ``burst``, one per request, per caller."""

    def __init__(self, config: RateLimitConfig) -> None:
        self.rate, self.burst = config.requests_per_s, float(config.burst)
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, caller: str, now: float | None = None) -> float:
        """0 when the request may go ahead, else the seconds until it may."""
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.get(caller, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens >= 1:
            self._buckets[caller] = (tokens - 1, now)
            return 0.0
        self._buckets[caller] = (tokens, now)
        if len(self._buckets) > 100_000:  # forget idle callers rather than grow forever
            self._buckets.clear()
        return (1 - tokens) / self.rate


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or []:
        if key == name:
            return str(value.decode("latin-1"))
    return None


class AuthMiddleware:
    """Sets ``scope["state"]["principal"]``; refuses missing or wrong keys (401), browser
    WebSockets from origins not in ``cors_origins`` (403), and callers past their rate
    limit (429, ``Retry-After``)."""

    def __init__(
        self,
        app: ASGIApp,
        enabled: bool,
        keys: KeyRing,
        origins: list[str],
        rate_limit: RateLimitConfig,
    ) -> None:
        self.app, self.enabled, self.keys = app, enabled, keys
        self.origins = None if "*" in origins else set(origins)
        self.bucket = TokenBucket(rate_limit) if rate_limit.enabled else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        request_id = state.get("request_id", "")
        websocket = scope["type"] == "websocket"
        if websocket and self.origins is not None:
            origin = _header(scope, b"origin")
            if (
                origin is not None
                and origin not in self.origins
                and not _same_origin(scope, origin)
            ):
                await send({"type": "websocket.close", "code": 1008})  # HTTP 403
                return
        principal = ANONYMOUS
        if self.enabled and not self._public(scope):
            found = self.keys.authenticate(self._key(scope) or "")
            if found is None:
                if websocket:
                    await send({"type": "websocket.close", "code": 1008})
                    return
                await self._refuse(send, request_id)
                return
            principal = found
        state["principal"] = principal
        if self.bucket is not None and scope["path"] != "/health":
            client = scope.get("client") or ("", 0)
            wait = self.bucket.take(principal.name or f"addr:{client[0]}")
            if wait > 0:
                if websocket:
                    await send({"type": "websocket.close", "code": 1013})  # try again later
                    return
                await send_error(
                    _with_header(send, b"retry-after", str(int(wait) + 1).encode()),
                    429,
                    "Too many requests for this API key: slow down",
                    "rate_limited",
                    request_id,
                )
                return
        await self.app(scope, receive, send)

    @staticmethod
    def _public(scope: Scope) -> bool:
        path = scope["path"]
        if path in OPEN_PATHS:
            return True
        return is_public(scope.get("method", "GET"), path, _header(scope, b"accept"))

    @staticmethod
    def _key(scope: Scope) -> str | None:
        header = _header(scope, b"authorization") or ""
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
        for protocol in (_header(scope, b"sec-websocket-protocol") or "").split(","):
            protocol = protocol.strip()
            if protocol.startswith(WS_KEY_PREFIX):
                return protocol[len(WS_KEY_PREFIX) :]
        return None

    @staticmethod
    async def _refuse(send: Send, request_id: str) -> None:
        await send_error(
            _with_header(send, b"www-authenticate", b'Bearer realm="serve-transcribe"'),
            401,
            "A valid API key is required: send Authorization: Bearer <key>",
            "unauthorized",
            request_id,
        )


def _same_origin(scope: Scope, origin: str) -> bool:
    """A page this server served (the web UI) opening a socket back to it."""
    host = _header(scope, b"host")
    return host is not None and origin.split("://", 1)[-1] == host


def _with_header(send: Send, name: bytes, value: bytes) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", []), (name, value)]
        await send(message)

    return sending


def ws_subprotocol(offered: list[str]) -> str | None:
    """The subprotocol to accept a WebSocket with: ``transcribe`` when the client offered it
    (it must, to send its key as a protocol), else none."""
    return WS_PROTOCOL if WS_PROTOCOL in offered else None
