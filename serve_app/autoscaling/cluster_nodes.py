"""Print a running Ray cluster's nodes and resources as JSON (``transcribe config check
--cluster``, which stays free of Ray and runs this as a child process).

``python -m serve_app.autoscaling.cluster_nodes <address>``: ``127.0.0.1:6379`` (a GCS
address) or ``ray://host:10001`` (Ray Client).
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any


def cluster_nodes(address: str) -> dict[str, Any]:
    import ray

    ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False)
    try:
        nodes = [
            {
                "node_id": n["NodeID"],
                "address": n["NodeManagerAddress"],
                "alive": bool(n["Alive"]),
                "total": {k: float(v) for k, v in n["Resources"].items()},
            }
            for n in ray.nodes()
        ]
        available = {k: float(v) for k, v in ray.available_resources().items()}
    finally:
        ray.shutdown()
    return {"nodes": nodes, "available": available}


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit("usage: python -m serve_app.autoscaling.cluster_nodes <address>")
    print(json.dumps(cluster_nodes(sys.argv[1])))


if __name__ == "__main__":
    main()
