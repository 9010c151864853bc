"""The realtime client's pieces without a server: decoding to pcm16, framing, the events it
sends and how it applies the events it receives."""

from __future__ import annotations

import base64
import wave
from pathlib import Path

import numpy as np
import pytest

from serve_app.client.realtime import (
    COMPLETED,
    DELTA,
    END_COMMIT,
    RealtimeError,
    RealtimeTranscript,
    append_event,
    decode_pcm16,
    pcm16_frames,
    realtime_url,
    session_update,
)
from serve_app.client.realtime_view import utterance_line


def _tone(path: Path, rate: int, seconds: float, hz: float, channels: int = 1) -> None:
    t = np.arange(int(rate * seconds)) / rate
    mono = (0.5 * np.sin(2 * np.pi * hz * t) * 32767).astype("<i2")
    samples = np.repeat(mono[:, None], channels, axis=1)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())


def _peak_hz(pcm: bytes, rate: int) -> float:
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[int(np.argmax(spectrum))])


@pytest.mark.parametrize(("rate_in", "channels"), [(16000, 1), (44100, 2), (8000, 1)])
@pytest.mark.parametrize("rate_out", [24000, 16000])
def test_decode_resamples_to_mono_pcm16_keeping_pitch_and_length(
    tmp_path, rate_in, channels, rate_out
):
    path = tmp_path / "tone.wav"
    _tone(path, rate_in, 2.0, 440.0, channels)
    pcm = decode_pcm16(path, rate_out)
    samples = len(pcm) // 2
    assert len(pcm) % 2 == 0
    assert abs(samples - 2.0 * rate_out) <= rate_out * 0.01  # 2 s, give or take 10 ms
    assert abs(_peak_hz(pcm, rate_out) - 440.0) < 2.0
    level = np.abs(np.frombuffer(pcm, dtype="<i2")).max() / 32767
    assert 0.4 < level < 0.6  # stereo folded to mono without doubling or halving


def test_decode_of_something_that_is_not_audio_says_so(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("not audio at all")
    with pytest.raises(RealtimeError, match="cannot decode"):
        decode_pcm16(path)


def test_frames_are_whole_samples_of_the_asked_length():
    pcm = bytes(range(256)) * 100  # 25,600 bytes = 12,800 samples
    frames = list(pcm16_frames(pcm, rate=24000, frame_ms=200))
    assert [len(f) for f in frames] == [9600, 9600, 6400]  # 200 ms = 4,800 samples
    assert b"".join(frames) == pcm
    assert len(next(pcm16_frames(pcm, rate=16000, frame_ms=100))) == 3200
    with pytest.raises(ValueError):
        list(pcm16_frames(pcm, frame_ms=5))


def test_append_event_carries_the_frame_in_base64():
    event = append_event(b"\x01\x00\xff\x7f")
    assert event["type"] == "input_audio_buffer.append"
    assert base64.b64decode(event["audio"]) == b"\x01\x00\xff\x7f"


def test_session_update_asks_for_pcm16_at_the_rate_and_server_vad():
    event = session_update(16000, language="en", model="tiny.en")
    assert event["type"] == "session.update"
    audio_input = event["session"]["audio"]["input"]
    assert audio_input["format"] == {"type": "audio/pcm", "rate": 16000}
    assert audio_input["turn_detection"] == {"type": "server_vad"}
    assert audio_input["transcription"] == {"model": "tiny.en", "language": "en"}
    assert "transcription" not in session_update()["session"]["audio"]["input"]


def test_realtime_url_from_the_http_base():
    assert realtime_url("http://127.0.0.1:8000/") == (
        "ws://127.0.0.1:8000/v1/realtime?intent=transcription"
    )
    assert realtime_url("https://asr.example").startswith("wss://asr.example/v1/realtime")


def test_transcript_applies_events_in_order_with_their_times():
    t = RealtimeTranscript()
    events = [
        {"type": "transcription_session.created", "session": {"id": "s"}, "job_id": "j1"},
        {"type": "input_audio_buffer.speech_started", "item_id": "a", "audio_start_ms": 1200},
        {"type": DELTA, "item_id": "a", "delta": "hello"},
        {"type": DELTA, "item_id": "a", "delta": " there"},
        {"type": "input_audio_buffer.speech_stopped", "item_id": "a", "audio_end_ms": 2900},
        {"type": "input_audio_buffer.committed", "item_id": "a", "previous_item_id": None},
        {"type": "input_audio_buffer.speech_started", "item_id": "b", "audio_start_ms": 3500},
        {
            "type": COMPLETED,
            "item_id": "a",
            "transcript": " Hello there.",
            "speaker": "S1",
            "start": 1.25,
            "end": 2.875,
        },
        {"type": "error", "error": {"type": "invalid_request_error", "message": "bad"}},
        {
            "type": "error",
            "error": {"code": "input_audio_buffer_commit_empty", "event_id": END_COMMIT},
        },
    ]
    for n, event in enumerate(events):
        if event.get("error", {}).get("event_id") == END_COMMIT:
            assert not t.end_answered  # turn detection's commit is no answer to the client's
        t.apply(event, at=float(n))
    assert t.job_id == "j1"
    a, b = t.utterances["a"], t.utterances["b"]
    assert (a.start_s, a.end_s, a.partial, a.text, a.speaker) == (
        1.25,  # the completed event's own start and end win over the VAD's
        2.875,
        "hello there",
        "Hello there.",
        "S1",
    )
    assert (a.speech_start_s, a.speech_end_s) == (1.2, 2.9)
    assert (a.first_delta_at, a.stopped_at, a.completed_at) == (2.0, 4.0, 7.0)
    assert t.open == [b] and t.completed == [a] and t.end_answered
    assert t.text() == "Hello there."
    assert t.errors == [{"type": "invalid_request_error", "message": "bad"}]
    assert utterance_line(a) == "[00:00:01.250 -> 00:00:02.875] S1: Hello there."


def test_a_commit_without_speech_stopped_answers_the_clients_commit():
    t = RealtimeTranscript()
    t.apply({"type": "input_audio_buffer.speech_started", "item_id": "c", "audio_start_ms": 0})
    assert not t.end_answered
    t.apply({"type": "input_audio_buffer.committed", "item_id": "c"})
    assert t.end_answered and t.open == [t.utterances["c"]]  # its text is still to come
