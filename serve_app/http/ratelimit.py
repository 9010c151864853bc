"""Per-caller request rate limit, with the `limits` library: a moving window kept in a
storage that every ingress replica shares.

``ingress.rate_limit`` allows ``burst`` requests in any window of ``burst /
requests_per_s`` seconds (rounded up to whole seconds): a caller sustains
``requests_per_s``, and after a quiet window may send ``burst`` at once. Counts live in
``storage_uri``: ``memory://`` keeps them in the replica (one ingress replica, as in
``make run``); ``redis://host:6379/0`` (``rediss://``, ``redis+sentinel://`` …) shares them,
so N ingress replicas allow the rate once, not N times.

When the shared storage cannot be reached, requests go through (the limit protects the
service; it must not take it down) and a warning is logged at most once a minute.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from serve_app.config import RateLimitConfig

logger = logging.getLogger("ray.serve")

NAMESPACE = "ingress"
"""First part of every key (``LIMITS:LIMITER/ingress/<caller>/…`` in Redis)."""
WARN_EVERY_S = 60.0


class RateLimiter:
    """``await take(caller)``: 0 when the request may go ahead, else the seconds until it may."""

    def __init__(self, config: RateLimitConfig) -> None:
        window_s = max(1, math.ceil(config.burst / config.requests_per_s))
        self.item = RateLimitItemPerSecond(config.burst, window_s)
        self.storage = storage_from_string(config.storage_uri)
        self._limiter = MovingWindowRateLimiter(self.storage)
        # In-process counts are taken inline (microseconds, thread-safe); a network storage
        # is called from a worker thread so the event loop never waits on it.
        self._inline = isinstance(self.storage, MemoryStorage)
        self._warned_at = -math.inf

    def _take(self, caller: str) -> float:
        if self._limiter.hit(self.item, NAMESPACE, caller):
            return 0.0
        reset_at, _ = self._limiter.get_window_stats(self.item, NAMESPACE, caller)
        return max(reset_at - time.time(), 0.001)

    async def take(self, caller: str) -> float:
        try:
            if self._inline:
                return self._take(caller)
            return await asyncio.to_thread(self._take, caller)
        except Exception as exc:
            now = time.monotonic()
            if now - self._warned_at >= WARN_EVERY_S:
                self._warned_at = now
                logger.warning("rate limit storage unavailable, not limiting: %s", exc)
            return 0.0
