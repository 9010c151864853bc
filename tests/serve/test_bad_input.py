"""The bad-input corpus against the live server: every case gets a 4xx in the one error
envelope, no case creates a job that could get stuck, and the server stays healthy."""

from __future__ import annotations

import struct
from typing import Any

import httpx
import numpy as np
import pytest
from websockets.exceptions import InvalidStatus

from eval.speech import SENTENCES, encode, speech
from tests.serve.helpers import USER_KEY, follow

pytestmark = pytest.mark.serve

WAV = encode(speech(SENTENCES[:1]), "wav")
MP3 = encode(speech(SENTENCES[:1]), "mp3")
TRANSCRIBE = "/api/transcribe/"


def upload(data: bytes, name: str = "a.wav", ctype: str = "audio/wav", **fields: Any) -> dict:
    return {"files": {"file": (name, data, ctype)}, "data": fields}


def corrupt_wav() -> bytes:
    fmt = WAV.index(b"fmt ") + 8
    # channels 0, sample rate 0: a WAV header no decoder can use
    return WAV[:fmt] + struct.pack("<HHI", 1, 0, 0) + WAV[fmt + 8 :]


UPLOADS = {
    "text renamed .mp3": (upload(b"meeting notes, not audio\n" * 40, "notes.mp3"), 400),
    "truncated mp3": (upload(MP3[:150], "cut.mp3", "audio/mpeg"), 400),
    "corrupted wav header": (upload(corrupt_wav()), 400),
    "zero bytes": (upload(b""), 400),
    "header-only wav": (upload(WAV[:44]), 400),
    "0.1 s of audio": (upload(encode(np.zeros(1600, np.float32), "wav")), 400),
    "multipart without file": ({"files": {"other": ("a.wav", WAV)}}, 422),
    "not multipart": ({"content": WAV, "headers": {"content-type": "audio/wav"}}, 422),
    "no content type": ({"content": b"file=abc"}, 422),
}
FIELDS = {
    "unknown model_name": (upload(WAV, model_name="gpt-4-audio"), 400),
    "model_name too long": (upload(WAV, model_name="x" * 500), 422),
    "unknown language": (upload(WAV, language="klingon"), 400),
    "language for an English-only model": (upload(WAV, language="de"), 400),
    "boolean not a boolean": (upload(WAV, diarize="perhaps"), 422),
    "num_speakers 0": (upload(WAV, num_speakers="0"), 422),
    "num_speakers 51": (upload(WAV, num_speakers="51"), 422),
    "num_speakers not a number": (upload(WAV, num_speakers="two"), 422),
    "min above max speakers": (upload(WAV, min_speakers="4", max_speakers="2"), 400),
    "num with min speakers": (upload(WAV, num_speakers="2", min_speakers="2"), 400),
}


@pytest.mark.parametrize("case", [*UPLOADS, *FIELDS])
def test_bad_uploads_and_fields(http: httpx.Client, case: str) -> None:
    request, status = {**UPLOADS, **FIELDS}[case]
    before = http.get("/api/transcribe/jobs").json()["total"]
    r = http.post(TRANSCRIBE, **request)
    assert r.status_code == status, (case, r.text)
    body = r.json()
    assert body["detail"] and body["code"] and body["request_id"], body
    # nothing was created that could be left processing
    assert http.get("/api/transcribe/jobs").json()["total"] == before
    assert http.get("/health").status_code == 200


BAD_IDS = ["0123456789abcdef", "%00", "x" * 1000, "..%2F..%2Fetc%2Fpasswd", "%2e%2e"]


@pytest.mark.parametrize("job_id", BAD_IDS)
def test_bad_job_ids(http: httpx.Client, base_url: str, job_id: str) -> None:
    for path in ("status", "result", "debug"):
        r = http.get(f"/api/transcribe/{path}/{job_id}")
        assert r.status_code == 404, (path, job_id, r.text)
    r = http.get(f"/api/summary/status/{job_id}")
    assert r.status_code in (404, 503), r.text
    span = {"segment_id": 1, "start_time": 0, "end_time": 1}
    r = http.post("/api/retranslate/segment-from-full", params={"job_id": job_id}, json=span)
    assert r.status_code in (404, 422), r.text
    if len(job_id) < 100:
        try:
            assert follow(base_url, job_id, timeout=30)[0]["status"] == "not_found"
        except InvalidStatus as exc:  # a decoded "/" matches no route: handshake refused
            assert exc.response.status_code in (403, 404), exc


def test_bad_bodies(http: httpx.Client) -> None:
    line = {"start": 0, "end": 1, "text": "hi"}
    ask = [{"role": "user", "content": "?"}]
    cases = [
        (
            "/api/summary/",
            {"content": b"{not json", "headers": {"content-type": "application/json"}},
            422,
        ),
        ("/api/summary/", {"json": {"transcript": [line] * 501}}, 400),
        ("/api/chat/", {"json": {"transcript": [line], "messages": ask * 21}}, 400),
        ("/api/chat/", {"json": {"transcript": [line], "messages": ask, "max_tokens": 10**6}}, 422),
        (
            "/api/chat/",
            {"json": {"transcript": [line], "messages": [{"role": "god", "content": "x"}]}},
            422,
        ),
        ("/v1/chat/completions", {"json": {"messages": ask, "tools": [{}]}}, 400),
        (
            "/api/retranslate/segment-from-full?job_id=x",
            {"json": {"segment_id": 1, "start_time": -1, "end_time": 1}},
            422,
        ),
        (
            "/api/retranslate/segment-from-full?job_id=x",
            {"json": {"segment_id": 1, "start_time": 5, "end_time": 2}},
            400,
        ),
        (TRANSCRIBE, {"files": {"file": ("big.wav", b"\0" * 6_000_000)}}, 413),
    ]
    for path, request, status in cases:
        r = http.post(path, **request)
        assert r.status_code == status, (path, r.text)
        assert r.json()["detail"], r.text
    assert http.get("/health").status_code == 200


def test_auth_cases(base_url: str, http: httpx.Client, http_user: httpx.Client) -> None:
    with httpx.Client(base_url=base_url, timeout=30) as anonymous:
        assert anonymous.get("/health").status_code == 200
        r = anonymous.get("/api/transcribe/jobs")
        assert r.status_code == 401 and r.json()["code"] == "unauthorized"
        r = anonymous.get("/api/transcribe/jobs", headers={"Authorization": "Bearer sk-wrong"})
        assert r.status_code == 401
        r = anonymous.post(TRANSCRIBE, files={"file": ("a.wav", WAV)})
        assert r.status_code == 401
    # a job of the admin key is not found for another key, nor listed, nor streamed
    job_id = http.post(
        TRANSCRIBE, files={"file": ("a.wav", WAV)}, data={"diarize": "false"}
    ).json()["job_id"]
    assert http_user.get(f"/api/transcribe/status/{job_id}").status_code == 404
    assert http_user.get(f"/api/transcribe/result/{job_id}").status_code == 404
    assert job_id not in {j["job_id"] for j in http_user.get("/api/transcribe/jobs").json()["jobs"]}
    assert follow(base_url, job_id, timeout=30, key=USER_KEY)[0]["status"] == "not_found"
    assert http_user.get(f"/api/transcribe/debug/{job_id}").status_code == 403
    own = http_user.post(TRANSCRIBE, files={"file": ("b.wav", WAV)}, data={"diarize": "false"})
    assert own.status_code == 200
    listed = http_user.get("/api/transcribe/jobs").json()
    assert [j["job_id"] for j in listed["jobs"]] == [own.json()["job_id"]]
