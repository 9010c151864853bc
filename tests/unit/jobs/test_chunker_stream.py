"""The chunker's own path for a PCM upload, in-process: the check pass counts the decoded
samples before the job exists, the run decodes the upload as a stream, and the upload is
kept as FLAC of exactly what was decoded (written block by block). Real job store and
audio store; the ASR handle is the recording fake of ``test_streamed_run``."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest

import deployments.chunker as chunker_module
from deployments.chunker import Chunker
from eval.speech import encode
from serve_app.audio.decode import decode_audio
from serve_app.config import AppConfig
from serve_app.jobs.model import JobOptions, JobStatus
from serve_app.jobs.store import JobStore
from tests.unit.jobs.test_store_runner import InProcessStore
from tests.unit.jobs.test_streamed_run import CONFIG, RecordingFakeAsr, speech_file  # noqa: F401

pytestmark = pytest.mark.filterwarnings("ignore:coroutine .*__del__. was never awaited")


def test_a_wav_upload_is_checked_streamed_and_kept_as_the_flac_of_what_decoded(
    speech_file,  # noqa: F811
    tmp_path,
    monkeypatch,
):
    _, audio = speech_file
    wav = encode(audio, "wav")
    store = JobStore()
    monkeypatch.setattr(chunker_module, "connect_job_store", lambda _: InProcessStore(store))
    monkeypatch.setattr(chunker_module, "lower_priority", lambda _: None)
    monkeypatch.setattr(Chunker, "_start_dispatcher", lambda self: None)  # needs Serve
    config = AppConfig.model_validate(
        {
            "chunker": CONFIG.model_dump(exclude={"deployment"}),
            "audio_store": {"url": str(tmp_path)},
        }
    )
    asr = RecordingFakeAsr()
    chunker = Chunker(asr, None, config)

    async def scenario() -> Any:
        chunker._audio.save("ab12", wav)
        options = JobOptions(model_name=chunker._registry.default_model, diarize=False)
        stream = chunker.transcribe("ab12", options)
        async for job in stream:
            assert job.status == JobStatus.PROCESSING and job.audio_codec == "pcm_s16le"
        return await store.get_job("ab12")

    done = asyncio.run(scenario())
    assert done.status == JobStatus.COMPLETED, done.message
    assert done.audio_codec == "flac" and done.audio_duration == audio.shape[0] / 16000
    kept = chunker._audio.load("ab12")
    assert kept is not None and kept[:4] == b"fLaC"
    assert np.abs(decode_audio(kept) - decode_audio(wav)).max() < 1e-4
    assert len(asr.sent) == len(done.chunks) > 0
