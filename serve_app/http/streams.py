"""The live-stream budget of one ingress replica (``ingress.live``).

Each open live WebSocket holds one of the replica's ``max_ongoing_requests`` for as long as
it is open; capping them in all and per caller, below that number, keeps the rest for
``/health`` and the API however many sockets one client opens.
"""

from __future__ import annotations

from collections import Counter

from serve_app.config import LiveStreamsConfig

CLOSE_TRY_AGAIN_LATER = 1013
"""WebSocket close code for a refused stream (RFC 6455 registry: "Try Again Later")."""


class LiveStreams:
    """Open streams, in all and per caller (one event loop: no lock needed)."""

    def __init__(self, config: LiveStreamsConfig) -> None:
        self.config = config
        self._open: Counter[str] = Counter()

    @property
    def total(self) -> int:
        return sum(self._open.values())

    def acquire(self, caller: str) -> str | None:
        """Take a slot for ``caller``; ``None`` when taken, else why not (the close reason)."""
        if self._open[caller] >= self.config.max_streams_per_caller:
            return (
                f"too many live streams per caller ({self.config.max_streams_per_caller} "
                "open): close one first"
            )
        if self.total >= self.config.max_streams:
            return f"too many live streams in all ({self.config.max_streams}): retry later"
        self._open[caller] += 1
        return None

    def release(self, caller: str) -> None:
        self._open[caller] -= 1
        if self._open[caller] <= 0:
            del self._open[caller]
