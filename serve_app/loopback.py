"""Keeps every listener of a local run on 127.0.0.1, and says which addresses are loopback.

Ray 2.60 Serve replicas open their inter-deployment gRPC server on ``[::]:0`` (hard-coded).
``bind_grpc_to_loopback`` is installed as Ray's ``worker_process_setup_hook`` for local runs
and tests, and rewrites that wildcard address to loopback before any replica starts. Not
used on a real cluster, where replicas on other nodes must reach each other.
"""

from __future__ import annotations

import ipaddress
from typing import Any


def is_loopback(host: str) -> bool:
    """``host`` (an address, ``[v6]``, or a name) is this machine only: ``localhost`` or a
    loopback address. Any other name may resolve anywhere, so it is not."""
    host = host.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind_grpc_to_loopback() -> None:
    import ray._common.tls_utils as tls_utils

    original = tls_utils.add_port_to_grpc_server
    if getattr(original, "_loopback", False):
        return

    def add_port(server: Any, address: str) -> Any:
        if address.startswith("[::]:") or address.startswith("0.0.0.0:"):
            address = "127.0.0.1:" + address.rsplit(":", 1)[1]
        return original(server, address)

    add_port._loopback = True  # type: ignore[attr-defined]
    tls_utils.add_port_to_grpc_server = add_port
