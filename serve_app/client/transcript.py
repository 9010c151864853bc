"""A live transcript as a client holds it: segment events add segments, revision events
replace or remove them by id (the event protocol in docs/api.md)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class LiveTranscript:
    """Segments by id; :meth:`apply` takes every ``segment`` and ``revision`` event in order
    (other events are ignored) and returns the ids it changed."""

    def __init__(self) -> None:
        self._held: dict[str, dict[str, Any]] = {}
        self.speakers: list[str] = []
        self.final = False

    def apply(self, event: dict[str, Any]) -> set[str]:
        kind = event.get("type")
        if kind == "segment":
            segment = {k: v for k, v in event.items() if k not in ("type", "seq")}
            self._held[str(segment["id"])] = segment
            return {str(segment["id"])}
        if kind != "revision":
            return set()
        for sid in event["removed"]:
            self._held.pop(str(sid), None)
        for segment in event["segments"]:
            self._held[str(segment["id"])] = dict(segment)
        self.speakers, self.final = list(event["speakers"]), bool(event["final"])
        return {str(s["id"]) for s in event["segments"]} | set(event["removed"])

    @property
    def segments(self) -> list[dict[str, Any]]:
        """In transcript order (ids are positions: ``7`` < ``7.1`` < ``8``)."""
        return sorted(self._held.values(), key=lambda s: _order(str(s["id"])))


def apply_events(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The segments a client holds after applying ``events`` in order."""
    transcript = LiveTranscript()
    for event in events:
        transcript.apply(event)
    return transcript.segments


def _order(sid: str) -> tuple[int, ...]:
    return tuple(int(p) for p in sid.split(".") if p.isdigit())
