"""CPU priority for compute replicas (Linux ``nice``), so the API stays responsive.

On a small machine Whisper, pyannote, VAD and the LLM keep every core busy; at the same
priority the HTTP proxy and the ingress then wait their turn behind them, and ``/health``
took 730 ms at p99 while one diarized job ran. A compute replica lowers its own priority
(``deployment.nice``); the scheduler then runs the proxy and the ingress as soon as they
have work, and the compute replicas still get every cycle nobody else wants, so throughput
is unchanged when the API is idle.

Linux keeps the nice value per thread, and a new thread or process inherits its creator's:
so every thread the process has is reniced, and whatever they start later follows.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def lower_priority(nice: int) -> int:
    """Raise this process's nice value to at least ``nice`` (never lowers it: that needs
    privileges); the threads changed."""
    if nice <= 0 or not hasattr(os, "setpriority"):
        return 0
    tasks = Path("/proc/self/task")
    tids = [int(t.name) for t in tasks.iterdir()] if tasks.is_dir() else [0]
    changed = 0
    for tid in tids:
        with contextlib.suppress(OSError):  # a thread that ended meanwhile
            if os.getpriority(os.PRIO_PROCESS, tid) < nice:
                os.setpriority(os.PRIO_PROCESS, tid, nice)
                changed += 1
    return changed
