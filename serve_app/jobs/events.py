"""A job's event log: what live subscribers receive, each event numbered by ``seq``.

Sequence numbers are persisted with the events, so a subscriber's cursor (the last ``seq`` it
received) stays valid across a restart of the store and across compaction: after ``seq`` N
it gets exactly the events numbered above N that still exist, with no gap in the segments
and no duplicate.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
from typing import Any

from pydantic import BaseModel


class EventBatch(BaseModel):
    """Events after a cursor, the next cursor, and whether the job is over."""

    events: list[dict[str, Any]]
    cursor: int
    """The ``seq`` of the last event in ``events`` (the given cursor when there is none)."""
    finished: bool
    """The job has ended and every event up to its final status has been delivered."""


class EventLog:
    """Events of one job in ``seq`` order, and the signal waiting subscribers sleep on."""

    def __init__(self, events: list[tuple[int, dict[str, Any]]] | None = None) -> None:
        self.events: list[dict[str, Any]] = [{**e, "seq": s} for s, e in events or []]
        self._seqs = [e["seq"] for e in self.events]
        self._signal: asyncio.Event | None = None
        self.saved_seq = self.last_seq
        """Events up to this ``seq`` are persisted: subscribers get no later ones."""

    @property
    def last_seq(self) -> int:
        return self._seqs[-1] if self._seqs else 0

    @property
    def all_saved(self) -> bool:
        return self.saved_seq >= self.last_seq

    def append(self, event: dict[str, Any]) -> dict[str, Any]:
        """Number ``event`` and add it; returns it with its ``seq``."""
        numbered = {**event, "seq": self.last_seq + 1}
        self.events.append(numbered)
        self._seqs.append(numbered["seq"])
        return numbered

    def after(self, cursor: int) -> list[dict[str, Any]]:
        """The saved events numbered above ``cursor``."""
        first = bisect.bisect_right(self._seqs, cursor)
        return self.events[first : bisect.bisect_right(self._seqs, self.saved_seq)]

    def compact(self) -> list[int]:
        """Drop every status event but the last (a finished job's history is its segments,
        revisions and final status); returns the dropped ``seq`` numbers."""
        statuses = [e["seq"] for e in self.events if e.get("type") == "status"]
        dropped = set(statuses[:-1])
        if dropped:
            self.events = [e for e in self.events if e["seq"] not in dropped]
            self._seqs = [e["seq"] for e in self.events]
        return sorted(dropped)

    def saved(self, seq: int) -> None:
        """Events up to ``seq`` are persisted: wake the subscribers waiting for them."""
        self.saved_seq = max(self.saved_seq, seq)
        self.notify()

    def notify(self) -> None:
        if self._signal is not None:
            self._signal.set()
            self._signal = None

    async def wait(self, timeout_s: float) -> None:
        """Until the next :meth:`notify` or ``timeout_s``."""
        if self._signal is None:
            self._signal = asyncio.Event()
        signal = self._signal
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(signal.wait(), timeout_s)
