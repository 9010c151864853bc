"""``/v1/realtime?intent=transcription`` against the real Serve graph: the official ``openai``
package's realtime client streams real recorded speech (Debian's asterisk-core-sounds-en
prompts, eval/real_data.py) and gets deltas, then completed utterances as accurate as a
file job of the same audio; the session is an ordinary job. Bad input gets ``error``
events, a vanished client leaves a completed job, and the limits close with an error."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any

import httpx
import numpy as np
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from eval.real_data import SR, asterisk_file
from tests.serve.helpers import ADMIN_KEY, USER_KEY, submit, wait_done, wer

COMPLETED = "conversation.item.input_audio_transcription.completed"
DELTA = "conversation.item.input_audio_transcription.delta"


@pytest.fixture(scope="module")
def speech() -> Any:
    """About 20 s of five real prompts with pauses between them, and their text."""
    return asterisk_file("en", "report", seconds=15)


def pcm_b64(audio: np.ndarray, rate: int) -> str:
    """16 kHz float32 -> base64 16-bit PCM at ``rate`` (linear interpolation is enough for
    a test signal that was recorded at 8 kHz)."""
    if rate != SR:
        n = round(audio.shape[0] * rate / SR)
        audio = np.interp(np.arange(n) * SR / rate, np.arange(audio.shape[0]), audio)
    pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2")
    return base64.b64encode(pcm.tobytes()).decode()


def ws_url(base_url: str) -> str:
    return base_url.replace("http://", "ws://") + "/v1/realtime?intent=transcription"


async def stream_openai(base_url: str, audio: np.ndarray, speed: float) -> dict[str, Any]:
    """Stream ``audio`` at ``speed`` x real time with the official client; every event."""
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=f"{base_url}/v1", api_key=ADMIN_KEY)
    events: list[dict[str, Any]] = []
    async with client.realtime.connect(
        model="gpt-4o-transcribe", extra_query={"intent": "transcription"}
    ) as conn:
        created = json.loads(await conn.recv_bytes())
        await conn.session.update(
            session={
                "type": "transcription",
                "audio": {
                    "input": {
                        "format": {"type": "audio/pcm", "rate": 24000},
                        "transcription": {"model": "whisper-1", "language": "en"},
                        "turn_detection": {"type": "server_vad", "silence_duration_ms": 500},
                    }
                },
            }
        )

        async def read() -> None:
            while True:
                raw = await conn.recv_bytes()
                conn.parse_event(raw)  # the SDK's own models accept every event
                events.append(json.loads(raw))

        reader = asyncio.create_task(read())
        step = SR // 10
        padded = np.concatenate([audio, np.zeros(SR, np.float32)])  # the last pause
        for start in range(0, padded.shape[0], step):
            await conn.input_audio_buffer.append(audio=pcm_b64(padded[start : start + step], 24000))
            await asyncio.sleep(0.1 / speed)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            committed = sum(e["type"] == "input_audio_buffer.committed" for e in events)
            done = sum(e["type"] == COMPLETED for e in events)
            if committed and done == committed:
                break
            await asyncio.sleep(0.2)
        reader.cancel()
    return {"created": created, "events": events}


def test_openai_client_gets_deltas_then_completed_text_as_good_as_a_file_job(
    base_url: str, http: httpx.Client, speech: Any
) -> None:
    import wave
    from io import BytesIO

    # Real time: at twice real time an utterance can end before its first partial pass
    # returns on a loaded machine, and then there is no delta to check.
    run = asyncio.run(stream_openai(base_url, speech.audio, speed=1.0))
    created, events = run["created"], run["events"]
    assert created["type"] == "session.created"
    job_id = created["job_id"]
    assert created["session"]["type"] == "transcription"
    errors = [e for e in events if e["type"] == "error"]
    assert not errors, errors
    updated = next(e for e in events if e["type"] == "session.updated")
    assert updated["session"]["audio"]["input"]["format"]["rate"] == 24000

    completed = [e for e in events if e["type"] == COMPLETED]
    starts = [e for e in events if e["type"] == "input_audio_buffer.speech_started"]
    assert len(completed) >= 3 and len(starts) == len(completed)
    deltas = [e for e in events if e["type"] == DELTA]
    assert deltas, "no partial hypothesis while speaking"
    first_delta = events.index(deltas[0])
    assert first_delta < events.index(
        next(e for e in completed if e["item_id"] == deltas[0]["item_id"])
    )
    for event in completed:
        assert event["usage"]["type"] == "duration" and event["end"] > event["start"]
        assert "speaker" in event
    realtime_text = " ".join(e["transcript"] for e in completed)

    buffer = BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(SR)
        w.writeframes((np.clip(speech.audio, -1, 1) * 32767).astype("<i2").tobytes())
    file_job = submit(http, buffer.getvalue(), "prompts.wav", diarize="false").json()["job_id"]
    wait_done(http, file_job)
    file_text = " ".join(
        s["text"] for s in http.get(f"/api/transcribe/result/{file_job}").json()["segments"]
    )
    ours, bare = wer(speech.text, realtime_text), wer(speech.text, file_text)
    print(f"realtime WER {ours:.3f}, file job WER {bare:.3f} ({len(completed)} utterances)")
    assert ours <= bare + 0.05

    # The session is an ordinary job: completed once the client left, with its transcript.
    status = wait_done(http, job_id, timeout=120)[-1]
    assert status["status"] == "completed", status
    result = http.get(f"/api/transcribe/result/{job_id}").json()
    job_text = " ".join(s["text"] for s in result["segments"])
    assert wer(realtime_text, job_text) < 0.05
    audio = http.get(f"/api/transcribe/audio/{job_id}")
    assert audio.status_code == 200 and len(audio.content) > 1000


async def _raw_session(
    base_url: str, key: str, messages: list[Any], wait_s: float = 30.0, until: str | None = None
) -> tuple[list[dict[str, Any]], Any]:
    """Send ``messages`` (dicts as JSON, str as they are) on a plain WebSocket; the events
    received within ``wait_s`` after the last (or up to one of type ``until``), and the
    close code (None: still open)."""
    events: list[dict[str, Any]] = []
    headers = {"Authorization": f"Bearer {key}"}
    async with connect(ws_url(base_url), additional_headers=headers, max_size=None) as ws:
        events.append(json.loads(await ws.recv()))
        for message in messages:
            try:
                await ws.send(message if isinstance(message, str | bytes) else json.dumps(message))
            except ConnectionClosed:
                break  # closed by the server (a limit): its events are still to be read
        deadline = time.monotonic() + wait_s
        code = None
        while time.monotonic() < deadline and (until is None or events[-1]["type"] != until):
            try:
                events.append(
                    json.loads(await asyncio.wait_for(ws.recv(), deadline - time.monotonic()))
                )
            except TimeoutError:
                break
            except Exception:
                code = ws.close_code
                break
    return events, code


def test_bad_input_gets_error_events_and_the_session_goes_on(
    base_url: str, http: httpx.Client
) -> None:
    tone = pcm_b64(np.zeros(SR // 2, np.float32), 24000)
    messages: list[Any] = [
        {"type": "input_audio_buffer.append", "audio": "@@not base64@@", "event_id": "bad-b64"},
        {"type": "response.create", "event_id": "unknown"},
        {
            "type": "session.update",
            "event_id": "rate",
            "session": {"audio": {"input": {"format": {"type": "audio/pcm", "rate": 8000}}}},
        },
        "this is not json",
        {"type": "input_audio_buffer.append", "audio": "A" * (1 << 20)},
        {"type": "input_audio_buffer.commit", "event_id": "empty"},
        {"type": "input_audio_buffer.append", "audio": tone},
        {"type": "input_audio_buffer.clear"},
    ]
    events, code = asyncio.run(
        _raw_session(base_url, USER_KEY, messages, until="input_audio_buffer.cleared")
    )
    assert code is None, "the session must stay open after bad input"
    errors = [e["error"] for e in events if e["type"] == "error"]
    codes = [(e.get("event_id"), e["code"]) for e in errors]
    assert ("bad-b64", "invalid_value") in codes
    assert ("unknown", "unsupported_event") in codes
    assert ("rate", "invalid_value") in codes
    assert (None, "invalid_json") in codes
    assert (None, "message_too_large") in codes
    assert ("empty", "input_audio_buffer_commit_empty") in codes
    assert len(errors) == 6 and all(e["type"] == "invalid_request_error" for e in errors)
    assert events[-1]["type"] == "input_audio_buffer.cleared"
    job_id = events[0]["job_id"]
    assert wait_done(http, job_id, timeout=60)[-1]["status"] == "completed"


def test_a_vanished_client_leaves_a_completed_job_with_what_it_sent(
    base_url: str, http: httpx.Client, speech: Any
) -> None:
    # The first prompt (5 s) and most of the second, then the socket just drops.
    audio = speech.audio[: int(7.5 * SR)]

    async def run() -> str:
        headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
        ws = await connect(ws_url(base_url), additional_headers=headers)
        job_id = json.loads(await ws.recv())["job_id"]
        for start in range(0, audio.shape[0], SR // 5):
            chunk = pcm_b64(audio[start : start + SR // 5], 24000)
            await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": chunk}))
        await asyncio.sleep(0.5)
        ws.transport.abort()  # gone without a close handshake
        return str(job_id)

    job_id = asyncio.run(run())
    assert wait_done(http, job_id, timeout=90)[-1]["status"] == "completed"
    segments = http.get(f"/api/transcribe/result/{job_id}").json()["segments"]
    text = " ".join(s["text"] for s in segments).lower()
    assert "agent" in text and segments[-1]["end"] > 5.5  # the cut utterance is in


def test_limits_close_with_an_error(base_url: str) -> None:
    # Auth: no key, no session.
    async def unauthenticated() -> None:
        async with connect(ws_url(base_url)):
            pass

    with pytest.raises(Exception, match=r"403|401|1008"):
        asyncio.run(unauthenticated())

    # A browser sends its key as a subprotocol.
    async def browser() -> str | None:
        protocols = ["transcribe", f"bearer.{USER_KEY}"]
        async with connect(ws_url(base_url), subprotocols=protocols) as ws:  # type: ignore[arg-type]
            event = json.loads(await ws.recv())
            assert event["type"] == "session.created"
            return ws.subprotocol

    assert asyncio.run(browser()) == "transcribe"

    # Faster than real time beyond max_ahead_s (60 s): an error, then the close.
    silence = pcm_b64(np.zeros(SR * 2, np.float32), 16000)
    update = {
        "type": "session.update",
        "session": {"audio": {"input": {"format": {"type": "audio/pcm", "rate": 16000}}}},
    }
    flood = [update] + [{"type": "input_audio_buffer.append", "audio": silence}] * 35
    events, code = asyncio.run(_raw_session(base_url, USER_KEY, flood))
    errors = [e["error"] for e in events if e["type"] == "error"]
    assert [e["code"] for e in errors] == ["back_pressure"] and code == 1008

    # Per-caller cap: the fifth session of one key is refused with an error.
    time.sleep(1.0)  # the sessions above release their slots once their jobs are finished

    async def five() -> list[dict[str, Any]]:
        headers = {"Authorization": f"Bearer {USER_KEY}"}
        sockets = [await connect(ws_url(base_url), additional_headers=headers) for _ in range(5)]
        try:
            return [json.loads(await ws.recv()) for ws in sockets]
        finally:
            for ws in sockets:
                await ws.close()

    firsts = asyncio.run(five())
    assert [e["type"] for e in firsts[:4]] == ["session.created"] * 4
    assert firsts[4]["type"] == "error" and firsts[4]["error"]["code"] == "rate_limit_exceeded"
