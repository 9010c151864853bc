"""What ``transcribe stream FILE --realtime`` shows while the file streams.

On a terminal: a rich ``Live`` view on stderr with the completed lines (speaker and times)
and the utterance being spoken, greyed, as its partial text grows. Elsewhere (a log, a
pipe): each partial as a ``partial:`` line on stderr. Completed lines go to stdout as they
complete, and the job id the session was saved as is the last line of stdout.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.text import Text

from serve_app.client.realtime import (
    COMPLETED,
    DELTA,
    END_COMMIT,
    RATE,
    RealtimeTranscript,
    SessionRun,
    Utterance,
    decode_pcm16,
    stream_pcm,
)

LIVE_LINES = 20
"""On a terminal: the last this many completed lines stay in view."""


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "--:--:--.---"
    ms = max(0, round(seconds * 1000))
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, ms = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{ms:03d}"


def utterance_line(u: Utterance) -> str:
    """``[HH:MM:SS.mmm -> HH:MM:SS.mmm] SPEAKER: text`` of a completed utterance."""
    speaker = f"{u.speaker}: " if u.speaker else ""
    return f"[{_clock(u.start_s)} -> {_clock(u.end_s)}] {speaker}{u.text or ''}"


def stream_file(
    base_url: str,
    api_key: str | None,
    path: Path,
    out: Console,
    err: Console,
    *,
    model: str | None = None,
    language: str | None = None,
    speed: float = 1.0,
) -> SessionRun:
    """Stream ``path`` through a realtime session, showing it as it goes; returns the run."""
    pcm = decode_pcm16(path, RATE)
    transcript = RealtimeTranscript()
    shown: list[Utterance] = []
    live_view: list[Live] = []

    def view() -> Group:
        lines = [Text(utterance_line(u)) for u in shown[-LIVE_LINES:]]
        lines += [Text("… " + u.partial.strip(), style="dim") for u in transcript.open if u.partial]
        return Group(*lines)

    def on_event(event: dict[str, Any], changed: Utterance | None) -> None:
        kind = event.get("type")
        if kind in ("session.created", "transcription_session.created"):
            err.print(f"job {transcript.job_id}", highlight=False)
        elif kind == "error" and (event.get("error") or {}).get("event_id") != END_COMMIT:
            message = (event.get("error") or {}).get("message", "")
            err.print(f"error: {message}", highlight=False, markup=False)
        elif kind == DELTA and changed is not None and not err.is_terminal:
            err.print(f"partial: {changed.partial.strip()}", highlight=False, markup=False)
        elif kind == COMPLETED and changed is not None:
            shown.append(changed)
            out.print(utterance_line(changed), highlight=False, markup=False, soft_wrap=True)
        for live in live_view:
            live.update(view())

    # Not a terminal: no redrawing, the lines above are the whole display.
    with Live(Group(), console=err, transient=True, auto_refresh=err.is_terminal) as live:
        if err.is_terminal:
            live_view.append(live)
        return asyncio.run(
            stream_pcm(
                base_url,
                api_key,
                pcm,
                speed=speed,
                model=model,
                language=language,
                on_event=on_event,
                transcript=transcript,
            )
        )
