"""A real local Ray cluster (loopback only) running the whole Serve graph, once per session."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from serve_app.config import load_config

FAST_SHUTDOWN = {"graceful_shutdown_timeout_s": 1.0, "graceful_shutdown_wait_loop_s": 0.5}


@pytest.fixture(scope="session")
def app_config(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve")
    return load_config(
        {
            "config": "configs/local-cpu.yaml",
            "ingress": {"max_upload_mb": 5, "deployment": FAST_SHUTDOWN},
            # A short duration limit, so a test can exceed it with a small upload.
            "chunker": {"deployment": FAST_SHUTDOWN, "max_audio_duration_s": 180},
            "asr": {"deployment": FAST_SHUTDOWN},
            "job_store": {
                "database_url": f"sqlite:///{tmp / 'jobs.sqlite3'}",
                "actor_name": "job_store_test",
            },
            "audio_store": {"url": str(tmp / "audio")},
            # The fast test LLM (placed by `make models`), started once with the graph.
            "llm": {"default_model": "smollm2-135m-instruct"},
            "assistant": {"map_max_words": 48},  # short map notes: a faster long-summary test
        }
    )


@pytest.fixture(scope="session")
def base_url(app_config) -> Iterator[str]:
    from serve_app.launch import local_app

    with local_app(app_config) as url:
        yield url


@pytest.fixture(scope="session")
def http(base_url) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=60) as client:
        yield client
