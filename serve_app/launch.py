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

from serve_app.config import AppConfig, IngressConfig, load_config
from serve_app.loopback import is_loopback
from serve_app.paths import PROJECT_ROOT, resolve_path

LOCAL_ENV = {
    # Everything stays on this machine: no token auth between local processes,
    # no usage report, and Ray binds loopback rather than the interface address.
    "RAY_AUTH_MODE": "disabled",
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
}

cli = typer.Typer(add_completion=False, help=__doc__)


class ExposureError(RuntimeError):
    """Serving beyond this machine without API keys."""


HOW_TO_ADD_KEYS = """To serve on {host}, turn API keys on in the app's config (configs/*.yaml):

    ingress:
      auth: {{enabled: true, admin_names: [admin]}}
      allowed_hosts: [<the name clients use>]

and give the keys, as name=key pairs, in ${env} (e.g. {env}=admin=$(openssl rand -hex 24))
or one "name key [admin]" per line in ingress.auth.keys_file. Or serve on 127.0.0.1 only.
See docs/security.md."""


def check_exposure(host: str, ingress: IngressConfig) -> None:
    """Refuse (``ExposureError``) to serve on a non-loopback address without API keys: the
    anonymous mode of ``make run`` is for this machine only."""
    if is_loopback(host):
        return
    how = HOW_TO_ADD_KEYS.format(host=host, env=ingress.auth.keys_env)
    if not ingress.auth.enabled:
        raise ExposureError(
            f"Refusing to serve on {host}, which other machines can reach, with ingress.auth "
            f"off (anyone could use the API).\n{how}"
        )
    from serve_app.http.auth import KeyRing

    try:
        KeyRing.from_config(ingress.auth, PROJECT_ROOT)
    except (ValueError, OSError) as exc:
        raise ExposureError(f"Refusing to serve on {host}: {exc}.\n{how}") from exc


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
    """Deploy every application of a Serve config file; returns the base URL. Refuses
    (``ExposureError``, before anything starts) a non-loopback address without API keys."""
    from ray import serve

    spec = yaml.safe_load(serve_config.read_text())
    http = dict(spec.get("http_options") or {})
    http["host"] = host or http.get("host", "127.0.0.1")
    http["port"] = port or http.get("port", 8000)
    for app in spec["applications"]:
        if app["import_path"] == "serve_app.app:build_app":
            check_exposure(http["host"], load_config(app.get("args")).ingress)
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
        try:
            url = deploy(resolve_path(config), host, port)
        except ExposureError as exc:
            print(f"error: {exc}", file=sys.stderr, flush=True)
            raise typer.Exit(2) from None
        print(f"Serving on {url}  (docs: {url}/docs). Ctrl-C to stop.", flush=True)
        print(f"Metrics: http://127.0.0.1:{metrics_port}/metrics", flush=True)
        if is_loopback(url.split("//", 1)[1].rsplit(":", 1)[0]):
            print(
                "No API keys on this machine: each browser sees only its own jobs; the CLI "
                "uses the local admin key in var/local-key (docs/security.md).",
                flush=True,
            )
        stop.wait()
    finally:
        print("Shutting down Serve and Ray...", flush=True)
        serve.shutdown()
        ray.shutdown()


if __name__ == "__main__":
    sys.exit(cli())
