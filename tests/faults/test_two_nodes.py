"""Drill: a two-node local Ray cluster (a second raylet on loopback) on PostgreSQL and S3.

The chunker is pinned to the head node and the Retranscriber to the second node, so the
audio the chunker kept must be read by another node: transcription and re-transcription
both work only if nothing lives in node-local files.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from serve_app.config import load_config
from tests.faults.cluster import (
    non_loopback_listeners,
    pid_of,
    replica_actors,
    wait_finished,
    wait_for,
)
from tests.faults.conftest import AUDIO, FIELDS, drill_config
from tests.faults.nodes import node_of, ray_node

pytestmark = pytest.mark.faults


@contextlib.contextmanager
def second_node(gcs_address: str, tmp: Path) -> Iterator[subprocess.Popen]:
    """A second node joining ``gcs_address``, with a ``node_b`` resource to pin replicas."""
    args = [
        f"--address={gcs_address}",
        "--node-ip-address=127.0.0.1",
        "--num-cpus=2",
        '--resources={"node_b": 10}',
    ]
    with ray_node(args, tmp / "node_b.log", joining=True) as node:
        yield node


def test_chunker_and_retranscriber_on_different_nodes(tmp_path, postgres_url, s3_audio):
    import ray
    from ray import serve

    from serve_app.app import build_graph
    from serve_app.launch import free_port, start_local_ray

    overrides = drill_config(tmp_path)
    overrides["job_store"]["database_url"] = postgres_url
    overrides["audio_store"] = {"url": s3_audio.url, "storage_options": s3_audio.storage_options}
    overrides["chunker"]["deployment"] = {
        **overrides["chunker"]["deployment"],
        "ray_actor_options": {"num_cpus": 0, "resources": {"node_a": 1}},
    }
    overrides["retranscriber"] = {
        "deployment": {
            "graceful_shutdown_timeout_s": 2.0,
            "ray_actor_options": {"num_cpus": 0, "resources": {"node_b": 1}},
        }
    }
    overrides["diarizer"] = {"enabled": False}
    config = load_config(overrides)
    start_local_ray(resources={"node_a": 10})
    try:
        # Ray reports the machine's address; the head's GCS listens on loopback.
        gcs = "127.0.0.1:" + ray.get_runtime_context().gcs_address.rsplit(":", 1)[1]
        with second_node(gcs, tmp_path):
            wait_for(lambda: sum(n["Alive"] for n in ray.nodes()) == 2, timeout=120)
            port = free_port()
            serve.start(http_options={"host": "127.0.0.1", "port": port})
            serve.run(build_graph(config), name="transcribe", route_prefix="/")
            (chunker,) = replica_actors("Chunker")
            (retranscriber,) = replica_actors("Retranscriber")
            assert node_of(chunker) != node_of(retranscriber)
            assert non_loopback_listeners() == []
            assert pid_of(chunker) != pid_of(retranscriber)
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as http:
                wait_for(lambda: http.get("/health").status_code == 200, timeout=60)
                files = {"file": ("two-nodes.mp3", AUDIO)}
                job_id = http.post("/api/transcribe/", files=files, data=FIELDS).json()["job_id"]
                assert wait_finished(http, job_id)["status"] == "completed"
                result = http.get(f"/api/transcribe/result/{job_id}").json()
                first = result["segments"][0]
                body = {
                    "segment_id": 0,
                    "start_time": first["start"],
                    "end_time": first["end"],
                    "model_name": "tiny.en",
                }
                started = time.time()
                r = http.post(
                    "/api/retranslate/segment-from-full", params={"job_id": job_id}, json=body
                )
                assert r.status_code == 200, r.text
                assert r.json()["text"].strip() and time.time() - started < 120
            serve.shutdown()
    finally:
        ray.shutdown()
