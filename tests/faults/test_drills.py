"""Fault drills on a real local Ray cluster: real processes are killed while a job runs.

Each drill checks that the job completes, that every segment appears exactly once in the
result and on a WebSocket that followed the job from start to end, and that the WER stays
within the bound of the same job run without the fault.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from eval.speech import wer
from serve_app.client.api import local_headers
from serve_app.config import AppConfig, load_config
from tests.faults.cluster import (
    Follower,
    chunks_in_flight,
    debug,
    non_loopback_listeners,
    pid_of,
    replica_actors,
    sigkill,
    wait_finished,
    wait_for,
)
from tests.faults.conftest import AUDIO, FIELDS, REFERENCE, drill_config, on_shared_services

pytestmark = pytest.mark.faults

WER_SLACK = 0.05


@pytest.fixture(scope="module", params=["sqlite+files", "postgresql+s3"])
def config(request: Any, tmp_path_factory: Any) -> AppConfig:
    """Every drill runs on both setups: the embedded one, and shared services."""
    overrides = drill_config(tmp_path_factory.mktemp("faults"))
    if request.param == "postgresql+s3":
        overrides = on_shared_services(
            overrides,
            request.getfixturevalue("postgres_server_url"),
            request.getfixturevalue("s3_bucket"),
        )
    return load_config(overrides)


@pytest.fixture(scope="module")
def base_url(config: AppConfig) -> Iterator[str]:
    from serve_app.launch import local_app

    with local_app(config) as url:
        yield url


@pytest.fixture(scope="module")
def http(base_url: str) -> Iterator[httpx.Client]:
    # The local admin key (auth off): /debug, and the live stream of every job.
    with httpx.Client(base_url=base_url, timeout=60, headers=local_headers(base_url)) as client:
        yield client


def submit(http: httpx.Client, **fields: Any) -> str:
    response = http.post(
        "/api/transcribe/", files={"file": ("drill.mp3", AUDIO)}, data={**FIELDS, **fields}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["job_id"])


def check_exactly_once(http: httpx.Client, job_id: str, follower: Follower) -> list[dict]:
    """Completed; the WebSocket saw exactly the result's segments, each once, in order."""
    status = wait_finished(http, job_id)
    assert status["status"] == "completed", status
    follower.join(timeout=60)
    result = http.get(f"/api/transcribe/result/{job_id}").json()
    segments = result["segments"]
    keys = [(s["start"], s["end"], s["text"]) for s in segments]
    assert len(keys) == len(set(keys)), "a segment appears twice in the result"
    assert [s["start"] for s in segments] == sorted(s["start"] for s in segments)
    assert follower.segments() == segments
    seqs = [m["seq"] for m in follower.messages]
    assert seqs == sorted(set(seqs)), "the WebSocket repeated or reordered events"
    return list(segments)


@pytest.fixture(scope="module")
def baseline_wer(http: httpx.Client, base_url: str) -> float:
    job_id = submit(http)
    follower = Follower(base_url, job_id)
    segments = check_exactly_once(http, job_id, follower)
    return wer(REFERENCE, " ".join(s["text"] for s in segments))


def check_wer(segments: list[dict], baseline: float) -> None:
    assert wer(REFERENCE, " ".join(s["text"] for s in segments)) <= baseline + WER_SLACK


def test_everything_listens_on_loopback_only(http):
    assert non_loopback_listeners() == []


def test_asr_replica_killed_holding_a_chunk(http, base_url, baseline_wer):
    job_id = submit(http)
    follower = Follower(base_url, job_id)
    # As soon as two chunks run, both replicas (one request each) hold one, so whichever is
    # killed drops a chunk; most of the job is still ahead. (With one chunk running, the
    # victim could be the idle replica, and nothing would be retried.)
    wait_for(lambda: chunks_in_flight(http, job_id, done_at_least=0, running_at_least=2))
    victim = replica_actors("WhisperASR")[0]
    sigkill(pid_of(victim))
    segments = check_exactly_once(http, job_id, follower)
    check_wer(segments, baseline_wer)
    chunks = debug(http, job_id)["chunks"]
    assert any(c["attempts"] > 1 for c in chunks), chunks  # a chunk was retried
    wait_for(lambda: len(replica_actors("WhisperASR")) == 2, timeout=120)


def test_chunker_replica_killed_and_job_resumed(http, base_url, baseline_wer):
    job_id = submit(http)
    follower = Follower(base_url, job_id)
    wait_for(lambda: chunks_in_flight(http, job_id))
    (chunker,) = replica_actors("Chunker")
    sigkill(pid_of(chunker))
    killed = time.time()
    segments = check_exactly_once(http, job_id, follower)
    check_wer(segments, baseline_wer)
    job = http.get(f"/api/transcribe/debug/{job_id}").json()
    assert job["status"] == "completed"
    resumed = [
        c["started_at"] for c in job["chunks"] if c["started_at"] and c["started_at"] > killed
    ]
    assert resumed and min(resumed) - killed < 30, "the job was not resumed promptly"


def test_job_store_killed_while_a_websocket_follows(http, base_url, config, baseline_wer):
    import ray

    job_id = submit(http)
    follower = Follower(base_url, job_id)  # no reconnect: the ingress rides the restart out
    wait_for(lambda: chunks_in_flight(http, job_id))
    store = ray.get_actor(config.job_store.actor_name, namespace=config.job_store.namespace)
    sigkill(pid_of(store))
    segments = check_exactly_once(http, job_id, follower)
    check_wer(segments, baseline_wer)
    assert follower.connections == 1


def test_diarizer_dies_mid_job_and_other_jobs_are_unaffected(http, base_url):
    diarized = submit(http, diarize="true")
    plain = submit(http)
    follower = Follower(base_url, plain)

    def diarizing() -> bool:
        info = http.get(f"/api/transcribe/status/{diarized}").json()
        return "diariz" in info["message"].lower()

    wait_for(diarizing)
    (diarizer,) = replica_actors("Diarizer")
    sigkill(pid_of(diarizer))
    status = wait_finished(http, diarized)
    assert status["status"] == "completed", status
    assert "speaker diarization failed" in status["message"]
    result = http.get(f"/api/transcribe/result/{diarized}").json()
    # the transcript is whole; it keeps the speakers of the passes before the failure
    assert result["segments"] and {s["id"] for s in result["segments"]} >= {"0"}
    assert all(
        s["speaker"] in (None, *(f"SPEAKER_{i}" for i in range(1, 9))) for s in result["segments"]
    )
    check_exactly_once(http, plain, follower)


def test_redeploy_with_changed_config_mid_job(http, base_url, config, baseline_wer):
    from ray import serve

    from serve_app.app import build_graph

    job_id = submit(http)
    follower = Follower(base_url, job_id, reconnect=True)  # the ingress is redeployed too
    wait_for(lambda: chunks_in_flight(http, job_id))
    changed = config.model_copy(deep=True)
    changed.chunker.retry_backoff_s = 0.3
    changed.asr.deployment.autoscaling_config.min_replicas = 1  # type: ignore[union-attr]
    changed.asr.deployment.autoscaling_config.max_replicas = 1  # type: ignore[union-attr]
    serve.run(build_graph(changed), name="transcribe", route_prefix="/")
    segments = check_exactly_once(http, job_id, follower)
    check_wer(segments, baseline_wer)
    assert len(replica_actors("WhisperASR")) == 1  # scaled down during the job
