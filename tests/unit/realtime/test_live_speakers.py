"""Live speakers of a realtime session on real voices, without Ray: the real CAM++ embedding
model of the diarizer (``voiceprint``, as ``Diarizer.embed`` runs it), the real job store
(in memory) with a known speaker enrolled, and the session's ``LiveSpeakers``.

An English and an Italian asterisk voice (tune split) take turns; the English voice is
enrolled as "Alice" from other prompts of its own. The Italian voice speaks fewer utterances
than a spectral cluster's minimum size, so the clustering alone folds it into the English
cluster, and known speakers then named it "Alice"."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pytest

from eval.real_data import SR, asterisk_file, asterisk_prompts, read_wav
from serve_app.audio.store import AudioStore
from serve_app.jobs.model import JobOptions
from serve_app.jobs.store import JobStore
from serve_app.realtime.recording import SessionRecording
from serve_app.realtime.services import RealtimeServices
from serve_app.realtime.settings import RealtimeConfig
from serve_app.realtime.speakers import LiveSpeaker, LiveSpeakers
from serve_app.speakers.models import Voiceprint, VoiceprintSource
from serve_app.speakers.settings import SPEAKER_MATCH_THRESHOLD
from serve_app.speakers.voiceprint import voiceprint
from tests.unit.realtime.handles import Handle
from tests.unit.realtime.test_session import (  # noqa: F401 (fixtures)
    WhisperInProcess,
    registry,
    run_session,
    whisper,
)


class EmbedderInProcess:
    """The diarizer's CAM++ voiceprint, answering like ``Diarizer.embed``."""

    def __init__(self) -> None:
        from serve_app.diarization.pipeline import PyannoteDiarizer

        self.model = PyannoteDiarizer().pipeline._embedding

    async def embed(
        self, audio: np.ndarray, spans: list[tuple[float, float]], max_s: float
    ) -> tuple[list[float], list[tuple[float, float]]]:
        return await asyncio.to_thread(voiceprint, self.model, audio, spans, max_s)


@pytest.fixture(scope="module")
def embedder() -> EmbedderInProcess:
    return EmbedderInProcess()


def prompts(language: str) -> list[np.ndarray]:
    """The tune split's prompts of one voice, 1.5 s or longer (a realtime utterance each)."""
    out = [read_wav(wav) for wav, _ in asterisk_prompts(language)[0::2][:30]]
    return [a for a in out if a.shape[0] >= 1.5 * SR]


async def live_session(
    embedder: EmbedderInProcess, tmp_path: Any, order: list[tuple[str, np.ndarray]]
) -> list[tuple[str, LiveSpeaker | None]]:
    store = JobStore(lease_s=30)
    english = prompts("en")
    enrol = np.concatenate(english[-8:])  # never spoken in the session below
    vector, _ = await embedder.embed(enrol, [(0.0, enrol.shape[0] / SR)], 60.0)
    sample = Voiceprint(speaker_id="", embedding=vector, source=VoiceprintSource(kind="clip"))
    await store.create_speaker("tester", "Alice", [sample])
    recording = SessionRecording(
        Handle(store),
        AudioStore(tmp_path / "audio", ttl_s=3600),
        30,
        JobOptions(filename="live", model_name="tiny.en", diarize=True),
        "tester",
    )
    await recording.start(False, "en")
    threshold = RealtimeConfig().new_voice_similarity
    speakers = LiveSpeakers(Handle(embedder), recording, threshold)
    out, at = [], 0.0
    for voice, audio in order:
        end = at + audio.shape[0] / SR
        out.append((voice, await speakers.assign(speakers.embed(audio), at, end, 30.0)))
        at = end + 0.8
    await recording.finish("done")
    store.close()
    return out


def test_a_new_voice_gets_its_own_speaker_and_no_enrolled_name(
    embedder: EmbedderInProcess, tmp_path: Any
) -> None:
    en, it = prompts("en"), prompts("it")
    order = [("en", a) for a in en[:6]]
    order += [("it", it[0]), ("en", en[6]), ("it", it[1]), ("en", en[7]), ("en", en[8])]
    result = asyncio.run(live_session(embedder, tmp_path, order))
    assert all(s is not None for _, s in result), result
    english = [s for v, s in result if v == "en" and s is not None]
    italian = [s for v, s in result if v == "it" and s is not None]
    # The enrolled voice is named (on most utterances: a short one may score below the
    # registry's threshold and stay unnamed, never take another name).
    assert sum(s.name == "Alice" for s in english) >= len(english) // 2, english
    assert {s.name for s in english} <= {"Alice", None}
    # The Italian voice is nobody enrolled, and not the English voice's live speaker.
    assert all(s.name is None and s.speaker_id is None for s in italian), italian
    main = Counter(s.label for s in english).most_common(1)[0][0]
    assert all(s.label != main for s in italian), result


def test_the_new_voice_threshold_is_the_calibrated_known_speaker_threshold() -> None:
    assert RealtimeConfig().new_voice_similarity == SPEAKER_MATCH_THRESHOLD


class LateEmbedder(EmbedderInProcess):
    """The real embedding, answering ``delay_s`` late (a diarizer busy with a file job);
    no end-of-session diarization pass."""

    delay_s = 4.0  # longer than any decode of these utterances on a loaded machine

    async def embed(
        self, audio: np.ndarray, spans: list[tuple[float, float]], max_s: float
    ) -> tuple[list[float], list[tuple[float, float]]]:
        await asyncio.sleep(self.delay_s)
        return await super().embed(audio, spans, max_s)

    async def diarize(self, audio: np.ndarray) -> AsyncIterator[Any]:
        return
        yield


def test_completed_does_not_wait_for_a_late_speaker(
    embedder: EmbedderInProcess,
    whisper: WhisperInProcess,  # noqa: F811 (the fixture)
    registry: Any,  # noqa: F811
    tmp_path: Any,
) -> None:
    late = LateEmbedder.__new__(LateEmbedder)
    late.model = embedder.model
    services = RealtimeServices(
        asr=Handle(whisper),
        diarizer=Handle(late),
        store=Handle(JobStore(lease_s=30)),
        audio=AudioStore(tmp_path / "audio", ttl_s=3600),
        registry=registry,
        config=RealtimeConfig(),
        lease_s=30,
    )
    speech = asterisk_file("en", "report", seconds=6)
    events, _ = asyncio.run(run_session(services, speech.audio, realtime=False))
    completed = [e for e in events if e["type"].endswith("transcription.completed")]
    found = [e for e in events if e["type"].endswith("transcription.speaker")]
    assert len(completed) >= 2
    assert all(e["speaker"] is None for e in completed)  # sent before the voice was known
    assert {e["item_id"] for e in found} == {e["item_id"] for e in completed}
    for e in found:  # each after its item's completed, with the utterance's times
        done = next(c for c in completed if c["item_id"] == e["item_id"])
        assert events.index(done) < events.index(e)
        assert (e["start"], e["end"]) == (done["start"], done["end"])
        assert e["speaker"].startswith("SPEAKER_") and e["speaker_id"] is None
