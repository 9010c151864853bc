"""API keys, who is calling, and per-key rate limits, as one pure-ASGI middleware.

Keys come from settings (an environment variable and/or a file, read once when the app is
built) and are kept only as SHA-256 digests, compared in constant time. Each key has a
*name*: jobs belong to the name, so a key is rotated by adding a new key under the same name
and removing the old one, without losing access to earlier jobs.

HTTP requests send ``Authorization: Bearer <key>``. Browsers cannot set headers on a
WebSocket, so the live stream also accepts the key as a ``Sec-WebSocket-Protocol`` value
``bearer.<key>``, offered beside the protocol ``transcribe``, which the server selects.

With auth off (``make run``, loopback only) nobody is admin by default: each browser gets an
anonymous identity of its own (a random id the server signs, in an ``HttpOnly``,
``SameSite=Strict`` cookie) and sees only its own jobs; the local admin key, made at first
start in ``ingress.auth.local_key_file`` (mode 0600), is what the CLI on this machine sends.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serve_app.config import AuthConfig, RateLimitConfig, is_loopback
from serve_app.http.middleware import send_error
from serve_app.http.ratelimit import RateLimiter
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


NOBODY = Principal(name=None, admin=False)
"""A caller of the public paths (health, docs, the page) with auth on: owns no job."""
LOCAL_ADMIN = "local"
"""The name of the local admin key (auth off)."""
ANON_COOKIE = "transcribe_anon"
ANON_COOKIE_MAX_AGE_S = 365 * 24 * 3600


def load_local_key(path: Path) -> str:
    """The local admin key in ``path``, made (random, mode 0600) if the file is missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # another process made it a moment ago: wait for its write
            key = path.read_text().strip()
            if key:
                return key
            time.sleep(0.02)
        raise ValueError(f"{path} is empty: delete it to have a new local key made") from None
    key = "local-" + secrets.token_urlsafe(32)
    with os.fdopen(fd, "w") as f:
        f.write(key + "\n")
    return key


class AnonymousIdentity:
    """Per-browser identities with auth off: ``<id>.<signature>`` cookies, so only ids this
    server issued count (a made-up cookie is a stranger, never someone's identity)."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _sign(self, ident: str) -> str:
        return hmac.new(self._secret, ident.encode(), hashlib.sha256).hexdigest()[:32]

    def issue(self) -> tuple[str, str]:
        """A new identity: (principal name, cookie value)."""
        ident = secrets.token_urlsafe(18)
        return f"anon:{ident}", f"{ident}.{self._sign(ident)}"

    def verify(self, value: str) -> str | None:
        """The principal name of a cookie this server issued, else None."""
        ident, _, signature = value.partition(".")
        if len(ident) != 24 or not hmac.compare_digest(signature, self._sign(ident)):
            return None
        return f"anon:{ident}"

    @staticmethod
    def set_cookie(value: str, secure: bool) -> bytes:
        attributes = f"Path=/; Max-Age={ANON_COOKIE_MAX_AGE_S}; HttpOnly; SameSite=Strict"
        return f"{ANON_COOKIE}={value}; {attributes}{'; Secure' if secure else ''}".encode()


def caller_identity(conn: HTTPConnection | Scope) -> str:
    """Who is calling, for per-caller budgets (rate limits, live streams): ``key:<name>``
    for an API key (or the local key), ``anon:<id>`` for a browser's anonymous identity, and
    ``addr:<client address>`` for a caller with neither (it could start a new identity on
    every request)."""
    scope = conn.scope if isinstance(conn, HTTPConnection) else conn
    caller = scope.get("state", {}).get("caller")
    if caller:
        return str(caller)
    client = scope.get("client") or ("", 0)
    return f"addr:{client[0]}"


def _cookie(scope: Scope, name: str) -> str | None:
    for key, value in scope.get("headers") or []:
        if key == b"cookie":
            for pair in value.decode("latin-1").split(";"):
                cookie, _, content = pair.strip().partition("=")
                if cookie == name:
                    return content
    return None


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


class KeyRing:
    """Name and admin flag per key digest; lookups compare every digest in constant time."""

    def __init__(self, entries: list[tuple[str, bytes, bool]]) -> None:
        self._entries = entries

    def __len__(self) -> int:
        return len(self._entries)

    @classmethod
    def local(cls, key: str) -> KeyRing:
        """Only the local admin key (auth off)."""
        return cls([(LOCAL_ADMIN, _digest(key), True)])

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


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or []:
        if key == name:
            return str(value.decode("latin-1"))
    return None


class AuthMiddleware:
    """Sets ``scope["state"]["principal"]`` and ``["caller"]``; refuses missing or wrong keys
    (401) and callers past their rate limit (429, ``Retry-After``).

    With auth off (``anonymous`` given), a key is optional: the local key is the admin, and
    a caller without one is the browser its cookie names, or a new anonymous identity whose
    cookie goes out with the response."""

    def __init__(
        self,
        app: ASGIApp,
        enabled: bool,
        keys: KeyRing,
        rate_limit: RateLimitConfig,
        anonymous: AnonymousIdentity | None = None,
    ) -> None:
        self.app, self.enabled, self.keys, self.anonymous = app, enabled, keys, anonymous
        self.bucket = RateLimiter(rate_limit) if rate_limit.enabled else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        request_id = state.get("request_id", "")
        websocket = scope["type"] == "websocket"
        public, key = self._public(scope), self._key(scope)
        if self.anonymous is not None and not public and not _loopback_listener(scope):
            # Auth off behind a listener others can reach (``serve deploy`` with host 0.0.0.0):
            # the Host header is the caller's to choose, so this is where anonymity stops.
            await _refuse_exposed(scope, send, request_id)
            return
        principal, caller = NOBODY, None
        if key is not None or (self.enabled and not public):
            found = self.keys.authenticate(key or "")
            if found is None and not public:
                if websocket:
                    await send({"type": "websocket.close", "code": 1008})
                    return
                await self._refuse(send, request_id)
                return
            if found is not None:
                principal, caller = found, f"key:{found.name}"
        if self.anonymous is not None and caller is None:
            name = self.anonymous.verify(_cookie(scope, ANON_COOKIE) or "")
            if name is None:
                name, value = self.anonymous.issue()
                if not websocket:
                    secure = scope.get("scheme") == "https"
                    cookie = self.anonymous.set_cookie(value, secure)
                    send = _with_header(send, b"set-cookie", cookie)
            else:
                caller = name
            principal = Principal(name=name, admin=False)
        state["principal"] = principal
        if caller is not None:
            state["caller"] = caller
        if self.bucket is not None and scope["path"] != "/health":
            wait = await self.bucket.take(caller_identity(scope))
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


def _loopback_listener(scope: Scope) -> bool:
    server = scope.get("server")
    return server is None or is_loopback(str(server[0]))


async def _refuse_exposed(scope: Scope, send: Send, request_id: str) -> None:
    detail = (
        "API keys are off (ingress.auth) but this server listens on an address other machines "
        "can reach: set ingress.auth.enabled: true and give keys (docs/security.md)"
    )
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1011})
        return
    await send_error(send, 503, detail, "auth_required", request_id)


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
