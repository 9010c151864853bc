"""``/v1/realtime?intent=transcription``: OpenAI-Realtime-compatible transcription sessions.

HTTP only: accept the WebSocket, apply the session caps, read JSON events and hand them to
:class:`~serve_app.realtime.session.RealtimeSession`; whatever goes wrong with one event is
an ``error`` event, never a 500 or a dropped socket. Auth, Host and Origin checks are the
middleware's (an ``Authorization: Bearer`` header, or the browser's ``bearer.<key>``
subprotocol beside ``transcribe``). docs/realtime.md describes the protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import Counter
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.datastructures import State

from serve_app.errors import AppError
from serve_app.http.auth import WS_PROTOCOL, caller_identity
from serve_app.http.deps import PrincipalDep
from serve_app.http.streams import CLOSE_TRY_AGAIN_LATER, LiveStreams
from serve_app.realtime import protocol as p
from serve_app.realtime.session import RealtimeServices, RealtimeSession, SessionClosed
from serve_app.realtime.settings import RealtimeConfig

logger = logging.getLogger("ray.serve")
router = APIRouter(prefix="/v1", tags=["openai"])

CLOSE_POLICY = 1008
REALTIME_PROTOCOL = "realtime"
"""The subprotocol OpenAI's browser examples offer; selected when offered."""


class RealtimeSessions:
    """Open realtime sessions of this replica, in all and per caller (one event loop)."""

    def __init__(self, config: RealtimeConfig) -> None:
        self.config = config
        self.open: Counter[str] = Counter()

    def acquire(self, caller: str) -> str | None:
        if self.open[caller] >= self.config.max_sessions_per_caller:
            return (
                f"too many realtime sessions for this caller ({self.config.max_sessions_per_caller}"
                " open; ingress.realtime.max_sessions_per_caller)"
            )
        if sum(self.open.values()) >= self.config.max_sessions:
            return (
                f"too many realtime sessions on this server ({self.config.max_sessions} open); "
                "retry later"
            )
        self.open[caller] += 1
        return None

    def release(self, caller: str) -> None:
        self.open[caller] -= 1
        if self.open[caller] <= 0:
            del self.open[caller]


def _sessions(state: State, config: RealtimeConfig) -> RealtimeSessions:
    sessions: RealtimeSessions | None = getattr(state, "realtime_sessions", None)
    if sessions is None:
        sessions = state.realtime_sessions = RealtimeSessions(config)
    return sessions


async def _refuse(websocket: WebSocket, exc: p.ProtocolError, code: int) -> None:
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
        await websocket.send_json(p.ErrorEvent.of(exc).model_dump(mode="json"))
        await websocket.close(code=code, reason=exc.message[:120])


@router.websocket("/realtime")
async def realtime(websocket: WebSocket, principal: PrincipalDep) -> None:
    """A transcription session: ``session.update``, ``input_audio_buffer.append`` /
    ``commit`` / ``clear`` in; ``session.created``, speech and transcription events out."""
    offered = [s.strip() for s in websocket.headers.get("sec-websocket-protocol", "").split(",")]
    chosen = next((s for s in (WS_PROTOCOL, REALTIME_PROTOCOL) if s in offered), None)
    await websocket.accept(subprotocol=chosen)
    config: RealtimeConfig = websocket.app.state.settings.realtime
    services: RealtimeServices | None = getattr(websocket.app.state, "realtime", None)
    intent = websocket.query_params.get("intent", "transcription")
    if not config.enabled or services is None:
        error = p.ProtocolError(
            "realtime transcription is not enabled on this server (ingress.realtime.enabled)",
            code="realtime_disabled",
        )
        await _refuse(websocket, error, CLOSE_POLICY)
        return
    if intent != "transcription":
        error = p.ProtocolError(
            f"intent {intent!r} is not supported: this server runs intent=transcription only",
            param="intent",
        )
        await _refuse(websocket, error, CLOSE_POLICY)
        return
    caller = caller_identity(websocket)
    streams: LiveStreams = websocket.app.state.live_streams
    sessions = _sessions(websocket.app.state, config)
    refused = sessions.acquire(caller)
    if refused is None:
        refused = streams.acquire(caller)
        if refused is not None:
            sessions.release(caller)
    if refused is not None:
        busy = p.ProtocolError(refused, code="rate_limit_exceeded")
        await _refuse(websocket, busy, CLOSE_TRY_AGAIN_LATER)
        return
    try:
        await _run(websocket, services, config, principal.name)
    finally:
        streams.release(caller)
        sessions.release(caller)


async def _run(
    websocket: WebSocket, services: RealtimeServices, config: RealtimeConfig, owner: str | None
) -> None:
    lock = asyncio.Lock()
    gone = False

    async def send(event: dict[str, Any]) -> None:
        nonlocal gone
        if gone:
            return
        async with lock:
            try:
                await websocket.send_text(json.dumps(event))
            except Exception:  # the client went away; the session still finishes its job
                gone = True

    model = websocket.query_params.get("model")
    try:
        session = RealtimeSession(services, send, owner, _local_model(services, model))
        await session.start()
    except AppError as exc:
        await _refuse(websocket, p.ProtocolError(exc.message, param="model"), CLOSE_POLICY)
        return
    close_code = 1000
    ends_at = time.monotonic() + config.max_session_s
    try:
        while True:
            try:
                message = await asyncio.wait_for(websocket.receive(), ends_at - time.monotonic())
            except TimeoutError:
                expired = p.ProtocolError(
                    f"the session reached its maximum length of {config.max_session_s:g} s "
                    "(ingress.realtime.max_session_s)",
                    code="session_expired",
                    fatal=True,
                )
                await session.error(expired)
            if message["type"] == "websocket.disconnect":
                gone = True
                break
            await _dispatch(session, message, config)
    except SessionClosed:
        close_code = CLOSE_POLICY
    except WebSocketDisconnect:
        gone = True
    finally:
        # Shielded: a client that vanishes must still leave a finished job.
        await asyncio.shield(session.close())
    if not gone:
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close(code=close_code)


def _local_model(services: RealtimeServices, model: str | None) -> str | None:
    """The ``model`` query parameter when it names a model of this server (OpenAI's
    realtime model names there mean the default)."""
    if not model or model.startswith(p.OPENAI_MODELS_PREFIX):
        return None
    return model


async def _dispatch(session: RealtimeSession, message: Any, config: RealtimeConfig) -> None:
    text = message.get("text")
    if text is None:
        data = message.get("bytes") or b""
        if len(data) > config.max_frame_bytes:
            await session.error(_too_big(len(data), config))
            return
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            await session.error(p.ProtocolError("binary frames must be UTF-8 JSON events"))
            return
    if len(text) > config.max_frame_bytes:
        await session.error(_too_big(len(text), config))
        return
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        await session.error(p.ProtocolError(f"not JSON: {exc}", code="invalid_json"))
        return
    await session.handle(data)


def _too_big(size: int, config: RealtimeConfig) -> p.ProtocolError:
    return p.ProtocolError(
        f"message of {size} bytes is larger than {config.max_frame_bytes} "
        "(ingress.realtime.max_frame_bytes): send audio in smaller appends",
        code="message_too_large",
    )
