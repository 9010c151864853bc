"""Drill: the whole local Ray cluster is stopped mid-job and started again on the same
database and kept audio. Finished jobs are served, and the running job is resumed."""

from __future__ import annotations

import httpx
import pytest

from eval.speech import wer
from serve_app.client.api import local_headers
from serve_app.config import load_config
from serve_app.launch import local_app
from tests.faults.cluster import chunks_in_flight, wait_finished, wait_for
from tests.faults.conftest import AUDIO, FIELDS, REFERENCE, drill_config, on_shared_services

pytestmark = pytest.mark.faults


@pytest.mark.parametrize("setup", ["sqlite+files", "postgresql+s3"])
def test_cluster_restart_resumes_the_running_job(tmp_path, setup, request):
    overrides = drill_config(tmp_path)
    if setup == "postgresql+s3":
        overrides = on_shared_services(
            overrides,
            request.getfixturevalue("postgres_server_url"),
            request.getfixturevalue("s3_bucket"),
        )
    config = load_config(overrides)
    with (
        local_app(config) as url,
        httpx.Client(
            base_url=url,
            timeout=60,
            headers=local_headers(url),  # auth off: the local admin key
        ) as http,
    ):
        files = {"file": ("drill.mp3", AUDIO)}
        done = http.post("/api/transcribe/", files=files, data=FIELDS).json()["job_id"]
        assert wait_finished(http, done)["status"] == "completed"
        before = http.get(f"/api/transcribe/result/{done}").json()
        running = http.post("/api/transcribe/", files=files, data=FIELDS).json()["job_id"]
        wait_for(lambda: chunks_in_flight(http, running))
    # Ray and Serve are gone; everything that remains is the database and the audio.
    with (
        local_app(config) as url,
        httpx.Client(
            base_url=url,
            timeout=60,
            headers=local_headers(url),  # auth off: the local admin key
        ) as http,
    ):
        assert http.get(f"/api/transcribe/result/{done}").json() == before
        status = wait_finished(http, running)
        assert status["status"] == "completed", status
        result = http.get(f"/api/transcribe/result/{running}").json()
        keys = [(s["start"], s["end"], s["text"]) for s in result["segments"]]
        assert len(keys) == len(set(keys))
        assert abs(wer(REFERENCE, result["text"]) - wer(REFERENCE, before["text"])) < 0.05
        assert http.get(f"/api/transcribe/debug/{running}").json()["chunks"]
