"""Bad input over real HTTP: a clear 4xx, nothing lost, the server healthy afterwards."""

from __future__ import annotations

import numpy as np
import pytest

from eval.speech import SENTENCES, encode, speech
from tests.serve.helpers import follow, submit

pytestmark = pytest.mark.serve

WAV = encode(speech(SENTENCES[:1]), "wav")


def test_not_audio_by_content_is_400(http):
    r = http.post(
        "/api/transcribe/",
        files={"file": ("notes.wav", b"just some text pretending to be audio\n" * 50, "audio/wav")},
    )
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == "invalid_audio" and "audio" in body["detail"]
    assert r.headers["x-request-id"] == body["request_id"]


def test_corrupt_audio_is_400(http):
    corrupt = WAV[:44] + bytes(range(256)) * 4  # a WAV header with no valid samples after it
    r = submit(http, b"RIFF\x00\x00\x00\x00WAVEfmt " + b"\xff" * 64)
    assert r.status_code == 400, r.text
    assert submit(http, corrupt[:30]).status_code == 400


def test_too_large_is_413(http):
    r = submit(http, b"\0" * 6_000_000)
    assert r.status_code == 413 and "limit" in r.json()["detail"]


def test_missing_file_is_422(http):
    r = http.post("/api/transcribe/", data={"model_name": "tiny.en"})
    assert r.status_code == 422 and r.json()["code"] == "validation_error"


def test_unknown_and_absent_models_are_400(http):
    r = submit(http, WAV, model_name="gpt-3.5-turbo")
    assert r.status_code == 400 and "Available models" in r.json()["detail"]
    r = submit(http, WAV, model_name="large-v3")
    assert r.status_code == 400 and "not available" in r.json()["detail"]


def test_unknown_job_everywhere(http, base_url):
    status = http.get("/api/transcribe/status/nope")
    assert status.status_code == 404 and status.json()["status"] == "not_found"
    assert status.json()["message"] == "Transcription job not found or expired"
    assert http.get("/api/transcribe/result/nope").status_code == 404
    assert http.get("/api/transcribe/debug/nope").status_code == 404
    messages = follow(base_url, "nope", timeout=30)
    assert len(messages) == 1 and messages[0]["status"] == "not_found"


def test_headers_on_every_response(http):
    for r in (
        http.get("/health", headers={"X-Request-ID": "req-42", "Origin": "http://127.0.0.1"}),
        http.get("/api/transcribe/result/nope", headers={"X-Request-ID": "req-42"}),
    ):
        assert r.headers.get_list("x-request-id") == ["req-42"]
        elapsed = r.headers["x-process-time-ms"]  # milliseconds, one decimal
        assert elapsed.replace(".", "", 1).isdigit() and "." in elapsed, elapsed
    # CORS answers the configured origin (auth is on, so never "*"); another origin is
    # refused before anything answers, still with the request's id and no CORS header.
    allowed = http.get("/health", headers={"Origin": "http://127.0.0.1"})
    assert allowed.headers["access-control-allow-origin"] == "http://127.0.0.1"
    other = http.get("/health", headers={"X-Request-ID": "req-43", "Origin": "http://ui.test"})
    assert other.status_code == 403, other.text
    assert other.headers.get_list("x-request-id") == ["req-43"]
    assert "access-control-allow-origin" not in other.headers


def test_models_endpoint(http):
    models = {m["name"]: m for m in http.get("/api/transcribe/models").json()["models"]}
    assert models["tiny.en"]["is_downloaded"] and models["tiny.en"]["size_mb"] > 50
    assert models["base"]["is_downloaded"]
    assert not models["large-v3"]["is_downloaded"]
    assert set(models["tiny.en"]) == {
        "name",
        "full_name",
        "is_downloaded",
        "size_mb",
        "description",
        "backend",
        "deployment",
    }
    assert models["tiny.en"]["backend"] == "faster-whisper"
    assert models["tiny.en"]["deployment"] == "WhisperASR"


def test_server_healthy_after_errors(http):
    assert http.get("/health").json()["status"] == "healthy"
    assert http.get("/").json()["endpoints"]


def test_audio_over_the_duration_limit_is_400_before_any_job(http, app_config):
    # The test server's limit is a few minutes (the default is 4 h); this file is longer.
    limit = app_config.chunker.max_audio_duration_s
    long = encode(np.zeros(int((limit + 5) * 16000), dtype=np.float32), "mp3")
    before = http.get("/api/transcribe/jobs").json()["count"]
    r = submit(http, long, name="long.mp3")
    assert r.status_code == 400, r.text
    detail = r.json()["detail"]
    assert "longer than this server's limit" in detail and "max_audio_duration_s" in detail
    assert http.get("/api/transcribe/jobs").json()["count"] == before
    assert http.get("/health").status_code == 200
