"""The HTTP layer as a plain FastAPI app: routes, middleware and the error envelope.

The backend here uses the real ``JobStore`` in-process; only job *execution* is absent
(``StoreOnlyBackend.submit`` validates the audio like the chunker and records the job, but
transcribes nothing). The full pipeline is tested over HTTP in ``tests/serve``.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from eval.speech import encode
from serve_app.asr.registry import ModelRegistry
from serve_app.audio.decode import probe_audio
from serve_app.config import AuthConfig, IngressConfig
from serve_app.http.factory import create_http_app
from serve_app.jobs.model import Job, JobOptions, JobStatus, idempotency_scope
from serve_app.jobs.store import JobStore
from serve_app.transcript.segments import Segment
from tests.unit.audio.test_decode import tone


class StoreOnlyBackend:
    """Real job store, no transcription: enough to exercise every route."""

    def __init__(self) -> None:
        self.store = JobStore()
        self.fail_with: Exception | None = None
        self.audio: dict[str, bytes] = {}

    async def submit(self, job_id, upload, options, idempotency_key=None, owner=None) -> Job:
        if self.fail_with:
            raise self.fail_with
        data = upload.read()
        probe_audio(data)
        self.audio[job_id] = data
        key = idempotency_scope(owner, idempotency_key)
        job = Job(job_id=job_id, options=options, idempotency_key=key, owner=owner)
        return await self.store.create_job(job)

    async def get_job(self, job_id):
        return await self.store.get_job(job_id)

    async def get_segments(self, job_id):
        return await self.store.get_segments(job_id)

    async def list_jobs(self, owner, offset, limit):
        return await self.store.page_jobs("transcription", owner, offset, limit)

    async def retranscribe_clip(self, data, model_name, language):
        # validated like the real one; the transcription itself is tested in tests/serve
        from serve_app.transcript.spans import SpanTranscript

        probe_audio(data)
        return SpanTranscript(text="", confidence=0.0, speaker=None, model_used="tiny.en")

    async def retranscribe_span(
        self, job_id, start, end, model_name, language, apply, version=None
    ):
        raise NotImplementedError

    async def edit_segment(self, job_id, version, segment_id, text, speaker):
        return await self.store.edit_segment(job_id, version, segment_id, text, speaker)

    async def rename_speakers(self, job_id, version, names):
        return await self.store.rename_speakers(job_id, version, names)

    async def open_audio(self, job_id):
        data = self.audio.get(job_id)
        return None if data is None else io.BytesIO(data)

    async def wait_events(self, job_id, cursor, timeout_s):
        return await self.store.wait_events(job_id, cursor, min(timeout_s, 0.2))


@pytest.fixture
def backend():
    return StoreOnlyBackend()


@pytest.fixture
def client(backend, tmp_path):
    settings = IngressConfig(
        max_upload_mb=0.5,
        ws_poll_timeout_s=0.2,
        auth=AuthConfig(local_key_file=str(tmp_path / "local-key")),
    )
    app = create_http_app(backend, ModelRegistry(tmp_path), settings)
    return TestClient(app, raise_server_exceptions=False)


def local_admin(tmp_path) -> dict[str, str]:
    """The local admin key (auth off): what /debug needs."""
    return {"Authorization": f"Bearer {(tmp_path / 'local-key').read_text().strip()}"}


WAV = encode(tone(1.0), "wav")


def submit(client, data=WAV, **fields):
    return client.post(
        "/api/transcribe/", files={"file": ("a.wav", data, "audio/wav")}, data=fields
    )


def test_health_and_root(client):
    health = client.get("/health").json()
    assert health["status"] == "healthy" and "T" in health["timestamp"]
    root = client.get("/").json()
    assert root["name"] and root["version"]
    assert "POST /api/transcribe/" in root["endpoints"]
    assert "WS /api/transcribe/live/{job_id}" in root["endpoints"]


def test_request_id_is_echoed_or_assigned_and_timing_added(client):
    r = client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    elapsed = r.headers["x-process-time-ms"]  # milliseconds, one decimal
    assert elapsed.replace(".", "", 1).isdigit() and "." in elapsed, elapsed
    assert len(client.get("/health").headers["x-request-id"]) >= 16


def test_no_cors_headers_for_other_origins(client):
    r = client.get("/health", headers={"Origin": "http://example.test"})
    assert r.status_code == 403 and "access-control-allow-origin" not in r.headers


def test_submit_returns_processing_job(client, backend):
    r = submit(client)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "processing" and body["job_id"] and body["message"]
    assert client.get(f"/api/transcribe/status/{body['job_id']}").json()["status"] == "processing"
    jobs = client.get("/api/transcribe/jobs").json()
    assert jobs["count"] == 1 and jobs["jobs"][0]["job_id"] == body["job_id"]
    fields = {"job_id", "status", "progress", "updated_at", "message", "filename"}
    assert set(jobs["jobs"][0]) == fields
    assert jobs["jobs"][0]["filename"] == "a.wav"


def test_non_audio_upload_is_400_by_content(client):
    r = submit(client, data=b"definitely not audio" * 100)
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == "invalid_audio" and "audio" in body["detail"]
    assert body["request_id"] == r.headers["x-request-id"]


def test_missing_file_is_422_with_envelope(client):
    r = client.post("/api/transcribe/", data={"model_name": "tiny.en"})
    assert r.status_code == 422
    assert r.json()["code"] == "validation_error" and "file" in r.json()["detail"]


def test_bad_boolean_is_422(client):
    assert submit(client, diarize="perhaps").status_code == 422


def test_unknown_model_is_400_listing_models(client):
    r = submit(client, model_name="gpt-3.5-turbo")
    assert r.status_code == 400 and "tiny.en" in r.json()["detail"]


def test_model_not_present_is_400_saying_how(client):
    r = submit(client, model_name="large-v3")
    assert r.status_code == 400
    assert r.json()["code"] == "model_unavailable" and "not available" in r.json()["detail"]


def test_language_is_validated(client):
    assert submit(client, language="xx").status_code == 400
    r = submit(client, language="de")  # tiny.en is English-only
    assert r.status_code == 400 and "English-only" in r.json()["detail"]
    assert submit(client, language="EN").status_code == 200


def test_upload_over_limit_is_413_by_header(client):
    r = submit(client, data=b"\0" * 600_000)
    assert r.status_code == 413 and "limit" in r.json()["detail"]


def test_upload_over_limit_is_413_while_streaming(client):
    def body():
        for _ in range(100):
            yield b"\0" * 10_000

    r = client.post(
        "/api/transcribe/",
        content=body(),
        headers={"content-type": "multipart/form-data; boundary=x"},
    )
    assert r.status_code == 413


def test_status_of_unknown_job_keeps_the_status_shape(client):
    r = client.get("/api/transcribe/status/nope")
    assert r.status_code == 404
    assert r.json() == {
        "job_id": "nope",
        "status": "not_found",
        "message": "Transcription job not found or expired",
        "progress": 0,
        "updated_at": None,
    }


def test_result_404_409_and_200(client, backend, tmp_path):
    assert client.get("/api/transcribe/result/nope").status_code == 404
    job_id = submit(client).json()["job_id"]
    r = client.get(f"/api/transcribe/result/{job_id}")
    assert r.status_code == 409 and "still processing" in r.json()["detail"]

    import asyncio

    asyncio.run(
        backend.store.update_job(
            job_id,
            status=JobStatus.COMPLETED,
            language="en",
            audio_duration=3.5,
            segments=[Segment(start=0.25, end=61.5, text="Hello there.")],
        )
    )
    result = client.get(f"/api/transcribe/result/{job_id}").json()
    assert result["text"] == "Hello there." and result["language"] == "en"
    assert result["segments"][0] == {
        "id": "0",
        "start": 0.25,
        "end": 61.5,
        "text": "Hello there.",
        "speaker": None,
        "speaker_confidence": None,
        "speaker_id": None,
        "speaker_match": None,
        "start_display": "00:00:00.250",
        "end_display": "00:01:01.500",
    }
    debug = client.get(f"/api/transcribe/debug/{job_id}", headers=local_admin(tmp_path)).json()
    assert debug["cached_segments"] == 1 and debug["latest_segment_time"] == 61.5


def test_failed_job_result_is_409_with_reason(client, backend):
    import asyncio

    job_id = submit(client).json()["job_id"]
    asyncio.run(backend.store.update_job(job_id, status=JobStatus.FAILED, message="boom"))
    r = client.get(f"/api/transcribe/result/{job_id}")
    assert r.status_code == 409 and "boom" in r.json()["detail"]


def test_unexpected_error_is_500_with_envelope_and_headers(client, backend):
    backend.fail_with = RuntimeError("kaboom")
    r = submit(client)
    assert r.status_code == 500
    assert r.json()["detail"] == "Internal server error" and r.json()["code"] == "internal_error"
    assert r.headers["x-request-id"] and r.headers["x-process-time-ms"]
    assert client.get("/health").status_code == 200


def test_websocket_replays_then_closes_when_finished(client, backend):
    import asyncio

    job_id = submit(client).json()["job_id"]
    asyncio.run(
        backend.store.update_job(
            job_id, segments=[Segment(start=0, end=1, text="One.")], status=JobStatus.COMPLETED
        )
    )
    with client.websocket_connect(f"/api/transcribe/live/{job_id}") as ws:
        messages = [ws.receive_json() for _ in range(2)]
    # a finished job's history: its segments, then its final status
    assert [m["type"] for m in messages] == ["segment", "status"]
    assert messages[0]["text"] == "One." and messages[0]["start_display"] == "00:00:00.000"
    assert messages[-1]["status"] == "completed" and messages[-1]["progress"] == 100
    assert messages[0]["seq"] < messages[1]["seq"]
    # a client reconnecting after the segment gets only the rest
    with client.websocket_connect(
        f"/api/transcribe/live/{job_id}?after={messages[0]['seq']}"
    ) as ws:
        assert ws.receive_json()["status"] == "completed"
    assert set(messages[-1]["chunk_info"]) == {
        "current_chunk",
        "total_chunks",
        "chunk_progress",
        "diarization_progress",
    }


def test_idempotency_key_returns_the_same_job(client):
    headers = {"Idempotency-Key": "upload-7"}
    files = {"file": ("a.wav", WAV, "audio/wav")}
    first = client.post("/api/transcribe/", files=files, headers=headers).json()
    again = client.post("/api/transcribe/", files=files, headers=headers).json()
    other = client.post("/api/transcribe/", files=files).json()
    assert first["job_id"] == again["job_id"] != other["job_id"]


def test_overload_is_503_with_retry_after(client, backend):
    from serve_app.errors import OverloadedError

    backend.fail_with = OverloadedError("Every transcription slot is busy")
    r = submit(client)
    assert r.status_code == 503 and r.headers["retry-after"] == "5"
    assert r.json()["code"] == "overloaded"


def test_websocket_unknown_job_says_not_found_and_closes(client):
    with client.websocket_connect("/api/transcribe/live/nope") as ws:
        message = ws.receive_json()
        assert message["type"] == "status" and message["status"] == "not_found"
        with pytest.raises(Exception):  # noqa: B017 - the server closed the socket
            ws.receive_json()


def test_summary_jobs_are_not_transcription_jobs(client, backend, tmp_path):
    import asyncio

    asyncio.run(
        backend.store.create_job(
            Job(job_id="s1", kind="summary", options=JobOptions(model_name="smollm2"))
        )
    )
    assert client.get("/api/transcribe/status/s1").status_code == 404
    assert client.get("/api/transcribe/result/s1").status_code == 404
    debug = client.get("/api/transcribe/debug/s1", headers=local_admin(tmp_path))
    assert debug.status_code == 404


def test_filenames_are_metadata_never_paths(client, backend, tmp_path):
    import asyncio

    name = "../../../../tmp/evil\r\nX-Injected: 1.wav"
    r = client.post("/api/transcribe/", files={"file": (name, WAV, "audio/wav")})
    assert r.status_code == 200, r.text
    job_id = r.json()["job_id"]
    assert set(job_id) <= set("0123456789abcdef")  # what storage keys are made of
    job = asyncio.run(backend.store.get_job(job_id))
    assert job.options.filename.startswith("../../../../tmp/evil")  # metadata only
    asyncio.run(
        backend.store.update_job(
            job_id,
            status=JobStatus.COMPLETED,
            segments=[Segment(start=0, end=1, text="One.")],
        )
    )
    export = client.get(f"/api/transcribe/result/{job_id}?format=srt")
    disposition = export.headers["content-disposition"]
    assert "/" not in disposition and "\n" not in disposition and ".." not in disposition
    assert "x-injected" not in {k.lower() for k in export.headers}
    # The upload is stored under the job id; the name's "../" leads nowhere.
    assert list(backend.audio) == [job_id]
    assert not list(Path(tempfile.gettempdir()).glob("evil*"))
