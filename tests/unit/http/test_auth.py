"""API keys, ownership, CORS and WebSocket origins, rate limits and route limits, on the
plain FastAPI app with the real in-process job store."""

from __future__ import annotations

import asyncio
import hashlib

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from starlette.websockets import WebSocketDisconnect

from serve_app.asr.registry import ModelRegistry
from serve_app.config import AuthConfig, IngressConfig, RateLimitConfig
from serve_app.http.auth import KeyRing
from serve_app.http.factory import create_http_app
from serve_app.jobs.model import Job, JobOptions, JobStatus
from tests.unit.http.test_routes import WAV, StoreOnlyBackend

ALICE, BOB, ROOT = "sk-alice-0123", "sk-bob-4567", "sk-root-89ab"
ORIGIN = "https://app.example.com"


@pytest.fixture
def keys_env(monkeypatch):
    sha = hashlib.sha256(BOB.encode()).hexdigest()
    monkeypatch.setenv("TEST_KEYS", f"alice={ALICE}, bob=sha256:{sha}\nroot={ROOT}")


def settings(**auth) -> IngressConfig:
    return IngressConfig(
        ws_poll_timeout_s=0.2,
        cors_origins=[ORIGIN],
        auth=AuthConfig(enabled=True, keys_env="TEST_KEYS", admin_names=["root"], **auth),
        rate_limit=RateLimitConfig(requests_per_s=1000, burst=1000),
    )


@pytest.fixture
def backend():
    return StoreOnlyBackend()


@pytest.fixture
def client(backend, tmp_path, keys_env):
    app = create_http_app(backend, ModelRegistry(tmp_path), settings())
    return TestClient(app, raise_server_exceptions=False)


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def upload(client, key: str) -> str:
    r = client.post("/api/transcribe/", files={"file": ("a.wav", WAV)}, headers=auth(key))
    assert r.status_code == 200, r.text
    return str(r.json()["job_id"])


def test_keys_from_env_and_file_hashed_and_checked(tmp_path, keys_env):
    file = tmp_path / "keys"
    file.write_text("# name key [admin]\ncarol sk-carol admin\n\n")
    ring = KeyRing.from_config(
        AuthConfig(enabled=True, keys_env="TEST_KEYS", keys_file=str(file)), tmp_path
    )
    assert len(ring) == 4
    assert ring.authenticate(ALICE).name == "alice" and not ring.authenticate(ALICE).admin
    assert ring.authenticate(BOB).name == "bob"  # configured by its digest only
    assert ring.authenticate("sk-carol").admin
    assert ring.authenticate("sk-alice-0124") is None and ring.authenticate("") is None


def test_auth_on_without_keys_is_a_config_error(tmp_path, monkeypatch):
    monkeypatch.delenv("NO_SUCH_KEYS", raising=False)
    with pytest.raises(ValueError, match="no key is configured"):
        KeyRing.from_config(AuthConfig(enabled=True, keys_env="NO_SUCH_KEYS"), tmp_path)


def test_wildcard_cors_is_refused_with_auth_on():
    with pytest.raises(ValidationError, match="cors_origins"):
        IngressConfig(cors_origins=["*"], auth=AuthConfig(enabled=True))


def test_missing_or_wrong_key_is_401_and_health_stays_open(client):
    assert client.get("/health").status_code == 200
    for headers in ({}, auth("sk-nope"), {"Authorization": f"Basic {ALICE}"}):
        r = client.get("/api/transcribe/jobs", headers=headers)
        assert r.status_code == 401 and r.json()["code"] == "unauthorized"
        assert r.headers["www-authenticate"].startswith("Bearer")
    r = client.post("/api/transcribe/", files={"file": ("a.wav", WAV)})
    assert r.status_code == 401
    assert client.post("/v1/chat/completions", json={}).status_code == 401
    assert client.get("/api/transcribe/jobs", headers=auth(ALICE)).status_code == 200


def test_each_key_sees_only_its_own_jobs_and_admin_sees_all(client, backend):
    mine, theirs = upload(client, ALICE), upload(client, BOB)
    for path in ("status", "result", "debug"):
        assert client.get(f"/api/transcribe/{path}/{theirs}", headers=auth(ALICE)).status_code in (
            403,
            404,
        )
    assert client.get(f"/api/transcribe/status/{theirs}", headers=auth(ALICE)).status_code == 404
    listed = client.get("/api/transcribe/jobs", headers=auth(ALICE)).json()
    assert [j["job_id"] for j in listed["jobs"]] == [mine] and listed["total"] == 1
    everyone = client.get("/api/transcribe/jobs", headers=auth(ROOT)).json()
    assert {j["job_id"] for j in everyone["jobs"]} == {mine, theirs}
    # re-transcribing another key's job (and overwriting it with apply=true) is not found
    body = {"segment_id": 1, "start_time": 0, "end_time": 1, "apply": True}
    r = client.post(
        "/api/retranslate/segment-from-full",
        params={"job_id": theirs},
        json=body,
        headers=auth(ALICE),
    )
    assert r.status_code == 404


def test_debug_is_for_admin_keys_only(client, backend):
    job_id = upload(client, ALICE)
    r = client.get(f"/api/transcribe/debug/{job_id}", headers=auth(ALICE))
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    assert client.get(f"/api/transcribe/debug/{job_id}", headers=auth(ROOT)).status_code == 200


def test_idempotency_keys_are_per_owner(client):
    headers = {**auth(ALICE), "Idempotency-Key": "same"}
    first = client.post("/api/transcribe/", files={"file": ("a.wav", WAV)}, headers=headers)
    again = client.post("/api/transcribe/", files={"file": ("a.wav", WAV)}, headers=headers)
    other = client.post(
        "/api/transcribe/",
        files={"file": ("a.wav", WAV)},
        headers={**auth(BOB), "Idempotency-Key": "same"},
    )
    assert first.json()["job_id"] == again.json()["job_id"] != other.json()["job_id"]


def test_websocket_key_as_subprotocol_and_origin_check(client, backend):
    job_id = upload(client, ALICE)
    asyncio.run(backend.store.update_job(job_id, status=JobStatus.COMPLETED))
    url = f"/api/transcribe/live/{job_id}"
    with client.websocket_connect(
        url, subprotocols=["transcribe", f"bearer.{ALICE}"], headers={"Origin": ORIGIN}
    ) as ws:
        assert ws.accepted_subprotocol == "transcribe"
        assert ws.receive_json()["status"] == "completed"
    with client.websocket_connect(url, headers=auth(ALICE)) as ws:  # non-browser clients
        assert ws.receive_json()["status"] == "completed"
    # The server's own page (the web UI) is always allowed: its origin is the Host.
    same = {"Origin": "http://127.0.0.1"}
    with client.websocket_connect(
        url, subprotocols=["transcribe", f"bearer.{ALICE}"], headers=same
    ) as ws:
        assert ws.receive_json()["status"] == "completed"
    with client.websocket_connect(url, headers=auth(BOB)) as ws:  # not Bob's job
        assert ws.receive_json()["status"] == "not_found"
    for kwargs in (
        {},  # no key
        {"subprotocols": ["transcribe", "bearer.sk-nope"]},
        {"subprotocols": ["transcribe", f"bearer.{ALICE}"], "headers": {"Origin": "https://evil"}},
    ):
        with pytest.raises(WebSocketDisconnect), client.websocket_connect(url, **kwargs):
            pass


def test_rate_limit_is_429_with_retry_after(backend, tmp_path, keys_env):
    config = settings().model_copy(
        update={"rate_limit": RateLimitConfig(requests_per_s=0.5, burst=3)}
    )
    client = TestClient(create_http_app(backend, ModelRegistry(tmp_path), config))
    codes = [client.get("/api/transcribe/jobs", headers=auth(ALICE)).status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429]
    r = client.get("/api/transcribe/jobs", headers=auth(ALICE))
    assert r.json()["code"] == "rate_limited" and int(r.headers["retry-after"]) >= 1
    assert client.get("/api/transcribe/jobs", headers=auth(BOB)).status_code == 200  # per key
    assert client.get("/health").status_code == 200


def test_jobs_are_paginated(client, backend):
    ids = [upload(client, ALICE) for _ in range(5)]
    page = client.get("/api/transcribe/jobs?limit=2&offset=1", headers=auth(ALICE)).json()
    assert page["count"] == 2 and page["total"] == 5 and page["offset"] == 1
    assert [j["job_id"] for j in page["jobs"]] == ids[::-1][1:3]  # newest first
    assert client.get("/api/transcribe/jobs?limit=0", headers=auth(ALICE)).status_code == 422
    assert client.get("/api/transcribe/jobs?limit=501", headers=auth(ALICE)).status_code == 422


class SummaryJobsOnly:
    """Summary jobs in the real job store, with the assistant's ownership rule; no LLM."""

    def __init__(self, store) -> None:
        self.store = store

    def list_models(self):
        return []

    async def submit_summary(self, req, owner):
        job = Job(
            job_id=f"s{len(await self.store.list_jobs(None))}",
            kind="summary",
            owner=owner,
            options=JobOptions(model_name="m"),
        )
        return await self.store.create_job(job)

    async def summary_status(self, job_id, owner):
        from serve_app.errors import JobNotFoundError
        from serve_app.llm.schemas import SummaryJobStatus

        job = await self.store.get_job(job_id)
        if job is None or (owner is not None and job.owner != owner):
            raise JobNotFoundError("Summary job not found or expired")
        return SummaryJobStatus(job_id=job_id, status="processing", message="", progress=0)


def test_summary_jobs_belong_to_their_key(backend, tmp_path, keys_env):
    assistant = SummaryJobsOnly(backend.store)
    app = create_http_app(backend, ModelRegistry(tmp_path), settings(), assistant=assistant)
    client = TestClient(app, raise_server_exceptions=False)
    body = {"transcript": [{"start": 0, "end": 1, "text": "hi"}]}
    job_id = client.post("/api/summary/", json=body, headers=auth(ALICE)).json()["job_id"]
    assert client.get(f"/api/summary/status/{job_id}", headers=auth(ALICE)).status_code == 200
    assert client.get(f"/api/summary/status/{job_id}", headers=auth(BOB)).status_code == 404
    assert client.get(f"/api/summary/status/{job_id}", headers=auth(ROOT)).status_code == 200


def test_stored_owner_survives_in_the_job(backend):
    job = Job(job_id="x", options=JobOptions(model_name="tiny.en"), owner="alice")
    assert Job.model_validate_json(job.model_dump_json()).owner == "alice"


def test_route_limits_are_400_or_413_before_the_llm(tmp_path):
    from serve_app.config import LimitsConfig

    config = IngressConfig(
        limits=LimitsConfig(
            max_json_mb=0.01, max_transcript_segments=3, max_messages=2, max_tokens=64
        )
    )
    app = create_http_app(StoreOnlyBackend(), ModelRegistry(tmp_path), config, assistant=object())
    client = TestClient(app, raise_server_exceptions=False)
    line = {"start": 0, "end": 1, "text": "hi"}
    ask = [{"role": "user", "content": "?"}]
    cases = [
        ("/api/summary/", {"transcript": [line] * 4}, 400, "max_transcript_segments"),
        ("/api/chat/", {"transcript": [line], "messages": ask * 3}, 400, "max_messages"),
        (
            "/api/chat/",
            {"transcript": [line], "messages": ask, "max_tokens": 65},
            400,
            "max_tokens",
        ),
        (
            "/api/chat/",
            {"transcript": [line] * 2, "full_text": "x" * 20_000, "messages": ask},
            413,
            "JSON",
        ),
        ("/v1/chat/completions", {"model": "m", "messages": ask, "tools": []}, 400, "tools"),
        ("/v1/chat/completions", {"model": "m", "messages": ask, "max_tokens": 999}, 400, "cap"),
        ("/v1/chat/completions", {"model": "m", "messages": "hi"}, 400, "messages"),
        ("/v1/chat/completions", {"model": "m", "messages": ask, "n": 3}, 400, "n must be 1"),
    ]
    for path, body, status, words in cases:
        r = client.post(path, json=body)
        assert r.status_code == status, (path, r.text)
        assert words in r.json()["detail"], r.json()
