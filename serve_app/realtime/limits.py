"""The limits of a realtime session's audio (``ingress.realtime``): its length, how far it
may run ahead of the clock, and how much finished speech may wait for the ASR."""

from __future__ import annotations

from serve_app.realtime import protocol as p
from serve_app.realtime.settings import RealtimeConfig


def check_limits(
    cfg: RealtimeConfig,
    received_s: float,
    elapsed_s: float,
    backlog_s: float,
    event_id: str | None,
) -> None:
    """Raise a fatal :class:`~serve_app.realtime.protocol.ProtocolError` when an append
    would break a limit (``received_s``: audio so far with it, ``elapsed_s``: wall clock since
    the first append, ``backlog_s``: finished speech not yet transcribed)."""
    if received_s > cfg.max_session_s or elapsed_s > cfg.max_session_s:
        raise p.ProtocolError(
            f"the session reached its maximum length of {cfg.max_session_s:g} s "
            "(ingress.realtime.max_session_s)",
            code="session_expired",
            fatal=True,
            event_id=event_id,
        )
    if received_s > elapsed_s + cfg.max_ahead_s:
        raise p.ProtocolError(
            f"audio is arriving faster than real time: {received_s:.1f} s received in "
            f"{elapsed_s:.1f} s (at most {cfg.max_ahead_s:g} s ahead is allowed)",
            code="back_pressure",
            fatal=True,
            event_id=event_id,
        )
    if backlog_s > cfg.max_backlog_s:
        raise p.ProtocolError(
            f"transcription is {backlog_s:.0f} s of audio behind "
            "this client; send audio at real time",
            code="back_pressure",
            fatal=True,
            event_id=event_id,
        )
