"""The events of OpenAI's Realtime API that a transcription session uses, as pydantic models.

Client events are parsed leniently (fields this server does not use are ignored), in both
the GA shape (``session.update`` with ``session.audio.input``) and the beta shape
(``transcription_session.update`` with ``input_audio_format`` and
``input_audio_transcription``). Whatever is wrong with an event becomes a
:class:`ProtocolError`, which the session sends as an ``error`` event and carries on.

Server events follow OpenAI's shapes; the extra fields this server adds are documented in
docs/realtime.md: ``job_id`` on ``session.created``/``session.updated``, and ``speaker``,
``start``, ``end`` on ``...input_audio_transcription.completed``.
"""

from __future__ import annotations

import uuid
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

PCM_RATES = (24000, 16000)
"""Input sample rates: OpenAI's 24 kHz, and 16 kHz (what Whisper uses) as an extension."""
OPENAI_MODELS_PREFIX = "gpt-"
"""OpenAI's transcription model names (``gpt-4o-transcribe``...) mean the default model."""

SUPPORTED_CLIENT_EVENTS = (
    "session.update",
    "transcription_session.update",
    "input_audio_buffer.append",
    "input_audio_buffer.commit",
    "input_audio_buffer.clear",
)


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:20]}"


class ProtocolError(Exception):
    """A client event this server cannot apply; sent as an ``error`` event.

    ``fatal``: the session closes after sending it (limits, back-pressure)."""

    def __init__(
        self,
        message: str,
        code: str = "invalid_value",
        param: str | None = None,
        event_id: str | None = None,
        error_type: str = "invalid_request_error",
        fatal: bool = False,
    ) -> None:
        super().__init__(message)
        self.message, self.code, self.param = message, code, param
        self.event_id, self.error_type, self.fatal = event_id, error_type, fatal


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


# ---- session configuration ------------------------------------------------------------------


class TurnDetection(_Lenient):
    type: str = "server_vad"
    threshold: float | None = Field(None, gt=0, lt=1)
    prefix_padding_ms: int | None = Field(None, ge=0, le=2000)
    silence_duration_ms: int | None = Field(None, ge=100, le=5000)


class Transcription(_Lenient):
    model: str | None = None
    language: str | None = Field(None, max_length=16)
    prompt: str | None = Field(None, max_length=2000)


class AudioFormat(_Lenient):
    type: str = "audio/pcm"
    rate: int | None = None


class AudioInput(_Lenient):
    format: AudioFormat | None = None
    transcription: Transcription | None = None
    turn_detection: TurnDetection | None = None


class Audio(_Lenient):
    input: AudioInput | None = None


class SessionBody(_Lenient):
    """``session`` of an update, GA and beta fields together."""

    type: str | None = None
    audio: Audio | None = None
    # beta (transcription_session.update)
    input_audio_format: str | None = None
    input_audio_transcription: Transcription | None = None
    turn_detection: TurnDetection | None = None


class VadSettings(BaseModel):
    threshold: float
    prefix_padding_ms: int
    silence_duration_ms: int


class SessionSettings(BaseModel):
    """A session's effective settings (defaults from ``ingress.realtime``)."""

    rate: int = 24000
    model: str
    language: str | None = None
    prompt: str | None = None
    vad: VadSettings | None
    """``None``: turn detection off; the client commits each utterance."""

    def describe(self) -> dict[str, Any]:
        """The GA ``session`` object of ``session.created`` / ``session.updated``."""
        turn: dict[str, Any] | None = None
        if self.vad is not None:
            turn = {"type": "server_vad", **self.vad.model_dump()}
        return {
            "type": "transcription",
            "object": "realtime.transcription_session",
            "audio": {
                "input": {
                    "format": {"type": "audio/pcm", "rate": self.rate},
                    "transcription": {
                        "model": self.model,
                        "language": self.language,
                        "prompt": self.prompt,
                    },
                    "turn_detection": turn,
                    "noise_reduction": None,
                }
            },
        }


def apply_update(
    current: SessionSettings, body: dict[str, Any], event_id: str | None
) -> SessionSettings:
    """``current`` with a ``session`` object's changes; fields it leaves out stay as they
    are, and ``turn_detection: null`` turns detection off."""
    try:
        session = SessionBody.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        param = "session." + ".".join(str(p) for p in first["loc"])
        raise ProtocolError(f"{param}: {first['msg']}", param=param, event_id=event_id) from exc
    if session.type not in (None, "transcription"):
        raise ProtocolError(
            f"session.type {session.type!r}: this server only runs transcription sessions",
            param="session.type",
            event_id=event_id,
        )
    update: dict[str, Any] = {}
    audio_input = session.audio.input if session.audio else None
    fmt = audio_input.format if audio_input else None
    if session.input_audio_format is not None:  # beta
        if session.input_audio_format != "pcm16":
            raise ProtocolError(
                f"input_audio_format {session.input_audio_format!r} is not supported: send pcm16",
                param="session.input_audio_format",
                event_id=event_id,
            )
        update["rate"] = 24000
    if fmt is not None:
        if fmt.type != "audio/pcm" or (fmt.rate or 24000) not in PCM_RATES:
            raise ProtocolError(
                f"audio format {fmt.type} at {fmt.rate or 24000} Hz is not supported: send "
                "audio/pcm (16-bit little-endian mono) at 24000 or 16000 Hz",
                param="session.audio.input.format",
                event_id=event_id,
            )
        update["rate"] = fmt.rate or 24000
    transcription = (audio_input.transcription if audio_input else None) or (
        session.input_audio_transcription
    )
    if transcription is not None:
        for name in transcription.model_fields_set:
            update[name] = getattr(transcription, name)
        if not update.get("model", current.model):
            update["model"] = current.model
    turn_holder: BaseModel | None = None
    if audio_input is not None and "turn_detection" in audio_input.model_fields_set:
        turn_holder = audio_input
    elif "turn_detection" in session.model_fields_set:
        turn_holder = session
    if turn_holder is not None:
        turn: TurnDetection | None = getattr(turn_holder, "turn_detection")  # noqa: B009
        update["vad"] = _vad(turn, current.vad, event_id)
    return current.model_copy(update=update)


def _vad(
    turn: TurnDetection | None, current: VadSettings | None, event_id: str | None
) -> VadSettings | None:
    if turn is None:
        return None
    if turn.type != "server_vad":
        raise ProtocolError(
            f"turn_detection.type {turn.type!r} is not supported: use server_vad or null",
            param="session.audio.input.turn_detection.type",
            event_id=event_id,
        )
    base = current or VadSettings(threshold=0.5, prefix_padding_ms=300, silence_duration_ms=500)
    given = {k: v for k, v in turn.model_dump(exclude={"type"}).items() if v is not None}
    return base.model_copy(update=given)


# ---- client events ------------------------------------------------------------------------


class ClientEvent(_Lenient):
    type: str
    event_id: str | None = None


class SessionUpdate(ClientEvent):
    session: dict[str, Any]


class AppendAudio(ClientEvent):
    audio: str


def parse_client_event(data: Any) -> ClientEvent:
    """One client event from its decoded JSON; :class:`ProtocolError` if unusable."""
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise ProtocolError("expected a JSON object with a string 'type'", param="type")
    event_id = data.get("event_id") if isinstance(data.get("event_id"), str) else None
    kind = data["type"]
    model: type[ClientEvent]
    if kind in ("session.update", "transcription_session.update"):
        model = SessionUpdate
    elif kind == "input_audio_buffer.append":
        model = AppendAudio
    elif kind in SUPPORTED_CLIENT_EVENTS:
        model = ClientEvent
    else:
        raise ProtocolError(
            f"event type {kind!r} is not supported by this transcription server; supported: "
            + ", ".join(SUPPORTED_CLIENT_EVENTS),
            code="unsupported_event",
            param="type",
            event_id=event_id,
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        param = ".".join(str(p) for p in first["loc"])
        raise ProtocolError(
            f"{kind}: {param}: {first['msg']}", param=param, event_id=event_id
        ) from exc


# ---- server events ------------------------------------------------------------------------


class ServerEvent(BaseModel):
    event_id: str = Field(default_factory=lambda: new_id("event"))
    type: str


class ErrorDetail(BaseModel):
    type: str
    code: str | None = None
    message: str
    param: str | None = None
    event_id: str | None = None


class ErrorEvent(ServerEvent):
    type: Literal["error"] = "error"
    error: ErrorDetail

    @classmethod
    def of(cls, exc: ProtocolError) -> ErrorEvent:
        return cls(
            error=ErrorDetail(
                type=exc.error_type,
                code=exc.code,
                message=exc.message,
                param=exc.param,
                event_id=exc.event_id,
            )
        )


class SessionEvent(ServerEvent):
    """``session.created`` / ``session.updated`` (and ``transcription_session.updated``)."""

    session: dict[str, Any]
    job_id: str
    """Extra: the job this session is recorded as (``/api/transcribe/...``)."""


class SpeechStarted(ServerEvent):
    type: Literal["input_audio_buffer.speech_started"] = "input_audio_buffer.speech_started"
    audio_start_ms: int
    item_id: str


class SpeechStopped(ServerEvent):
    type: Literal["input_audio_buffer.speech_stopped"] = "input_audio_buffer.speech_stopped"
    audio_end_ms: int
    item_id: str


class Committed(ServerEvent):
    type: Literal["input_audio_buffer.committed"] = "input_audio_buffer.committed"
    item_id: str
    previous_item_id: str | None = None


class Cleared(ServerEvent):
    type: Literal["input_audio_buffer.cleared"] = "input_audio_buffer.cleared"


DELTA: Final = "conversation.item.input_audio_transcription.delta"
COMPLETED: Final = "conversation.item.input_audio_transcription.completed"
FAILED: Final = "conversation.item.input_audio_transcription.failed"


class TranscriptionDelta(ServerEvent):
    type: Literal["conversation.item.input_audio_transcription.delta"] = DELTA
    item_id: str
    content_index: int = 0
    delta: str


class DurationUsage(BaseModel):
    type: Literal["duration"] = "duration"
    seconds: float


class TranscriptionCompleted(ServerEvent):
    type: Literal["conversation.item.input_audio_transcription.completed"] = COMPLETED
    item_id: str
    content_index: int = 0
    transcript: str
    usage: DurationUsage
    speaker: str | None = None
    """Extra: who spoke the utterance when the session diarizes (an enrolled person's name,
    else ``SPEAKER_n``); null without diarization, for speech under 0.8 s, or when the voice
    was not embedded yet (a ``...transcription.speaker`` event follows)."""
    speaker_id: str | None = None
    """Extra: the enrolled person's id when ``speaker`` is a known speaker's name."""
    start: float
    """Extra: seconds from the start of the session's audio."""
    end: float


SPEAKER: Final = "conversation.item.input_audio_transcription.speaker"


class SpeakerFound(ServerEvent):
    """Extra (not OpenAI's): the speaker of an item whose ``completed`` event was sent
    before its voice was embedded (``completed`` never waits for the speaker)."""

    type: Literal["conversation.item.input_audio_transcription.speaker"] = SPEAKER
    item_id: str
    speaker: str
    speaker_id: str | None = None
    start: float
    end: float


class TranscriptionFailed(ServerEvent):
    type: Literal["conversation.item.input_audio_transcription.failed"] = FAILED
    item_id: str
    content_index: int = 0
    error: ErrorDetail
