"""Pure-ASGI middleware: request id and timing on every response, and a bounded body.

Both are pure ASGI (not ``BaseHTTPMiddleware``) so they see every response, including the
500s they produce themselves for unhandled errors, and never buffer bodies.
"""

from __future__ import annotations

import json
import logging
import time
import uuid

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serve_app.errors import PayloadTooLargeError

logger = logging.getLogger("ray.serve")

REQUEST_ID_HEADER = "x-request-id"
DEFAULT_PORTS = {"http": 80, "https": 443}


async def send_error(send: Send, status: int, detail: str, code: str, request_id: str) -> None:
    """Send the error envelope (``serve_app.http.schemas.ErrorResponse``) from plain ASGI code."""
    kind = "server_error" if status >= 500 else "invalid_request_error"
    body = json.dumps(
        {
            "detail": detail,
            "code": code,
            "request_id": request_id,
            "error": {"message": detail, "type": kind, "code": code, "param": None},
        }
    ).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class RequestContextMiddleware:
    """Echoes or assigns ``X-Request-ID``, adds ``X-Process-Time-Ms``, turns crashes into 500s.

    Behind Ray Serve the proxy already echoes or assigns ``X-Request-ID`` on every response
    (and passes it in the request headers), so ``echo_request_id=False`` there avoids a
    duplicate header while the id stays the same one.
    """

    def __init__(self, app: ASGIApp, echo_request_id: bool = True) -> None:
        self.app = app
        self.echo_request_id = echo_request_id

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        incoming = headers.get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1").strip()
        request_id = incoming[:128] or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        response_started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
                elapsed = f"{(time.perf_counter() - started) * 1000:.1f}"
                extra = [(b"x-process-time-ms", elapsed.encode())]
                if self.echo_request_id:
                    extra.append((b"x-request-id", request_id.encode("latin-1")))
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            logger.exception("unhandled error (request %s)", request_id)
            if response_started:
                raise
            await send_error(
                send_with_headers, 500, "Internal server error", "internal_error", request_id
            )


class BodySizeLimitMiddleware:
    """Refuses bodies above the limit with 413, by header or while streaming them in: uploads
    (``multipart/form-data``) have one limit, every other body (JSON, or any other type, or
    none) the smaller ``max_json_bytes``.

    The body is never read past the limit, so an oversized body costs no memory.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, max_json_bytes: int | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_json_bytes = max_json_bytes or max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        media_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        upload = media_type == b"multipart/form-data"
        limit = self.max_bytes if upload else self.max_json_bytes
        kind = "Upload" if upload else "JSON body" if media_type.endswith(b"json") else "Body"
        message = f"{kind} too large: the limit is {limit / 1e6:g} MB"
        if not upload:
            message += " (uploads go as multipart/form-data)"
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            request_id = scope.get("state", {}).get("request_id", "")
            await send_error(send, 413, message, PayloadTooLargeError.code, request_id)
            return
        received = 0

        async def bounded_receive() -> Message:
            nonlocal received
            msg = await receive()
            if msg["type"] == "http.request":
                received += len(msg.get("body", b""))
                if received > limit:
                    # An HTTPException survives FastAPI's body parsing (which turns other
                    # errors into 400) and reaches the error handlers as a 413.
                    raise HTTPException(413, detail=message)
            return msg

        await self.app(scope, bounded_receive, send)


def split_host(value: str) -> tuple[str, int | None]:
    """``name[:port]`` (``[v6]:port`` too) lower-cased, and its port (None: none given)."""
    value = value.strip().lower()
    name, sep, port = value.rpartition(":")
    if sep and port.isdigit() and (not name.startswith("[") or name.endswith("]")):
        return name, int(port)
    return value, None


class HostOriginMiddleware:
    """Answers only the names of ``allowed_hosts`` and refuses other web origins.

    - ``Host`` not in the allow-list: 421 (a WebSocket is closed before it is accepted, which
      the server sends as HTTP 403). A page on a rebinding DNS name that resolves to this
      server reaches nothing, even though the browser thinks it is same-origin.
    - ``Origin`` present and neither this server's own (scheme-less ``host:port`` equal to
      ``Host``) nor listed in ``cors_origins``: 403, preflights included; a WebSocket is
      closed before accept. Clients that send no ``Origin`` (curl, the CLI) are not browsers
      running someone else's page, and pass.

    Entries are ``name`` (any port) or ``name:port``; ``*`` allows any host (only behind a
    proxy that checks the name itself).
    """

    def __init__(self, app: ASGIApp, allowed_hosts: list[str], origins: list[str]) -> None:
        self.app = app
        self.any_host = "*" in allowed_hosts
        self.hosts = {split_host(h) for h in allowed_hosts if h != "*"}
        self.origins = {o.strip().rstrip("/").lower() for o in origins}

    def host_allowed(self, host: str) -> bool:
        if self.any_host:
            return True
        name, port = split_host(host)
        return bool(name) and ((name, None) in self.hosts or (name, port) in self.hosts)

    def origin_allowed(self, origin: str, host: str) -> bool:
        origin = origin.strip().rstrip("/").lower()
        if origin in self.origins:
            return True
        scheme, sep, rest = origin.partition("://")
        default = DEFAULT_PORTS.get(scheme)
        if not sep or default is None:
            return False  # "null" (sandboxed frames, files) and other schemes
        (name, port), (host_name, host_port) = split_host(rest), split_host(host)
        return name == host_name and (port or default) == (host_port or default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        host = origin = None
        for key, value in scope.get("headers") or []:
            if key == b"host":
                host = value.decode("latin-1")
            elif key == b"origin":
                origin = value.decode("latin-1")
        refusal: tuple[int, str, str] | None = None
        if not self.host_allowed(host or ""):
            logger.warning("refused Host %r (ingress.allowed_hosts)", (host or "")[:100])
            refusal = (
                421,
                f"This server does not answer to the name {(host or '')[:100]!r}; "
                "ingress.allowed_hosts lists the names it does",
                "misdirected_request",
            )
        elif origin is not None and not self.origin_allowed(origin, host or ""):
            refusal = (
                403,
                f"Requests from pages on {origin[:100]!r} are not allowed; "
                "ingress.cors_origins lists the origins that may call this API",
                "forbidden_origin",
            )
        if refusal is not None:
            # A WebSocket is closed before accept; an HTTP request gets the error envelope.
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
            else:
                request_id = scope.get("state", {}).get("request_id", "")
                await send_error(send, refusal[0], refusal[1], refusal[2], request_id)
            return
        await self.app(scope, receive, send)
