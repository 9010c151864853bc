"""Fault drill of a realtime session: the ASR replica is killed (SIGKILL, by PID) the moment
an utterance ends, so that utterance's final transcript dies with it while the client goes
on speaking. The session must lose no utterance: every utterance the server cut gets a
``completed`` event with its text (retried through ``ingress.realtime.final_attempts`` until
Serve has replaced the replica), no ``failed`` event or error, the words match the prompts,
and the session's job holds the same transcript."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest

from eval.real_data import asterisk_file
from eval.speech import wer
from serve_app.client.api import local_headers, local_key
from serve_app.client.realtime import RATE, SessionRun, stream_pcm
from serve_app.config import load_config
from tests.faults.cluster import pid_of, replica_actors, sigkill, wait_finished, wait_for
from tests.faults.conftest import FAST, drill_config

pytestmark = pytest.mark.faults

STOPPED = "input_audio_buffer.speech_stopped"


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: Any) -> Iterator[str]:
    from serve_app.launch import local_app

    overrides = drill_config(
        tmp_path_factory.mktemp("realtime_fault"),
        # One ASR replica: its death kills whatever realtime request was in flight.
        asr={
            "deployment": {
                "max_ongoing_requests": 2,
                "autoscaling_config": {"min_replicas": 1, "max_replicas": 1},
                **FAST,
            }
        },
        # Retries long enough to outlast a replica's replacement on a loaded machine.
        ingress={"deployment": FAST, "realtime": {"final_attempts": 10, "diarize": False}},
        diarizer={"enabled": False},
    )
    with local_app(load_config(overrides)) as url:
        yield url


def test_realtime_session_survives_its_asr_replica_dying(base_url: str) -> None:
    speech = asterisk_file("en", "report", seconds=20)
    pcm = (speech.audio.clip(-1, 1) * 32767).astype("<i2")
    # 16 kHz -> 24 kHz, as a client sends it (linear interpolation)
    n = round(len(pcm) * RATE / 16000)
    resampled = np.interp(np.arange(n) * 16000 / RATE, np.arange(len(pcm)), pcm)
    data = resampled.astype("<i2").tobytes()

    (victim,) = replica_actors("WhisperASR")
    pid = pid_of(victim)  # looked up first: the kill itself must be immediate
    stopped: list[str] = []
    killed = threading.Event()

    def on_event(event: dict[str, Any], _: Any) -> None:
        if event.get("type") == STOPPED:
            stopped.append(str(event["item_id"]))
            if len(stopped) == 2 and not killed.is_set():  # its final is being decoded
                sigkill(pid)
                killed.set()

    run: SessionRun = asyncio.run(
        stream_pcm(base_url, local_key(base_url), data, language="en", on_event=on_event)
    )
    assert killed.is_set(), "the session never reached its second utterance"
    transcript = run.transcript
    assert transcript.errors == [], transcript.errors
    done = {u.item_id: u for u in transcript.completed}
    assert set(stopped) <= set(done), "an utterance cut by the VAD never completed"
    assert all(done[item].text for item in stopped), [done[i].text for i in stopped]
    assert wer(speech.text, transcript.text()) < 0.25, transcript.text()

    with httpx.Client(base_url=base_url, headers=local_headers(base_url), timeout=60) as http:
        assert transcript.job_id
        status = wait_finished(http, transcript.job_id)
        assert status["status"] == "completed", status
        result = http.get(f"/api/transcribe/result/{transcript.job_id}").json()
        assert wer(transcript.text(), result["text"]) < 0.05
    # Serve replaced the replica
    wait_for(lambda: [a for a in replica_actors("WhisperASR") if pid_of(a) != pid], timeout=120)
