"""``/api/speakers`` in-process (real FastAPI app, real in-process job store; no diarizer,
so speakers come from a job's kept voiceprints): shapes, owners, errors."""

from __future__ import annotations

import asyncio
import os

import numpy as np
import pytest
from fastapi.testclient import TestClient

from serve_app.asr.registry import ModelRegistry
from serve_app.config import AuthConfig, IngressConfig, RateLimitConfig
from serve_app.http.factory import create_http_app
from serve_app.jobs.model import Job, JobOptions, JobStatus
from serve_app.speakers.registry import InProcessHandle, SpeakerRegistry
from serve_app.speakers.settings import SpeakerSettings
from serve_app.transcript.segments import Segment
from tests.unit.http.test_routes import StoreOnlyBackend

os.environ["SPEAKER_ROUTE_KEYS"] = "alice=sk-alice-1,bob=sk-bob-2"
ALICE = {"Authorization": "Bearer sk-alice-1"}
BOB = {"Authorization": "Bearer sk-bob-2"}


@pytest.fixture
def setup(tmp_path):
    backend = StoreOnlyBackend()
    settings = IngressConfig(
        auth=AuthConfig(enabled=True, keys_env="SPEAKER_ROUTE_KEYS"),
        rate_limit=RateLimitConfig(enabled=False),
        allowed_hosts=["testserver"],
    )
    app = create_http_app(backend, ModelRegistry(tmp_path), settings)
    app.state.speakers = SpeakerRegistry(InProcessHandle(backend.store), None, SpeakerSettings())
    voice = np.random.default_rng(1).normal(size=192)
    voice /= np.linalg.norm(voice)

    async def diarized_job():
        store = backend.store
        await store.create_job(
            Job(job_id="j1", owner="alice", options=JobOptions(model_name="tiny.en"))
        )
        await store.update_job("j1", segments=[Segment(start=0.5, end=5.5, text="hello")])
        turns = [{"start": 0.0, "end": 6.0, "speaker": "0", "confidence": 1.0}]
        await store.update_speakers("j1", turns, final=True, centroids={"0": list(voice)})
        await store.update_job("j1", status=JobStatus.COMPLETED)

    asyncio.run(diarized_job())
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_enrol_from_a_job_list_rename_delete_and_other_keys_get_404(setup):
    client = setup
    r = client.post(
        "/api/speakers", json={"name": "Ann", "job_id": "j1", "speaker": "SPEAKER_1"}, headers=ALICE
    )
    assert r.status_code == 201, r.text
    ann = r.json()
    assert set(ann) == {"id", "name", "created_at", "updated_at", "samples", "relabel_job_id"}
    assert ann["samples"][0]["source"]["kind"] == "job"
    assert (
        ann["samples"][0]["source"] | {"job_id": "j1", "speaker": "SPEAKER_1"}
        == ann["samples"][0]["source"]
    )
    listed = client.get("/api/speakers", headers=ALICE).json()["speakers"]
    assert [s["id"] for s in listed] == [ann["id"]]
    assert "embedding" not in str(listed)
    for method, extra in (("get", {}), ("patch", {"json": {"name": "X"}}), ("delete", {})):
        r = getattr(client, method)(f"/api/speakers/{ann['id']}", headers=BOB, **extra)
        assert r.status_code == 404 and r.json()["code"] == "speaker_not_found"
    # Bob cannot enrol from Alice's job either.
    r = client.post(
        "/api/speakers", json={"name": "Ann", "job_id": "j1", "speaker": "SPEAKER_1"}, headers=BOB
    )
    assert r.status_code == 404
    r = client.patch(f"/api/speakers/{ann['id']}", json={"name": "Anne"}, headers=ALICE)
    assert r.status_code == 200 and r.json()["name"] == "Anne"
    assert client.delete(f"/api/speakers/{ann['id']}", headers=ALICE).status_code == 204
    assert client.get(f"/api/speakers/{ann['id']}", headers=ALICE).status_code == 404


def test_bad_requests_are_4xx(setup):
    client = setup
    for body in (
        {"job_id": "j1", "speaker": "SPEAKER_1"},  # no name
        {"name": "Ann"},  # nothing to enrol from
        {"name": "Ann", "job_id": "j1"},  # no speaker
        {"name": "Ann", "job_id": "j1", "speaker": "SPEAKER_9"},  # not in the job
        {"name": ""},
    ):
        r = client.post("/api/speakers", json=body, headers=ALICE)
        assert 400 <= r.status_code < 500, (body, r.text)
    r = client.post("/api/speakers", content=b"{not json", headers=ALICE)
    assert r.status_code == 400
    # A clip needs the diarizer, which this app has none of: 503, never a 500.
    r = client.post(
        "/api/speakers", data={"name": "Ann"}, files=[("audio", ("a.wav", b"RIFF"))], headers=ALICE
    )
    assert r.status_code == 503
    r = client.get("/api/speakers/relabel/nope", headers=ALICE)
    assert r.status_code == 404
