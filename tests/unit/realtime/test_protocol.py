"""The realtime protocol: client events parsed in the GA and beta shapes, session updates,
errors in OpenAI's shape, and the PCM input."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from serve_app.realtime import protocol as p
from serve_app.realtime.partials import DeltaTracker
from serve_app.realtime.pcm import PcmInput, decode_base64_pcm

DEFAULT = p.SessionSettings(
    model="tiny.en",
    vad=p.VadSettings(threshold=0.5, prefix_padding_ms=300, silence_duration_ms=500),
)


def test_ga_session_update_sets_format_transcription_and_vad():
    body = {
        "type": "transcription",
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": 16000},
                "transcription": {"model": "base", "language": "fr", "prompt": "Waldo"},
                "turn_detection": {"type": "server_vad", "silence_duration_ms": 700},
            }
        },
    }
    new = p.apply_update(DEFAULT, body, "ev1")
    assert (new.rate, new.model, new.language, new.prompt) == (16000, "base", "fr", "Waldo")
    assert new.vad == p.VadSettings(threshold=0.5, prefix_padding_ms=300, silence_duration_ms=700)
    described = new.describe()["audio"]["input"]
    assert described["format"] == {"type": "audio/pcm", "rate": 16000}
    assert described["turn_detection"]["silence_duration_ms"] == 700


def test_beta_update_and_turn_detection_null():
    body = {
        "input_audio_format": "pcm16",
        "input_audio_transcription": {"language": "en"},
        "turn_detection": None,
    }
    new = p.apply_update(DEFAULT, body, None)
    assert new.rate == 24000 and new.language == "en" and new.vad is None
    assert new.model == "tiny.en"  # left out: unchanged
    assert new.describe()["audio"]["input"]["turn_detection"] is None


def test_omitted_fields_keep_their_values():
    new = p.apply_update(DEFAULT, {"audio": {"input": {"transcription": {"prompt": "x"}}}}, None)
    assert new.vad == DEFAULT.vad and new.rate == 24000 and new.prompt == "x"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"audio": {"input": {"format": {"type": "audio/pcm", "rate": 8000}}}}, "format"),
        ({"audio": {"input": {"format": {"type": "audio/pcmu"}}}}, "format"),
        ({"input_audio_format": "g711_ulaw"}, "input_audio_format"),
        ({"type": "realtime"}, "session.type"),
        ({"audio": {"input": {"turn_detection": {"type": "semantic_vad"}}}}, "turn_detection"),
        ({"turn_detection": {"type": "server_vad", "threshold": 2}}, "threshold"),
    ],
)
def test_unsupported_settings_are_protocol_errors(body, param):
    with pytest.raises(p.ProtocolError) as caught:
        p.apply_update(DEFAULT, body, "ev9")
    assert param in (caught.value.param or "")
    assert caught.value.event_id == "ev9" and not caught.value.fatal


def test_client_events_parse_and_unknown_ones_are_refused():
    assert isinstance(
        p.parse_client_event({"type": "input_audio_buffer.append", "audio": "AAA="}),
        p.AppendAudio,
    )
    assert p.parse_client_event({"type": "input_audio_buffer.commit"}).type.endswith("commit")
    with pytest.raises(p.ProtocolError) as caught:
        p.parse_client_event({"type": "response.create", "event_id": "e2"})
    assert caught.value.code == "unsupported_event" and caught.value.event_id == "e2"
    for bad in ([], {"type": 3}, {"type": "input_audio_buffer.append"}):
        with pytest.raises(p.ProtocolError):
            p.parse_client_event(bad)


def test_error_event_has_openais_shape():
    event = p.ErrorEvent.of(p.ProtocolError("nope", code="c", param="x", event_id="e"))
    data = event.model_dump(mode="json")
    assert data["type"] == "error" and data["event_id"].startswith("event_")
    assert data["error"] == {
        "type": "invalid_request_error",
        "code": "c",
        "message": "nope",
        "param": "x",
        "event_id": "e",
    }


def test_base64_pcm_is_checked():
    samples = np.array([0, 1000, -1000], dtype="<i2")
    payload = base64.b64encode(samples.tobytes()).decode()
    assert decode_base64_pcm(payload, None).tolist() == [0, 1000, -1000]
    with pytest.raises(p.ProtocolError, match="base64"):
        decode_base64_pcm("not base64!!", None)
    with pytest.raises(p.ProtocolError, match="odd"):
        decode_base64_pcm(base64.b64encode(b"abc").decode(), None)


def test_24k_input_is_resampled_to_16k_without_seams():
    rate = 24000
    t = np.arange(rate) / rate
    tone = (np.sin(2 * np.pi * 440 * t) * 16000).astype(np.int16)
    pcm = PcmInput(rate)
    out = np.concatenate([pcm.convert(tone[i : i + 480]) for i in range(0, rate, 480)])
    out = np.concatenate([out, pcm.flush()])
    assert abs(out.shape[0] - 16000) <= 64
    ref = np.sin(2 * np.pi * 440 * np.arange(out.shape[0]) / 16000) * 16000 / 32768
    # the same tone, at the same amplitude, apart from the filter's delay
    assert abs(np.abs(out[2000:14000]).max() - np.abs(ref).max()) < 0.02
    spectrum = np.abs(np.fft.rfft(out[2000:14000]))
    assert abs(np.argmax(spectrum) * 16000 / 12000 - 440) < 3
    assert PcmInput(16000).convert(np.array([16384], np.int16)).tolist() == [0.5]


def test_deltas_only_append_and_hold_back_the_last_word():
    tracker = DeltaTracker()
    assert tracker.delta("Please enter") == "Please"
    assert tracker.delta("please enter your") == " enter"
    assert tracker.delta("Please, enter your agent number") == " your agent"
    assert tracker.delta("Police entered your") == ""  # disagrees: nothing to take back
    assert tracker.delta("Please enter your agent number.", final=True) == " number."
    tracker.reset()
    assert tracker.sent == []


def test_partial_words_are_sent_once_they_have_settled() -> None:
    from serve_app.realtime.partials import SETTLE_S, hypothesis
    from serve_app.transcript.segments import Segment, Word

    def word(text: str, start: float, end: float) -> Word:
        return Word(start=start, end=end, word=f" {text}", probability=0.9)

    words = [word("Please", 0.3, 0.6), word("hold", 0.65, 0.9), word("the", 0.95, 1.05)]
    segments = [Segment(start=0.3, end=1.05, text=" Please hold the", words=words)]
    text, settled = hypothesis(segments, duration_s=1.05 + SETTLE_S / 2)
    assert text == "Please hold the"
    assert settled == 2  # "the" ends within SETTLE_S of the cut
    tracker = DeltaTracker()
    assert tracker.delta(text, settled=settled) == "Please hold"
    # no word times: all but the last word
    bare = [Segment(start=0.0, end=1.0, text="Please hold the")]
    assert hypothesis(bare, 2.0) == ("Please hold the", None)
