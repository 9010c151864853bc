"""Known speakers end to end on real speech and real models (the session's Serve app):
enrol a voice of a real recording (VoxConverse ``aepyx``, eval/real_data.py) from a clip of
its first half, transcribe its second half, and find that person named there and the other
voices left ``SPEAKER_n``; another key sees none of it; naming a speaker in a job with
``enroll=true`` enrols that voice; deleting a person and relabelling un-names them."""

from __future__ import annotations

import time

import numpy as np
import pytest

from eval.real_data import aepyx
from eval.speech import encode
from serve_app.audio.decode import SAMPLE_RATE
from tests.serve.helpers import submit, wait_done

pytestmark = pytest.mark.serve

SPLIT_S = 84.0
"""Enrolment comes from before this second of the recording, the job from after it."""


def _reference_speaker(turns, start, end):
    """The reference speaker talking most in ``[start, end]`` (job-relative times)."""
    overlap: dict[str, float] = {}
    for s, e, spk in turns:
        s, e = s - SPLIT_S, e - SPLIT_S
        if min(e, end) > max(s, start):
            overlap[spk] = overlap.get(spk, 0.0) + min(e, end) - max(s, start)
    return max(overlap, key=overlap.get) if overlap else None


@pytest.fixture(scope="module")
def recording():
    return aepyx()


@pytest.fixture(scope="module")
def enrolled(http, recording):
    """The main speaker of the recording (most speech), enrolled from its first half."""
    seconds: dict[str, float] = {}
    for s, e, spk in recording.turns:
        seconds[spk] = seconds.get(spk, 0.0) + e - s
    person = max(seconds, key=seconds.get)
    speech = [
        recording.audio[int(s * SAMPLE_RATE) : int(min(e, SPLIT_S) * SAMPLE_RATE)]
        for s, e, spk in recording.turns
        if spk == person and s < SPLIT_S
    ]
    clip = encode(np.concatenate(speech)[: 40 * SAMPLE_RATE], "wav")
    r = http.post("/api/speakers", data={"name": "Dana"}, files=[("audio", ("dana.wav", clip))])
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["name"] == "Dana" and len(body["samples"]) == 1
    assert body["samples"][0]["source"]["kind"] == "clip"
    assert body["samples"][0]["source"]["speech_s"] > 10
    yield person, body["id"]
    http.delete(f"/api/speakers/{body['id']}")


@pytest.fixture(scope="module")
def job(http, recording, enrolled):
    """The second half of the recording, transcribed and diarized."""
    audio = recording.audio[int(SPLIT_S * SAMPLE_RATE) :]
    r = submit(http, encode(audio, "wav"), "aepyx-second-half.wav", diarize="true")
    assert r.status_code == 200, r.text
    job_id = r.json()["job_id"]
    assert wait_done(http, job_id, timeout=240)[-1]["status"] == "completed"
    return job_id


def test_an_enrolled_voice_is_named_then_taught_deleted_and_relabelled(
    http, recording, enrolled, job
):
    person, dana = enrolled
    result = http.get(f"/api/transcribe/result/{job}").json()
    segments = result["segments"]
    named = [s for s in segments if s["speaker_id"] is not None]
    assert named, [s["speaker"] for s in segments]
    assert {(s["speaker"], s["speaker_id"]) for s in named} == {("Dana", dana)}
    assert all(s["speaker_match"] >= 0.5 for s in named)
    # Dana's segments are the enrolled person's voice, by the reference annotation.
    dana_s = sum(s["end"] - s["start"] for s in named)
    right_s = sum(
        s["end"] - s["start"]
        for s in named
        if _reference_speaker(recording.turns, s["start"], s["end"]) == person
    )
    assert right_s / dana_s >= 0.8
    # Everyone else stays unknown.
    others = {s["speaker"] for s in segments if s["speaker_id"] is None and s["speaker"]}
    assert others and all(name.startswith("SPEAKER_") for name in others)
    # The exports carry the name.
    txt = http.get(f"/api/transcribe/result/{job}", params={"format": "txt"}).text
    assert "Dana: " in txt
    _enroll_by_naming_then_delete_and_relabel(http, enrolled, job)


def test_another_key_gets_404_for_every_speaker_route(http_user, enrolled):
    _, dana = enrolled
    assert http_user.get(f"/api/speakers/{dana}").status_code == 404
    assert http_user.patch(f"/api/speakers/{dana}", json={"name": "Eve"}).status_code == 404
    assert http_user.delete(f"/api/speakers/{dana}").status_code == 404
    assert dana not in [s["id"] for s in http_user.get("/api/speakers").json()["speakers"]]


def _enroll_by_naming_then_delete_and_relabel(http, enrolled, job):
    """Runs after the naming checks, in the same test: it deletes Dana (tests run in any
    order, and the others need her)."""
    _, dana = enrolled
    result = http.get(f"/api/transcribe/result/{job}").json()
    unknown = next(s["speaker"] for s in result["segments"] if s["speaker_id"] is None)
    r = http.put(
        f"/api/transcribe/result/{job}/speakers",
        json={"version": result["version"], "names": {unknown: "Eli"}, "enroll": True},
    )
    assert r.status_code == 200, r.text
    eli = r.json()["enrolled"]["Eli"]
    shown = http.get(f"/api/speakers/{eli}").json()
    assert shown["name"] == "Eli"
    assert shown["samples"][0]["source"]["kind"] == "job"
    assert shown["samples"][0]["source"]["job_id"] == job
    assert {s["id"] for s in http.get("/api/speakers").json()["speakers"]} >= {dana, eli}

    # Deleting Dana, then relabelling: the job no longer names her; texts are kept.
    before = http.get(f"/api/transcribe/result/{job}").json()
    assert http.delete(f"/api/speakers/{dana}").status_code == 204
    assert http.get(f"/api/speakers/{dana}").status_code == 404
    r = http.post("/api/speakers/relabel", json={"job_ids": [job]})
    assert r.status_code == 202, r.text
    relabel = r.json()["job_id"]
    deadline = time.time() + 60
    while (status := http.get(f"/api/speakers/relabel/{relabel}").json())["status"] == "processing":
        assert time.time() < deadline, status
        time.sleep(0.2)
    assert status["status"] == "completed" and status["result"] == {"jobs": 1, "relabelled": 1}
    after = http.get(f"/api/transcribe/result/{job}").json()
    assert after["version"] == before["version"] + 1
    assert "Dana" not in {s["speaker"] for s in after["segments"]}
    assert [s["text"] for s in after["segments"]] == [s["text"] for s in before["segments"]]
    http.delete(f"/api/speakers/{eli}")
