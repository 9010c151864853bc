"""Ray nodes for the multi-node drills: ``ray start ... --block`` on loopback as a child
process group (``tests/faults/loopback_node.py``), stopped by its PID."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from serve_app.paths import PROJECT_ROOT


@contextlib.contextmanager
def ray_node(
    args: list[str],
    log: Path,
    *,
    joining: bool,
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[subprocess.Popen]:
    """One ``ray start`` node; ``joining``: a node that joins a head, which needs Ray's
    multi-node switch on (with ``--node-ip-address`` it still binds loopback only)."""
    env = {
        **os.environ,
        **(extra_env or {}),
        "RAY_AUTH_MODE": "disabled",
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "1" if joining else "0",
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    with log.open("w") as out:
        node = subprocess.Popen(
            [sys.executable, "-m", "tests.faults.loopback_node", "start", *args, "--block"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=PROJECT_ROOT,
        )
        try:
            yield node
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(node.pid, signal.SIGTERM)
            try:
                node.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(node.pid, signal.SIGKILL)
                node.wait(timeout=10)


def node_of(actor: Any) -> str:
    """The Ray node id an actor (a replica) runs on."""
    import ray

    return str(
        ray.get(
            actor.__ray_call__.remote(
                lambda _self: __import__("ray").get_runtime_context().get_node_id()
            ),
            timeout=30,
        )
    )
