"""A realtime session without Ray: the real job store (in memory), the real audio store on a
temporary directory, real faster-whisper tiny.en and silero VAD, each behind a small
adapter shaped like a Serve handle (``.options(...).method.remote(...)``). Checks the event
order, that the session becomes a completed job with the same text, and that a final pass
whose replica fails is retried so no utterance is lost."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import numpy as np
import pytest

from eval.real_data import SR, asterisk_file
from eval.speech import wer
from serve_app.asr.batcher import FILE_JOB_PRIORITY, REALTIME_PRIORITY
from serve_app.asr.decoding import ChunkTranscript, DecodeOptions
from serve_app.asr.registry import build_registry
from serve_app.asr.segments import from_engine
from serve_app.audio.store import AudioStore
from serve_app.config import ASRConfig, ModelsConfig
from serve_app.jobs.model import JobStatus
from serve_app.jobs.store import JobStore
from serve_app.realtime.session import RealtimeServices, RealtimeSession, SessionClosed
from serve_app.realtime.settings import RealtimeConfig
from tests.unit.realtime.handles import Handle


class WhisperInProcess:
    """tiny.en through faster-whisper, answering like ``WhisperASR``; ``fail_finals`` makes
    the next N calls on audio longer than 1.5 s raise, as a dead replica's calls do."""

    def __init__(self, path: str) -> None:
        from faster_whisper import WhisperModel

        self.model = WhisperModel(path, device="cpu", compute_type="int8", cpu_threads=2)
        self.fail_finals = 0
        self.calls = 0
        self.priorities: list[int] = []

    async def transcribe_chunk(
        self,
        audio: np.ndarray,
        language: str | None,
        options: DecodeOptions,
        priority: int = FILE_JOB_PRIORITY,
    ) -> ChunkTranscript:
        self.calls += 1
        self.priorities.append(priority)
        if self.fail_finals and audio.shape[0] > 1.5 * SR:
            self.fail_finals -= 1
            raise RuntimeError("ActorDiedError: the replica died (injected)")
        segments, info = await asyncio.to_thread(
            self.model.transcribe, audio, language=language, beam_size=1, vad_filter=True
        )
        found = await asyncio.to_thread(lambda: [from_engine(s) for s in segments])
        return ChunkTranscript(
            segments=found,
            language=info.language,
            language_probability=1.0,
            duration=audio.shape[0] / SR,
            transcribe_s=0.0,
        )


@pytest.fixture(scope="module")
def registry() -> Any:
    return build_registry(ModelsConfig(), ASRConfig())


@pytest.fixture(scope="module")
def whisper(registry: Any) -> WhisperInProcess:
    _, path = registry.resolve("tiny.en")
    return WhisperInProcess(str(path))


def b64(audio: np.ndarray) -> str:
    return base64.b64encode((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()).decode()


async def run_session(
    services: RealtimeServices, audio: np.ndarray, realtime: bool = True
) -> tuple[list, JobStore]:
    """Stream ``audio`` (16 kHz) and a second of silence in 100 ms appends, at real time
    (else as fast as the session takes it); every event."""
    events: list[dict[str, Any]] = []

    async def send(event: dict[str, Any]) -> None:
        events.append(event)

    session = RealtimeSession(services, send, owner="tester", model=None)
    await session.start()
    update = {"audio": {"input": {"format": {"type": "audio/pcm", "rate": 16000}}}}
    await session.handle({"type": "session.update", "session": update})
    padded = np.concatenate([audio, np.zeros(SR, np.float32)])
    for start in range(0, padded.shape[0], SR // 10):
        await session.handle(
            {"type": "input_audio_buffer.append", "audio": b64(padded[start : start + SR // 10])}
        )
        if realtime:  # a partial pass returns before its utterance ends
            await asyncio.sleep(0.1)
    await session.close()
    return events, services.store


@pytest.fixture
def services(tmp_path: Any, registry: Any, whisper: WhisperInProcess) -> RealtimeServices:
    return RealtimeServices(
        asr=Handle(whisper),
        diarizer=None,
        store=Handle(JobStore(lease_s=30)),
        audio=AudioStore(tmp_path / "audio", ttl_s=3600),
        registry=registry,
        config=RealtimeConfig(partial_interval_s=0.5),
        lease_s=30,
    )


def test_session_events_and_its_job(services: RealtimeServices, whisper: WhisperInProcess) -> None:
    speech = asterisk_file("en", "report", seconds=8)
    events, _ = asyncio.run(run_session(services, speech.audio))
    kinds = [e["type"] for e in events]
    assert kinds[:2] == ["session.created", "session.updated"]
    job_id = events[0]["job_id"]
    completed = [e for e in events if e["type"].endswith("transcription.completed")]
    assert len(completed) >= 2
    for done in completed:  # every item: started, stopped, committed, then completed
        item = done["item_id"]
        mine = [e["type"] for e in events if e.get("item_id") == item]
        assert [k for k in mine if not k.endswith(".delta")] == [
            "input_audio_buffer.speech_started",
            "input_audio_buffer.speech_stopped",
            "input_audio_buffer.committed",
            "conversation.item.input_audio_transcription.completed",
        ]
        assert mine[-1].endswith("transcription.completed")
    assert any(e["type"].endswith("transcription.delta") for e in events)
    assert set(whisper.priorities) == {REALTIME_PRIORITY}  # ahead of file jobs' chunks
    text = " ".join(e["transcript"] for e in completed)
    assert wer(speech.text, text) < 0.35

    store: JobStore = services.store._target  # type: ignore[attr-defined]
    job = asyncio.run(store.get_job(job_id))
    assert job is not None and job.status == JobStatus.COMPLETED and job.owner == "tester"
    segments = asyncio.run(store.get_segments(job_id)) or []
    assert wer(text, " ".join(s.text for s in segments)) < 0.05
    assert abs((job.audio_duration or 0) - (speech.duration + 1)) < 0.2
    kept = services.audio.open(job_id)
    assert kept is not None
    kept.close()


def test_a_failing_asr_replica_loses_no_utterance(
    services: RealtimeServices, whisper: WhisperInProcess
) -> None:
    speech = asterisk_file("en", "report", seconds=8)
    whisper.fail_finals = 2  # two calls fail; the final of an utterance is retried
    services.config = services.config.model_copy(update={"retry_backoff_s": 0.05})
    events, _ = asyncio.run(run_session(services, speech.audio))
    assert not [e for e in events if e["type"].endswith("transcription.failed")]
    completed = [e for e in events if e["type"].endswith("transcription.completed")]
    assert all(e["transcript"] for e in completed) and len(completed) >= 2
    assert whisper.fail_finals == 0


def test_limits_are_fatal_errors(services: RealtimeServices) -> None:
    services.config = services.config.model_copy(update={"max_ahead_s": 2.0})

    async def flood() -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []

        async def send(event: dict[str, Any]) -> None:
            events.append(event)

        session = RealtimeSession(services, send, owner=None, model=None)
        await session.start()
        with pytest.raises(SessionClosed):
            for _ in range(10):
                chunk = b64(np.zeros(SR, np.float32))
                await session.handle({"type": "input_audio_buffer.append", "audio": chunk})
        await session.close()
        return events

    events = asyncio.run(flood())
    errors = [e["error"] for e in events if e["type"] == "error"]
    assert [e["code"] for e in errors] == ["back_pressure"]
