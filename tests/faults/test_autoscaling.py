"""Drill: autoscaling on a real two-node Ray cluster on loopback, with logical GPUs.

``ray start --head`` and a second ``ray start`` node (``tests/faults/loopback_node.py``),
each with ``--num-gpus=1`` (logical: no CUDA is used). The ASR asks for half a GPU per
replica and scales on queued audio (``serve_app/autoscaling/policy.py``), so a third
replica must land on the second node. A burst of long uploads scales it up; when the
backlog drains it scales back down while a job still runs, and that job completes. The
re-transcriber is scaled to zero: a request answers 503 ``starting``, the retry after the
cold start answers, and it goes back to zero. ``transcribe config check --cluster`` reads
the same cluster. Every process started here is stopped by its PID.

``run_drill`` is shared with ``bench/autoscaling.py``, which reports its timings.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import yaml

from eval.speech import SENTENCES, encode, speech
from serve_app.config import load_config
from serve_app.paths import PROJECT_ROOT
from tests.faults.cluster import non_loopback_listeners, replica_actors, wait_finished, wait_for
from tests.faults.conftest import drill_config
from tests.faults.nodes import node_of, ray_node

pytestmark = pytest.mark.faults

APP = "transcribe"
PUSH = {
    # Replicas and handles report load every 0.5 s (Ray's default is 10 s): the drill
    # measures the policy, not the reporting period.
    "RAY_SERVE_REPLICA_AUTOSCALING_METRIC_PUSH_INTERVAL_S": "0.5",
    "RAY_SERVE_HANDLE_AUTOSCALING_METRIC_PUSH_INTERVAL_S": "0.5",
}
TARGET_AUDIO_S = 60.0
MAX_ASR = 3
REPEATS = [12, 12, 72]
"""The burst: two ~7-minute uploads and one ~38-minute one (the sentences repeated), so
the long one still runs, alone, when the backlog shrinks. With a ~17-minute one the CI
machine (unloaded) finished it before the scale-down delay had passed."""
BURST_JOBS = len(REPEATS)
WORDS_PER_REPEAT = sum(len(s.split()) for s in SENTENCES)
FIELDS = {"model_name": "tiny.en", "language": "en", "diarize": "false"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def long_upload(repeats: int) -> tuple[bytes, float]:
    """Synthetic long speech (espeak-ng sentences, repeated) and its seconds: a scale test,
    not accuracy."""
    samples = np.tile(speech(SENTENCES, pause_s=0.8), repeats)
    return encode(samples, "mp3"), len(samples) / 16_000


@contextlib.contextmanager
def two_gpu_nodes(logs: Path) -> Iterator[str]:
    """A head and a second node, one logical GPU each; yields the GCS address, with this
    process connected as the driver."""
    import ray

    os.environ.update(PUSH)
    port = free_port()
    address = f"127.0.0.1:{port}"
    temp_dir = tempfile.mkdtemp(prefix="ray-as-", dir="/tmp")  # short: socket paths
    common = ["--node-ip-address=127.0.0.1", "--num-cpus=2", "--num-gpus=1"]
    head_args = [
        "--head",
        f"--port={port}",
        "--include-dashboard=false",
        f"--temp-dir={temp_dir}",
        f"--ray-client-server-port={free_port()}",
    ]
    with ray_node(
        [*head_args, *common, *node_ports()], logs / "head.log", joining=False, extra_env=PUSH
    ):
        wait_for(lambda: _listening(port), timeout=90, interval=0.5)
        _connect(address)
        try:
            node_b = [f"--address={address}", *common, *node_ports()]
            with ray_node(node_b, logs / "node_b.log", joining=True, extra_env=PUSH):
                wait_for(lambda: sum(n["Alive"] for n in ray.nodes()) == 2, timeout=90)
                yield address
        finally:
            ray.shutdown()


def node_ports() -> list[str]:
    """Ports of one node's own servers: two nodes on one machine (and other Ray sessions
    on it) must not both take Ray's fixed defaults (52365 for the agent, ...)."""
    names = [
        "node-manager-port",
        "object-manager-port",
        "dashboard-agent-listen-port",
        "dashboard-agent-grpc-port",
        "metrics-export-port",
        "runtime-env-agent-port",
    ]
    return [f"--{name}={free_port()}" for name in names]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _connect(address: str) -> None:
    import ray

    ray.init(
        address=address,
        logging_level=logging.WARNING,
        runtime_env={
            "worker_process_setup_hook": "serve_app.loopback.bind_grpc_to_loopback",
            "env_vars": {"PYTHONPATH": str(PROJECT_ROOT), **PUSH},
        },
    )


def running(deployment: str) -> int:
    from ray import serve

    app = serve.status().applications.get(APP)
    if app is None or deployment not in app.deployments:
        return 0
    states: dict[Any, int] = dict(app.deployments[deployment].replica_states)
    return int(states.get("RUNNING", 0))


def drill_overrides(tmp: Path) -> dict[str, Any]:
    overrides = drill_config(tmp)
    fast = overrides["asr"]["deployment"]
    overrides["chunker"].update(chunk_length_s=30, max_inflight_chunks=4)
    overrides["asr"] = {
        "batch_size": 1,
        "deployment": {
            **fast,
            "max_ongoing_requests": 2,  # one decoding, one waiting: the rest queue in handles
            "autoscaling_config": {
                "min_replicas": 1,
                "max_replicas": MAX_ASR,
                "upscale_delay_s": 1.0,
                "downscale_delay_s": 6.0,
                "look_back_period_s": 2.0,
                # What PUSH sets; Ray checks look_back_period_s against this field.
                "metrics_interval_s": 0.5,
                "policy": {"name": "queued_audio", "target_audio_s_per_replica": TARGET_AUDIO_S},
            },
            # Half a logical GPU each: two per node, the third on the other node.
            "ray_actor_options": {"num_cpus": 0.25, "num_gpus": 0.5},
        },
    }
    overrides["diarizer"] = {"enabled": False}
    overrides["retranscriber"] = {
        "deployment": {
            "graceful_shutdown_timeout_s": 2.0,
            "autoscaling_config": {
                "min_replicas": 0,
                "max_replicas": 1,
                "downscale_delay_s": 2.0,
                "downscale_to_zero_delay_s": 3.0,
            },
            "starting_wait_s": 0.5,
            "expected_start_s": 5,
        }
    }
    return overrides


def config_check(config_file: Path | str, address: str) -> subprocess.CompletedProcess[str]:
    """``transcribe config check <file> --cluster <address>`` as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "serve_app.client.cli", "config", "check", str(config_file),
         "--cluster", address],
        capture_output=True, text=True, timeout=180, cwd=PROJECT_ROOT,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip


def run_drill(tmp: Path) -> dict[str, Any]:
    """The whole drill; returns what it measured (seconds from the burst, replica counts)."""
    from ray import serve

    from serve_app.app import build_graph

    overrides = drill_overrides(tmp)
    config = load_config(overrides)
    drill_file = tmp / "drill_serve_config.yaml"
    drill_file.write_text(yaml.safe_dump({"applications": [{"args": overrides}]}))
    found: dict[str, Any] = {}
    with two_gpu_nodes(tmp) as address:
        found["config_check"] = config_check(drill_file, address)
        found["config_check_l4"] = config_check("configs/gpu-cluster.yaml", address)
        port = free_port()
        # One proxy, on the head: both nodes share this machine's loopback.
        serve.start(proxy_location="HeadOnly", http_options={"host": "127.0.0.1", "port": port})
        serve.run(build_graph(config), name=APP, route_prefix="/")
        try:
            assert non_loopback_listeners() == []
            found.update(_scale_up_and_down(port))
            found.update(_cold_start(port))
        finally:
            serve.shutdown()
    return found


def _scale_up_and_down(port: int) -> dict[str, Any]:
    uploads = [long_upload(n) for n in REPEATS]
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as http:
        wait_for(lambda: http.get("/health").status_code == 200, timeout=60)
        assert running("WhisperASR") == 1
        burst = time.monotonic()
        jobs = [
            http.post(
                "/api/transcribe/", files={"file": (f"long{i}.mp3", audio)}, data=FIELDS
            ).json()["job_id"]
            for i, (audio, _) in enumerate(uploads)
        ]
        wait_for(lambda: running("WhisperASR") >= 2, timeout=90, interval=0.2)
        second = time.monotonic() - burst
        wait_for(lambda: running("WhisperASR") == MAX_ASR, timeout=90, interval=0.2)
        peak = time.monotonic() - burst
        nodes = {node_of(a) for a in replica_actors("WhisperASR", APP)}
        # The last job, alone, holds ~4 chunks: fewer replicas than the peak are asked for
        # while it still runs.
        last = jobs[-1]
        wait_for(
            lambda: (
                running("WhisperASR") < MAX_ASR
                or http.get(f"/api/transcribe/status/{last}").json()["status"] != "processing"
            ),
            timeout=150,
            interval=0.2,
        )
        down = time.monotonic() - burst
        still_running = [
            j for j in jobs
            if http.get(f"/api/transcribe/status/{j}").json()["status"] == "processing"
        ]  # fmt: skip
        statuses = [wait_finished(http, j, timeout=420)["status"] for j in jobs]
        drained = time.monotonic() - burst
        texts = [http.get(f"/api/transcribe/result/{j}").json()["text"].lower() for j in jobs]
        wait_for(lambda: running("WhisperASR") == 1, timeout=60, interval=0.2)
        at_min = time.monotonic() - burst
    return {
        "upload_audio_s": [round(seconds) for _, seconds in uploads],
        "second_replica_s": second,
        "peak_replicas_s": peak,
        "asr_nodes": len(nodes),
        "scale_down_started_s": down,
        "jobs_running_at_scale_down": still_running,
        "jobs_done_s": drained,
        "back_to_min_s": at_min,
        "statuses": statuses,
        "texts": texts,
    }


def _cold_start(port: int) -> dict[str, Any]:
    clip = encode(speech(SENTENCES[:1], pause_s=0.3), "wav")
    form = {"segment_id": "0", "start_time": "0", "end_time": "3", "model_name": "tiny.en"}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as http:
        assert running("Retranscriber") == 0

        def ask() -> httpx.Response:
            files = {"file": ("clip.wav", clip)}
            return http.post("/api/retranslate/segment", files=files, data=form)

        began = time.monotonic()
        first = ask()
        answered = wait_for(lambda: (r := ask()).status_code == 200 and r, timeout=120)
        cold_start = time.monotonic() - began
        wait_for(lambda: running("Retranscriber") == 0, timeout=60, interval=0.2)
        to_zero = time.monotonic() - began
    return {
        "starting_status": first.status_code,
        "starting_body": first.json(),
        "starting_retry_after": first.headers.get("Retry-After"),
        "cold_start_s": cold_start,
        "cold_start_text": answered.json()["text"],
        "back_to_zero_s": to_zero,
    }


def test_asr_scales_on_queued_audio_across_two_nodes(tmp_path: Path) -> None:
    found = run_drill(tmp_path)
    print({k: v for k, v in found.items() if k not in ("texts", "config_check", "config_check_l4")})
    check = found["config_check"]
    assert check.returncode == 0, check.stdout + check.stderr
    assert "2 live node(s); GPUs 2" in check.stdout, check.stdout
    assert "yes (up to 3 of 3)" in check.stdout and "\nplaceable" in check.stdout
    # The cluster config wants L4 cards this cluster does not have: refused before deploying.
    l4 = found["config_check_l4"]
    assert l4.returncode == 1 and "NOT placeable" in l4.stdout, l4.stdout + l4.stderr
    assert "no: no node has" in l4.stdout
    # Up: a second replica, then the third, which only fits on the second node.
    assert found["second_replica_s"] < found["peak_replicas_s"] < 90
    assert found["asr_nodes"] == 2
    # Down while a job still ran, and every job completed with its words.
    assert found["jobs_running_at_scale_down"], found
    assert found["statuses"] == ["completed"] * BURST_JOBS
    for text, repeats in zip(found["texts"], REPEATS, strict=True):
        # No chunk lost across the scale-down: (nearly) every word of the long audio is there.
        assert len(text.split()) >= 0.8 * repeats * WORDS_PER_REPEAT, text[:200]
    # Scale to zero: "starting" first, then the answer, then back to zero.
    assert found["starting_status"] == 503, found["starting_body"]
    assert found["starting_body"]["code"] == "starting"
    assert found["starting_retry_after"] == "5"
    assert "re-transcriber is starting" in found["starting_body"]["detail"]
    assert "quarterly" in found["cold_start_text"].lower()
