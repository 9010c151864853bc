"""Re-transcribing one segment: from an uploaded clip or from the job's kept audio."""

from __future__ import annotations

import pytest

from eval.speech import SENTENCES, encode, speech
from tests.serve.helpers import submit, wait_done, wer

pytestmark = pytest.mark.serve

REFERENCE = SENTENCES[:3]
AUDIO = speech(REFERENCE)


@pytest.fixture(scope="module")
def job(http):
    job_id = submit(http, encode(AUDIO, "mp3"), name="three.mp3").json()["job_id"]
    assert wait_done(http, job_id)[-1]["status"] == "completed"
    return job_id, http.get(f"/api/transcribe/result/{job_id}").json()["segments"]


def span_request(http, job_id, body, **params):
    return http.post(
        "/api/retranslate/segment-from-full", params={"job_id": job_id, **params}, json=body
    )


def test_segment_from_full_with_the_configured_model(http, job):
    job_id, segments = job
    first = segments[0]
    r = span_request(
        http, job_id, {"segment_id": 0, "start_time": first["start"], "end_time": first["end"]}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["segment_id"] == "0" and body["model_used"] == "base"
    assert 0 < body["confidence"] <= 1
    assert body["speaker"] == first["speaker"] == "SPEAKER_1"
    assert wer(first["text"], body["text"]) < 0.35  # base vs tiny.en on the same span


def test_apply_replaces_the_segment_in_the_result(http, job):
    job_id, segments = job
    second = segments[1]
    r = span_request(
        http,
        job_id,
        {
            "segment_id": "1",
            "start_time": second["start"],
            "end_time": second["end"],
            "model_name": "tiny.en",
            "apply": True,
        },
    )
    assert r.status_code == 200, r.text
    after = http.get(f"/api/transcribe/result/{job_id}").json()["segments"]
    assert len(after) == len(segments)
    assert after[1]["text"] == r.json()["text"]
    assert (after[1]["start"], after[1]["end"]) == (second["start"], second["end"])
    assert after[0] == segments[0] and after[2:] == segments[2:]


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"segment_id": 1, "start_time": 2.0, "end_time": 1.0}, 400, "greater than"),
        ({"segment_id": 1, "start_time": 500.0, "end_time": 501.0}, 400, "outside the audio"),
        (
            {"segment_id": 1, "start_time": 0, "end_time": 1, "model_name": "large-v3"},
            400,
            "not available",
        ),
        (
            {"segment_id": 1, "start_time": 0, "end_time": 1, "model_name": "nope"},
            400,
            "Unknown model",
        ),
    ],
)
def test_bad_spans_and_models_are_400(http, job, body, status, message):
    r = span_request(http, job[0], body)
    assert r.status_code == status and message in r.json()["detail"]


def test_unknown_job_is_404(http):
    r = span_request(http, "0123abcd", {"segment_id": 1, "start_time": 0, "end_time": 1})
    assert r.status_code == 404


def test_expired_audio_is_410(http, app_config):
    job_id = submit(http, encode(AUDIO, "wav"), name="gone.wav").json()["job_id"]
    assert wait_done(http, job_id)[-1]["status"] == "completed"
    from serve_app.audio.settings import open_audio_store

    open_audio_store(app_config.audio_store).delete(job_id)
    r = span_request(http, job_id, {"segment_id": 1, "start_time": 0.5, "end_time": 2.0})
    assert r.status_code == 410 and "no longer kept" in r.json()["detail"]


def test_uploaded_clip(http):
    clip = encode(speech(REFERENCE[2:3], pause_s=0.3), "wav")
    fields = {"segment_id": "7", "start_time": "12.5", "end_time": "16.0", "model_name": "base"}
    r = http.post("/api/retranslate/segment", files={"file": ("clip.wav", clip)}, data=fields)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["segment_id"] == "7" and body["speaker"] is None and body["model_used"] == "base"
    assert wer(REFERENCE[2], body["text"]) < 0.3

    fields["model_name"] = "whisper-large-v3-turbo"
    r = http.post("/api/retranslate/segment", files={"file": ("clip.wav", clip)}, data=fields)
    assert r.status_code == 400 and "large-v3-turbo" in r.json()["detail"]
    r = http.post(
        "/api/retranslate/segment",
        files={"file": ("x.wav", b"noise" * 50)},
        data={**fields, "model_name": "base"},
    )
    assert r.status_code == 400
