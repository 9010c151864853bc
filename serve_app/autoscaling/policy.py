"""A Ray Serve custom autoscaling policy: ASR replicas sized on queued audio-seconds.

Each ASR replica reports, through ``record_autoscaling_stats``, the seconds of audio of the
chunks it holds (decoding or waiting for the next batch) and how many chunks that is
(``serve_app/autoscaling/queued_audio.py``). Chunks that no replica has taken yet wait in
the callers' handles; Serve counts them (``total_queued_requests``) and each is weighed at
the mean chunk length the replicas hold. The backlog divided by
``target_audio_s_per_replica`` is the replica count asked for; Serve then applies the
deployment's bounds, up/down-scale delays and factors (the policy wrapper of
``ray.serve.autoscaling_policy``).

This module is cloudpickled by value into the Serve controller: standard library only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

QUEUED_AUDIO_METRIC = "queued_audio_s"
"""Seconds of audio in the chunks a replica holds."""
HELD_CHUNKS_METRIC = "held_chunks"
"""Number of chunks a replica holds."""


def backlog_audio_s(
    held_audio_s: Mapping[Any, float],
    held_chunks: Mapping[Any, float],
    handle_queued_chunks: float,
    default_chunk_s: float,
) -> float:
    """Seconds of audio waiting for or inside the ASR replicas.

    ``held_audio_s`` and ``held_chunks``: per replica, as reported (averaged over Serve's
    look-back window). Chunks queued at handles count at the replicas' mean chunk length,
    or ``default_chunk_s`` when no replica holds one."""
    on_replicas = sum(max(0.0, v) for v in held_audio_s.values())
    chunks = sum(max(0.0, v) for v in held_chunks.values())
    mean_chunk_s = on_replicas / chunks if chunks >= 1.0 else default_chunk_s
    return on_replicas + max(0.0, handle_queued_chunks) * mean_chunk_s


def desired_replicas(
    backlog_s: float, target_audio_s_per_replica: float, min_replicas: int, max_replicas: int
) -> int:
    """Replicas for a backlog, within ``[min_replicas, max_replicas]``."""
    wanted = math.ceil(backlog_s / target_audio_s_per_replica - 1e-9) if backlog_s > 0 else 0
    return max(min_replicas, min(max_replicas, wanted))


class QueuedAudioPolicy:
    """Serve's class-callable policy (``policy_kwargs`` go to the constructor): called with
    an ``AutoscalingContext`` every control-loop tick, returns the replica count and the
    policy state (the backlog it saw, for inspection)."""

    def __init__(self, target_audio_s_per_replica: float, default_chunk_s: float = 30.0) -> None:
        if target_audio_s_per_replica <= 0 or default_chunk_s <= 0:
            raise ValueError("target_audio_s_per_replica and default_chunk_s must be > 0")
        self.target_audio_s_per_replica = target_audio_s_per_replica
        self.default_chunk_s = default_chunk_s

    def __call__(self, ctx: Any) -> tuple[int, dict[str, Any]]:
        metrics = ctx.aggregated_metrics or {}
        backlog = backlog_audio_s(
            metrics.get(QUEUED_AUDIO_METRIC, {}),
            metrics.get(HELD_CHUNKS_METRIC, {}),
            ctx.total_queued_requests or 0.0,
            self.default_chunk_s,
        )
        replicas = desired_replicas(
            backlog,
            self.target_audio_s_per_replica,
            ctx.capacity_adjusted_min_replicas,
            ctx.capacity_adjusted_max_replicas,
        )
        state = dict(ctx.policy_state or {})
        state["backlog_audio_s"] = round(backlog, 3)
        return replicas, state
