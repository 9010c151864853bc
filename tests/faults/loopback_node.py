"""``ray start`` for a second node of a local test cluster, kept on loopback.

Joining a cluster needs Ray's multi-node switch (``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=1``),
and with it ``ray start`` rewrites a loopback ``--address`` to the machine's interface
address. Here the node's idea of its own address is loopback, so both the address it joins
and everything it listens on stay on 127.0.0.1. Run as ``python -m
tests.faults.loopback_node start --address=127.0.0.1:<port> ...``.
"""

from __future__ import annotations

import sys


def main() -> None:
    import ray._private.services as services
    from ray.scripts.scripts import main as ray_cli

    services.get_node_ip_address = lambda address=None: "127.0.0.1"
    sys.argv = ["ray", *sys.argv[1:]]
    ray_cli()


if __name__ == "__main__":
    main()
