"""A client of the realtime transcription WebSocket (``/v1/realtime?intent=transcription``).

It speaks OpenAI's Realtime transcription-session events: the audio goes up as
``input_audio_buffer.append`` events (base64 pcm16, mono, 24 kHz by default) in frames of
100-200 ms, paced at real time (or ``speed`` times faster); the server answers with
``input_audio_buffer.speech_started`` / ``speech_stopped`` / ``committed`` and
``conversation.item.input_audio_transcription.delta`` / ``.completed`` (ours carry the
speaker as an extra field), and ``session.created`` names the job the session is saved as.

``transcribe stream FILE --realtime`` (serve_app/client/cli.py) and bench/realtime.py both
use :func:`stream_pcm`; :class:`RealtimeTranscript` holds what the events said, with the
monotonic time each one arrived, so the bench can measure latencies against the audio's
own clock.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RATE = 24000
"""The sample rate OpenAI's Realtime API takes pcm16 at (16000 is accepted too)."""
FRAME_MS = 100
"""Audio per ``input_audio_buffer.append``: 100 ms, as a microphone client sends it."""
DRAIN_S = 60.0
"""After the last frame, how long to wait at most for every utterance's ``completed``."""
PATH = "/v1/realtime?intent=transcription"
END_COMMIT = "evt_client_end_commit"
"""``event_id`` of the commit sent after the last frame. The server handles events in order,
so its answer (``committed``, or the error that nothing was left to commit, which is
expected then) means it has taken in all the audio."""

DELTA = "conversation.item.input_audio_transcription.delta"
COMPLETED = "conversation.item.input_audio_transcription.completed"
SPEAKER = "conversation.item.input_audio_transcription.speaker"
FAILED = "conversation.item.input_audio_transcription.failed"


class RealtimeError(Exception):
    """The session could not start or was closed on an error."""


def decode_pcm16(path: Path, rate: int = RATE) -> bytes:
    """The audio of ``path`` (any format PyAV reads) as pcm16 mono little-endian at ``rate``."""
    import av

    resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
    out = bytearray()
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise RealtimeError(f"{path} has no audio stream")
            stream = container.streams.audio[0]
            for frame in container.decode(stream):
                for piece in resampler.resample(frame):
                    out += _plane(piece)
            for piece in resampler.resample(None):
                out += _plane(piece)
    except av.FFmpegError as exc:
        raise RealtimeError(f"cannot decode {path}: {exc}") from exc
    return bytes(out)


def _plane(frame: Any) -> bytes:
    # Packed s16 mono: one plane; its buffer may be padded past the samples.
    return bytes(frame.planes[0])[: frame.samples * 2]


def pcm16_frames(pcm: bytes, rate: int = RATE, frame_ms: int = FRAME_MS) -> Iterator[bytes]:
    """``pcm`` cut into frames of ``frame_ms`` (whole samples; the last one may be shorter)."""
    if not 10 <= frame_ms <= 1000:
        raise ValueError("frame_ms must be between 10 and 1000")
    size = rate * frame_ms // 1000 * 2
    for start in range(0, len(pcm), size):
        yield pcm[start : start + size]


def append_event(frame: bytes) -> dict[str, Any]:
    """One ``input_audio_buffer.append`` client event."""
    return {"type": "input_audio_buffer.append", "audio": base64.b64encode(frame).decode("ascii")}


def session_update(
    rate: int = RATE,
    model: str | None = None,
    language: str | None = None,
    turn_detection: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``session.update`` (the GA shape): pcm16 at ``rate``, server VAD unless
    ``turn_detection`` says otherwise."""
    transcription: dict[str, Any] = {}
    if model:
        transcription["model"] = model
    if language:
        transcription["language"] = language
    audio_input: dict[str, Any] = {
        "format": {"type": "audio/pcm", "rate": rate},
        "turn_detection": turn_detection or {"type": "server_vad"},
    }
    if transcription:
        audio_input["transcription"] = transcription
    return {
        "type": "session.update",
        "session": {"type": "transcription", "audio": {"input": audio_input}},
    }


def realtime_url(base_url: str) -> str:
    """``http(s)://host`` -> ``ws(s)://host/v1/realtime?intent=transcription``."""
    base = base_url.rstrip("/")
    for plain, secure in (("http://", "ws://"), ("https://", "wss://")):
        if base.startswith(plain):
            return secure + base[len(plain) :] + PATH
    return base + PATH


@dataclass
class Utterance:
    """One committed (or still open) stretch of speech: the server's item."""

    item_id: str
    start_s: float | None = None
    """Where speech started, in the session's audio (``audio_start_ms``)."""
    end_s: float | None = None
    """Where it stopped (``audio_end_ms``)."""
    speech_start_s: float | None = None
    """``audio_start_ms`` of ``speech_started``, kept when ``completed`` moves ``start_s``."""
    speech_end_s: float | None = None
    """``audio_end_ms`` of ``speech_stopped``: where the speaker stopped."""
    partial: str = ""
    text: str | None = None
    """The completed text; ``None`` until ``completed`` arrives."""
    speaker: str | None = None
    first_delta_at: float | None = None
    """``time.monotonic()`` when each event arrived, for latency figures."""
    stopped_at: float | None = None
    completed_at: float | None = None

    @property
    def done(self) -> bool:
        return self.text is not None


@dataclass
class RealtimeTranscript:
    """What one session's server events said, applied in order."""

    job_id: str | None = None
    session: dict[str, Any] = field(default_factory=dict)
    utterances: dict[str, Utterance] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    end_answered: bool = False
    """The server answered the :data:`END_COMMIT` commit."""

    def _item(self, event: dict[str, Any]) -> Utterance:
        item_id = str(event.get("item_id") or "")
        if item_id not in self.utterances:
            self.utterances[item_id] = Utterance(item_id)
        return self.utterances[item_id]

    def apply(self, event: dict[str, Any], at: float | None = None) -> Utterance | None:
        """Take one server event (arrived at monotonic ``at``); returns the utterance it
        changed, if any."""
        now = time.monotonic() if at is None else at
        kind = event.get("type")
        if kind in ("session.created", "transcription_session.created"):
            self.session = dict(event.get("session") or {})
            self.job_id = event.get("job_id") or self.session.get("job_id") or self.job_id
            return None
        if kind == "error":
            error = dict(event.get("error") or {})
            if error.get("event_id") == END_COMMIT:
                self.end_answered = True
            else:
                self.errors.append(error)
            return None
        if kind == "input_audio_buffer.committed":
            u = self._item(event)
            # A commit of turn detection follows its speech_stopped; one without answers
            # a client's commit, and this client commits only at the end.
            self.end_answered = self.end_answered or u.speech_end_s is None
            return u
        if kind == "input_audio_buffer.speech_started":
            u = self._item(event)
            u.start_s = u.speech_start_s = _seconds(event.get("audio_start_ms"))
            return u
        if kind == "input_audio_buffer.speech_stopped":
            u = self._item(event)
            u.end_s = u.speech_end_s = _seconds(event.get("audio_end_ms"))
            u.stopped_at = now
            return u
        if kind == DELTA:
            u = self._item(event)
            u.partial += str(event.get("delta") or "")
            if u.first_delta_at is None:
                u.first_delta_at = now
            return u
        if kind == COMPLETED:
            u = self._item(event)
            u.text = str(event.get("transcript") or "").strip()
            u.speaker = event.get("speaker") or u.speaker
            # Extra fields of this server: where the utterance lies in the session's audio.
            if event.get("start") is not None:
                u.start_s = float(event["start"])
            if event.get("end") is not None:
                u.end_s = float(event["end"])
            u.completed_at = now
            return u
        if kind == SPEAKER:  # ours: the speaker of an item completed before it was known
            u = self._item(event)
            u.speaker = event.get("speaker") or u.speaker
            return u
        if kind == FAILED:
            u = self._item(event)
            u.text = ""
            u.completed_at = now
            self.errors.append(dict(event.get("error") or {}))
            return u
        return None

    @property
    def open(self) -> list[Utterance]:
        """Utterances whose speech started and whose text has not completed."""
        return [u for u in self.utterances.values() if not u.done]

    @property
    def completed(self) -> list[Utterance]:
        return [u for u in self.utterances.values() if u.done]

    def text(self) -> str:
        """The completed utterances' text, in the order they were spoken."""
        ordered = sorted(self.completed, key=lambda u: u.start_s or 0.0)
        return " ".join(u.text for u in ordered if u.text)


def _seconds(ms: Any) -> float | None:
    return None if ms is None else float(ms) / 1000.0


@dataclass
class SessionRun:
    """One streamed session: the transcript and the clock the audio was sent on."""

    transcript: RealtimeTranscript
    started_at: float
    """``time.monotonic()`` when the first frame was sent."""
    speed: float
    audio_s: float
    closed_reason: str = ""

    def sent_at(self, audio_s: float) -> float:
        """When the audio at ``audio_s`` was sent (monotonic)."""
        return self.started_at + audio_s / self.speed


def _auth(api_key: str | None) -> tuple[dict[str, str], list[str]]:
    if not api_key:
        return {}, []
    return {"Authorization": f"Bearer {api_key}"}, []


async def stream_pcm(
    base_url: str,
    api_key: str | None,
    pcm: bytes,
    *,
    rate: int = RATE,
    frame_ms: int = FRAME_MS,
    speed: float = 1.0,
    model: str | None = None,
    language: str | None = None,
    on_event: Callable[[dict[str, Any], Utterance | None], None] | None = None,
    transcript: RealtimeTranscript | None = None,
    drain_s: float = DRAIN_S,
) -> SessionRun:
    """Send ``pcm`` through one realtime session, paced at ``speed`` times real time, and
    collect the server's events until every utterance has completed (or ``drain_s`` after
    the last frame); then close, which saves the session's job. The events are applied to
    ``transcript`` (a new one when not given) and then passed to ``on_event``."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed, InvalidStatus

    if speed <= 0:
        raise ValueError("speed must be positive")
    headers, protocols = _auth(api_key)
    transcript = transcript if transcript is not None else RealtimeTranscript()
    frames = list(pcm16_frames(pcm, rate, frame_ms))
    run = SessionRun(transcript, time.monotonic(), speed, len(pcm) / 2 / rate)
    created = asyncio.Event()

    async def receive(ws: Any) -> None:
        async for raw in ws:
            event = json.loads(raw)
            changed = transcript.apply(event, time.monotonic())
            if transcript.job_id:
                created.set()
            if on_event:
                on_event(event, changed)

    async def send(ws: Any) -> None:
        await ws.send(json.dumps(session_update(rate, model, language)))
        await asyncio.wait_for(created.wait(), timeout=30)
        run.started_at = time.monotonic()
        for k, frame in enumerate(frames):
            delay = run.started_at + k * frame_ms / 1000 / speed - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await ws.send(json.dumps(append_event(frame)))
        # Commit what is left; once that is answered, every utterance is known: wait for
        # their text.
        await ws.send(json.dumps({"type": "input_audio_buffer.commit", "event_id": END_COMMIT}))
        deadline = time.monotonic() + drain_s
        while (not transcript.end_answered or transcript.open) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)

    try:
        async with connect(
            realtime_url(base_url),
            additional_headers=headers,
            subprotocols=protocols or None,  # type: ignore[arg-type]
            max_size=2**22,
            open_timeout=30,
        ) as ws:
            receiver = asyncio.create_task(receive(ws))
            sender = asyncio.create_task(send(ws))
            done, _ = await asyncio.wait({receiver, sender}, return_when=asyncio.FIRST_COMPLETED)
            if sender in done:
                sender.result()  # raise what went wrong in sending
            else:
                sender.cancel()
                run.closed_reason = "the server closed the session"
            await ws.close()
            with contextlib.suppress(ConnectionClosed, asyncio.CancelledError):
                await receiver
    except InvalidStatus as exc:
        raise RealtimeError(
            f"the server refused the session (HTTP {exc.response.status_code}: "
            f"{exc.response.body.decode('utf-8', 'replace').strip()[:300]})"
        ) from exc
    except (OSError, TimeoutError) as exc:
        raise RealtimeError(f"cannot stream to {base_url}: {exc}") from exc
    except ConnectionClosed as exc:
        run.closed_reason = f"connection closed ({exc})"
    if not transcript.job_id:
        detail = "; ".join(str(e.get("message")) for e in transcript.errors)
        raise RealtimeError(f"the session did not start: {detail or run.closed_reason}")
    return run
