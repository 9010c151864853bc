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
    """Refuses bodies above the limit with 413, by header or while streaming them in: JSON
    bodies (summary, chat, re-transcription) have a limit of their own, uploads another.

    The body is never read past the limit, so an oversized upload costs no memory.
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
        is_json = headers.get(b"content-type", b"").split(b";")[0].strip().endswith(b"json")
        limit = self.max_json_bytes if is_json else self.max_bytes
        kind = "JSON body" if is_json else "Upload"
        message = f"{kind} too large: the limit is {limit / 1e6:g} MB"
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
