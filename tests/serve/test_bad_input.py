"""The bad-input corpus against the live server: every case gets a 4xx in the one error
envelope, no case creates a job that could get stuck, and the server stays healthy."""

from __future__ import annotations

import contextlib
import struct
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import psutil
import pytest
from websockets.exceptions import InvalidStatus

from eval.speech import SENTENCES, encode, speech
from tests.serve.helpers import USER_KEY, follow, wait_done
from tests.unit.audio import bombs

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
    # Other tests may have made jobs with this key too (any order): its own is listed, the
    # admin's is not.
    listed = {j["job_id"] for j in http_user.get("/api/transcribe/jobs").json()["jobs"]}
    assert own.json()["job_id"] in listed and job_id not in listed


# ---- decode bombs and unusable kinds, on every route that decodes audio ---------------------

# The test server's limits: chunker.max_audio_duration_s 180, retranscriber.max_span_s 600,
# ingress.max_upload_mb 5. Each bomb holds an hour (or claims one) in under 1 MB.
BOMBS = {
    "an hour of Opus silence in Matroska without duration": (bombs.opus_silence_mkv(3600), 400),
    "FLAC whose header says 1 s and holds an hour": (
        bombs.flac_silence(3600, claimed_samples=8000),
        400,
    ),
    "FLAC with no length in its header, an hour": (
        bombs.flac_silence(3600, claimed_samples=0),
        400,
    ),
    "WAV of 8-bit at 1 Hz (an hour in 3.6 KB)": (bombs.wav(rate=1, frames=3600, bits=8), 400),
    "WAV at 384 kHz": (bombs.wav(rate=384000, frames=384000), 400),
    "WAV with 64 channels": (bombs.wav(channels=64, frames=16000), 400),
    "video without audio": (bombs.video_without_audio(), 400),
    "zero-length WAV data": (bombs.wav(frames=0), 400),
    "NUT container (off the demuxer list)": (bombs.nut(), 415),
}


def _post(http: httpx.Client, route: str, data: bytes, name: str) -> httpx.Response:
    if route == "transcribe":
        return http.post(TRANSCRIBE, files={"file": (name, data)}, data={"diarize": "false"})
    if route == "openai":
        return http.post("/v1/audio/transcriptions", files={"file": (name, data)})
    fields = {"segment_id": "1", "start_time": "0", "end_time": "1"}
    return http.post("/api/retranslate/segment", files={"file": (name, data)}, data=fields)


def _chunker_processes() -> list[psutil.Process]:
    """The chunker replicas' worker processes (Ray titles them ``ray::ServeReplica:..``)."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        line = " ".join(proc.info["cmdline"] or [])
        if "ServeReplica" in line and "Chunker" in line:
            found.append(proc)
    return found


class PeakRss:
    """Samples the summed RSS of some processes every 20 ms while the block runs."""

    def __init__(self, processes: list[psutil.Process]) -> None:
        self.processes, self.peak, self.base = processes, 0, 0
        self._stop = threading.Event()

    def _rss(self) -> int:
        total = 0
        for proc in self.processes:
            with contextlib.suppress(psutil.Error):
                total += proc.memory_info().rss
        return total

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self._rss())

    def __enter__(self) -> PeakRss:
        self.base = self.peak = self._rss()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.base) / 2**20


def test_decode_bombs_and_unusable_kinds_get_4xx_on_every_route(http: httpx.Client) -> None:
    """Each bomb is refused by the content it decodes to, on the native, the OpenAI and the
    clip route, with the chunker's memory bounded: it never holds more than the limit's
    worth of audio (180 s is 11 MB), where it decoded the whole hour (about 0.5 GB) before."""
    chunkers = _chunker_processes()
    assert chunkers, "no chunker replica process found"
    before = http.get("/api/transcribe/jobs").json()["total"]
    statuses: Counter[int] = Counter()
    wrong = []
    with PeakRss(chunkers) as rss:
        for case, (data, status) in BOMBS.items():
            for route in ("transcribe", "openai", "clip"):
                r = _post(http, route, data, "bomb.mkv")
                statuses[r.status_code] += 1
                body = r.json()
                if r.status_code != status or not (body.get("detail") and body.get("code")):
                    wrong.append((case, route, r.status_code, r.text[:200]))
    server_errors = sum(n for code, n in statuses.items() if code >= 500)
    print(
        f"\nbad-input corpus (bombs): {len(BOMBS)} inputs x 3 routes = "
        f"{sum(statuses.values())} requests, {server_errors} 5xx, statuses {dict(statuses)}; "
        f"chunker RSS {rss.base / 2**20:.0f} MB, peak +{rss.growth_mb:.0f} MB"
    )
    assert not wrong, wrong
    assert server_errors == 0
    assert rss.growth_mb < 150, rss.growth_mb
    # nothing was created that could be left processing
    assert http.get("/api/transcribe/jobs").json()["total"] == before
    assert http.get("/health").status_code == 200


def test_too_long_names_the_limit(http: httpx.Client) -> None:
    r = _post(http, "transcribe", bombs.opus_silence_mkv(3600), "hour.mkv")
    assert r.status_code == 400 and "chunker.max_audio_duration_s" in r.json()["detail"]
    r = _post(http, "clip", bombs.opus_silence_mkv(3600), "hour.mkv")
    assert r.status_code == 400 and "retranscriber.max_span_s" in r.json()["detail"]


# ---- odd but valid uploads complete cleanly ---------------------------------------------------

NAMES = [
    "../../etc/passwd",
    "..\\..\\windows\\win.ini",
    "/abs/path/meeting.wav",
    "会議の録音 \u2013 Besprechung.wav",
    "\u202egnp.wav",  # right-to-left override
    "x" * 255 + ".wav",
    "%2e%2e%2fjob.wav",
]


def test_path_like_and_unicode_filenames_complete(http: httpx.Client) -> None:
    tried, server_errors = 0, 0
    for name in NAMES:
        r = http.post(TRANSCRIBE, files={"file": (name, WAV)}, data={"diarize": "false"})
        tried += 1
        server_errors += r.status_code >= 500
        assert r.status_code == 200, (name, r.text)
        final = wait_done(http, r.json()["job_id"], timeout=120)[-1]
        assert final["status"] == "completed", (name, final)
    print(f"\nbad-input corpus (filenames): {tried} inputs, {server_errors} 5xx")


def test_a_wav_header_that_overstates_its_length_completes_with_what_is_there(
    http: httpx.Client,
) -> None:
    fmt = WAV.index(b"data")
    lying = WAV[: fmt + 4] + struct.pack("<I", 0x7FFFFF00) + WAV[fmt + 8 :]  # "18 hours"
    r = http.post(
        "/v1/audio/transcriptions",
        files={"file": ("lying.wav", lying)},
        data={"response_format": "verbose_json"},
    )
    assert r.status_code == 200, r.text
    assert abs(r.json()["duration"] - len(WAV[fmt + 8 :]) / 32000) < 0.1, r.json()["duration"]


def test_a_slowly_trickled_upload_is_handled_cleanly(http: httpx.Client) -> None:
    """A body sent in 40 pieces over about 6 s: the upload completes, and /health answers at
    once meanwhile (the trickle holds no worker)."""
    boundary = "trickle0boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="t.wav"\r\n'
        "Content-Type: audio/wav\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    body = head + WAV + tail
    pieces = [body[i : i + len(body) // 40 + 1] for i in range(0, len(body), len(body) // 40 + 1)]

    def trickle() -> Iterator[bytes]:
        for piece in pieces:
            time.sleep(0.15)
            yield piece

    health: list[float] = []

    def probe() -> None:
        for _ in range(5):
            time.sleep(0.8)
            started = time.perf_counter()
            assert http.get("/health").status_code == 200
            health.append(time.perf_counter() - started)

    prober = threading.Thread(target=probe)
    prober.start()
    r = http.post(
        TRANSCRIBE,
        content=trickle(),
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    prober.join()
    assert r.status_code == 200, r.text
    assert wait_done(http, r.json()["job_id"], timeout=120)[-1]["status"] == "completed"
    assert health and max(health) < 2.0, health
