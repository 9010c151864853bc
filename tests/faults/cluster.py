"""Helpers of the fault drills: find the real processes behind Serve replicas and the job
store, kill them, and follow a job over HTTP and WebSocket while it happens."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from typing import Any

import httpx
from websockets.sync.client import connect

from serve_app.client.api import local_headers
from tests.waiting import wait_until


def replica_actors(deployment: str, app: str = "transcribe") -> list[Any]:
    """Actor handles of a deployment's live replicas."""
    import ray

    prefix = f"SERVE_REPLICA::{app}#{deployment}#"
    return [
        ray.get_actor(a["name"], namespace=a["namespace"])
        for a in ray.util.list_named_actors(all_namespaces=True)
        if a["name"].startswith(prefix)
    ]


def pid_of(actor: Any) -> int:
    import ray

    return int(ray.get(actor.__ray_call__.remote(lambda _self: os.getpid()), timeout=30))


def sigkill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)


def non_loopback_listeners() -> list[str]:
    """Listening TCP sockets of Ray's processes bound anywhere but loopback."""
    import psutil

    out = []
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status != psutil.CONN_LISTEN or conn.pid is None:
            continue
        host = conn.laddr.ip
        if host in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
            continue
        try:
            name = " ".join(psutil.Process(conn.pid).cmdline())[:120]
        except psutil.Error:
            continue
        if "ray" in name or "gcs_server" in name or "raylet" in name:
            out.append(f"{host}:{conn.laddr.port} {name}")
    return out


def wait_for(predicate: Any, timeout: float = 120, interval: float = 0.1) -> Any:
    """``tests.waiting.wait_until`` with this module's defaults (a cluster is slow)."""
    return wait_until(predicate, timeout=timeout, interval=interval)


def debug(http: httpx.Client, job_id: str) -> dict[str, Any]:
    response = http.get(f"/api/transcribe/debug/{job_id}")
    response.raise_for_status()
    return dict(response.json())


def chunks_in_flight(
    http: httpx.Client, job_id: str, done_at_least: int = 1, running_at_least: int = 1
) -> bool:
    chunks = debug(http, job_id)["chunks"]
    done = sum(c["state"] == "done" for c in chunks)
    running = sum(c["state"] == "running" for c in chunks)
    return done >= done_at_least and running >= running_at_least


def wait_finished(http: httpx.Client, job_id: str, timeout: float = 300) -> dict[str, Any]:
    def finished() -> dict[str, Any] | None:
        status = http.get(f"/api/transcribe/status/{job_id}").json()
        return status if status["status"] != "processing" else None

    return dict(wait_for(finished, timeout, interval=0.3))


class Follower(threading.Thread):
    """Follows a job's WebSocket in the background, reconnecting with ``?after=<seq>``
    if the server side of the socket goes away, as a careful client would."""

    def __init__(self, base_url: str, job_id: str, reconnect: bool = False) -> None:
        super().__init__(daemon=True)
        self.url = base_url.replace("http://", "ws://") + f"/api/transcribe/live/{job_id}"
        self.reconnect = reconnect
        self.messages: list[dict[str, Any]] = []
        self.connections = 0
        self.start()

    def run(self) -> None:
        deadline = time.time() + 600
        while time.time() < deadline:
            after = self.messages[-1]["seq"] if self.messages else 0
            self.connections += 1
            try:
                with connect(
                    f"{self.url}?after={after}",
                    open_timeout=30,
                    additional_headers=local_headers(self.url),  # auth off: the local key
                ) as ws:
                    while True:
                        message = json.loads(ws.recv(timeout=120))
                        self.messages.append(message)
            except Exception:
                pass
            last = self.messages[-1] if self.messages else {}
            if last.get("type") == "status" and last.get("status") != "processing":
                return
            if not self.reconnect:
                return
            time.sleep(0.5)

    def segments(self) -> list[dict[str, Any]]:
        return [
            {k: v for k, v in m.items() if k not in ("type", "seq")}
            for m in self.messages
            if m["type"] == "segment"
        ]
