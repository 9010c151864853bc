"""Shared by the LLM benchmarks: start the app (LLM included) on a local Ray, stop it."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

for _key, _value in {
    "RAY_AUTH_MODE": "disabled",
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
}.items():
    os.environ.setdefault(_key, _value)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def tree_rss_mb(root_pid: int) -> float:
    """RSS of a process and every descendant (a local Ray's processes are the driver's)."""
    import psutil

    root = psutil.Process(root_pid)
    total = 0.0
    for p in [root, *root.children(recursive=True)]:
        try:
            total += p.memory_info().rss / 2**20
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return round(total, 1)


@contextmanager
def running_app(model: str, extra: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
    """The whole app from configs/local-cpu.yaml (diarizer off) with ``model`` as the LLM.

    Yields ``{"url", "startup_s", "rss_mb"}``.
    """
    from serve_app.config import load_config
    from serve_app.launch import local_app

    config = load_config(
        {
            "config": "configs/local-cpu.yaml",
            "diarizer": {"enabled": False},
            "job_store": {
                "database_url": "sqlite:///var/bench-llm-jobs.sqlite3",
                "actor_name": "job_store_bench",
            },
            "llm": {"default_model": model},
            **(extra or {}),
        }
    )
    t0 = time.perf_counter()
    with local_app(config) as url:
        info = {
            "url": url,
            "startup_s": round(time.perf_counter() - t0, 1),
            "rss_mb": tree_rss_mb(os.getpid()),
        }
        log(f"app up at {url} in {info['startup_s']} s, process tree RSS {info['rss_mb']} MB")
        yield info
