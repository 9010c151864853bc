"""``make run``: a local Ray on loopback, the app from ``serve_config.yaml``, in the foreground.

Ctrl-C or SIGTERM shuts down Serve and the Ray processes this command started.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
import yaml

from serve_app.config import AppConfig
from serve_app.paths import PROJECT_ROOT, resolve_path

LOCAL_ENV = {
    # Everything stays on this machine: no token auth between local processes,
    # no usage report, and Ray binds loopback rather than the interface address.
    "RAY_AUTH_MODE": "disabled",
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
}

cli = typer.Typer(add_completion=False, help=__doc__)


# Logical CPUs beyond the cores: the local LLM engine's placement bundle (llm.num_cpus).
# ASR replicas and the diarizer already book every core; the LLM computes only while it
# answers, and then its threads share the cores with them.
LLM_EXTRA_LOGICAL_CPUS = 1
WORKER_NICENESS = 0
"""The nice value of Ray's worker processes (Ray's default is 15; the effect is what
``bench/bench_responsiveness.py`` measures)."""
METRICS_PORT = 8080
"""Where ``make run``'s Ray serves its Prometheus metrics (docs/architecture.md, "Metrics")."""


def start_local_ray(
    num_cpus: int | None = None,
    temp_dir: str | None = None,
    resources: dict[str, float] | None = None,
    metrics_port: int | None = None,
) -> None:
    """Start a private Ray node on 127.0.0.1 (never joins an existing cluster).

    ``num_cpus`` None: the machine's cores plus ``LLM_EXTRA_LOGICAL_CPUS``. ``resources``:
    custom resources of this head node (e.g. to pin deployments to it). ``metrics_port``:
    where Ray's Prometheus endpoint listens (``/metrics`` on 127.0.0.1; None: a port Ray
    picks).
    """
    if num_cpus is None:
        num_cpus = (os.cpu_count() or 1) + LLM_EXTRA_LOGICAL_CPUS
    for key, value in LOCAL_ENV.items():
        os.environ.setdefault(key, value)
    import ray
    from ray._private import ray_constants

    if ray_constants.ENABLE_RAY_CLUSTER:
        # Ray was imported before LOCAL_ENV was set, and would bind the interface address.
        raise RuntimeError(
            "set RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 before importing ray "
            "(local runs listen on 127.0.0.1 only)"
        )

    ray.init(
        address="local",
        _node_ip_address="127.0.0.1",
        include_dashboard=False,
        num_cpus=num_cpus,
        resources=resources,
        _temp_dir=temp_dir,
        _metrics_export_port=metrics_port,
        # Ray starts workers at nice 15; at 0 (the raylet's) the proxy, ingress and job store
        # run ahead of the compute replicas, which lower themselves (``deployment.nice``).
        _system_config={"worker_niceness": WORKER_NICENESS},
        runtime_env={
            "worker_process_setup_hook": "serve_app.loopback.bind_grpc_to_loopback",
            "env_vars": {"PYTHONPATH": str(PROJECT_ROOT)},
        },
        logging_level=logging.WARNING,
    )


# Ports a local Ray node takes by default (GCS, dashboard, its agents, client server).
RAY_DEFAULT_PORTS = {6379, 8265, 10001, 52365, 52366}


def free_port() -> int:
    """A free loopback port that none of Ray's default ports can collide with."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in RAY_DEFAULT_PORTS:
            return port


@contextmanager
def local_app(
    config: AppConfig, port: int | None = None, metrics_port: int | None = None
) -> Iterator[str]:
    """Run ``config``'s graph on a private local Ray, HTTP on 127.0.0.1 (a free port unless
    given); yields the base URL once ``/health`` answers and shuts Serve and Ray down after.
    ``metrics_port``: Ray's Prometheus endpoint (see ``start_local_ray``).

    What the tests and the benchmarks use; ``make run`` goes through ``deploy`` instead.
    """
    start_local_ray(metrics_port=metrics_port)  # before importing ray: it reads LOCAL_ENV
    import httpx
    import ray
    from ray import serve

    from serve_app.app import build_graph

    url = f"http://127.0.0.1:{port or free_port()}"
    try:
        serve.start(http_options={"host": "127.0.0.1", "port": int(url.rsplit(":", 1)[1])})
        serve.run(build_graph(config), name="transcribe", route_prefix="/")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                    break
            time.sleep(0.5)
        yield url
    finally:
        serve.shutdown()
        ray.shutdown()


def _import(path: str) -> Any:
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


def deploy(serve_config: Path, host: str | None = None, port: int | None = None) -> str:
    """Deploy every application of a Serve config file; returns the base URL."""
    from ray import serve

    spec = yaml.safe_load(serve_config.read_text())
    http = dict(spec.get("http_options") or {})
    http["host"] = host or http.get("host", "127.0.0.1")
    http["port"] = port or http.get("port", 8000)
    serve.start(http_options={"host": http["host"], "port": http["port"]})
    for app in spec["applications"]:
        builder = _import(app["import_path"])
        serve.run(
            builder(app.get("args") or {}),
            name=app.get("name", "default"),
            route_prefix=app.get("route_prefix", "/"),
        )
    return f"http://{http['host']}:{http['port']}"


@cli.command()
def run(
    config: Path = typer.Option(Path("serve_config.yaml"), help="Serve config file"),
    host: str | None = typer.Option(None, help="Override http_options.host"),
    port: int | None = typer.Option(None, help="Override http_options.port"),
    metrics_port: int = typer.Option(
        METRICS_PORT, help="Ray's Prometheus endpoint: http://127.0.0.1:PORT/metrics"
    ),
) -> None:
    """Start Ray and Serve locally and serve until interrupted."""
    start_local_ray(metrics_port=metrics_port)
    import ray
    from ray import serve

    # Installed after ray.init, which sets its own SIGTERM handler on the driver.
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())

    try:
        url = deploy(resolve_path(config), host, port)
        print(f"Serving on {url}  (docs: {url}/docs). Ctrl-C to stop.", flush=True)
        print(f"Metrics: http://127.0.0.1:{metrics_port}/metrics", flush=True)
        stop.wait()
    finally:
        print("Shutting down Serve and Ray...", flush=True)
        serve.shutdown()
        ray.shutdown()


if __name__ == "__main__":
    sys.exit(cli())
