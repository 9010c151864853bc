"""``ingress.realtime``: the realtime WebSocket's defaults and limits (docs/realtime.md)."""

from __future__ import annotations

from pydantic import Field, PositiveFloat, PositiveInt

from serve_app.deployment_options import StrictModel


class RealtimeConfig(StrictModel):
    """Sessions of ``/v1/realtime?intent=transcription`` on one ingress replica."""

    enabled: bool = True
    max_sessions: PositiveInt = 16
    """Open sessions in all (each also holds one of the replica's live-stream requests)."""
    max_sessions_per_caller: PositiveInt = 4
    """Open sessions per API key (or anonymous browser)."""
    max_session_s: PositiveFloat = 3600.0
    """Longest session, in seconds of audio received; past it an ``error`` and a close."""
    max_frame_bytes: PositiveInt = 1 << 20
    """Largest WebSocket message (an ``append`` of 1 MiB of base64 is ~16 s of 24 kHz PCM)."""
    max_ahead_s: PositiveFloat = 60.0
    """How far the audio received may run ahead of the wall clock since its first append
    (a client may send faster than real time in bursts); past it: back-pressure."""
    max_backlog_s: PositiveFloat = 60.0
    """Audio of finished utterances still waiting for their final transcript; past it the
    ASR cannot keep up with this client: back-pressure."""
    partial_interval_s: float = Field(0.5, ge=0.2)
    """New speech between two partial hypotheses of the utterance being spoken."""
    speculative_final_ms: int = Field(200, ge=0, le=5000)
    """Trailing silence after which the utterance so far is decoded, before turn detection
    has ended it (``silence_duration_ms``); if it ends there, that pass is its final, so the
    decode overlaps the wait (``speculation.py``). 0: off."""
    max_utterance_s: float = Field(28.0, gt=1.0, le=30.0)
    """An utterance is cut here even without a pause (one Whisper window)."""
    min_utterance_s: float = Field(0.25, ge=0.0)
    """Shorter speech is dropped (a click, a breath)."""
    vad_threshold: float = Field(0.5, gt=0, lt=1)
    """Default ``turn_detection.threshold``."""
    silence_duration_ms: int = Field(500, ge=100, le=5000)
    """Default ``turn_detection.silence_duration_ms``: the pause that ends an utterance."""
    prefix_padding_ms: int = Field(300, ge=0, le=2000)
    """Default ``turn_detection.prefix_padding_ms``: audio kept before detected speech."""
    diarize: bool = True
    """Diarize the session's audio when it ends (needs the diarizer deployment)."""
    live_speakers: bool = True
    """With ``diarize``: each ``completed`` event carries its utterance's speaker, clustered
    as the session goes (known speakers named); off: speakers only when the session ends."""
    speaker_wait_s: float = Field(0.0, ge=0.0)
    """How long a ``completed`` event may wait for its utterance's embedding once its text
    is ready (it is embedded while it is decoded); past it ``speaker`` is null and a
    ``...transcription.speaker`` event brings it later. 0: the text never waits."""
    late_speaker_s: float = Field(30.0, gt=0.0)
    """How long a late speaker is waited for before it is given up."""
    new_voice_similarity: float = Field(0.73, ge=-1.0, le=1.0)
    """Cosine (CAM++ voiceprints) under which an utterance is a voice no live speaker holds
    yet (``speakers.separate_new_voices``): the known-speaker threshold calibrated on real
    voices (``SPEAKER_MATCH_THRESHOLD``, docs/speakers.md)."""
    first_partial_interval_s: float = Field(0.25, ge=0.1)
    """New speech between partial passes until the utterance's first words were sent as a
    delta (then ``partial_interval_s``): the first pass rarely holds a settled word."""
    final_attempts: PositiveInt = 4
    """Tries of an utterance's final transcript when its ASR replica fails."""
    retry_backoff_s: PositiveFloat = 0.5
