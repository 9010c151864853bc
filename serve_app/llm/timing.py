"""Where a summary's LLM time goes: prefill (until a call's first token) and decode.

The assistant streams every call of a summary and records ``(start, first token, end)``;
calls run in parallel, so the figures are wall time over the union of the calls'
intervals, each instant counted once (:func:`union_length`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


def union_length(spans: Sequence[tuple[float, float]]) -> float:
    """Total length of the union of ``(start, end)`` intervals."""
    total, reach = 0.0, float("-inf")
    for start, end in sorted(spans):
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total


@dataclass
class CallTimes:
    """``(start, first token, end)`` of each call (``time.perf_counter`` seconds)."""

    spans: list[tuple[float, float, float]] = field(default_factory=list)

    def add(self, start: float, first: float | None, end: float) -> None:
        """One call; ``first`` None when it produced no token (all of it counts as prefill)."""
        first = end if first is None else min(max(first, start), end)
        self.spans.append((start, first, end))

    def as_dict(self, usage: dict[str, int] | None = None) -> dict[str, Any]:
        """``calls``; ``llm_s``, the wall time with a call in flight; ``prefill_s``, the wall
        time with a call waiting for its first token (prompt processing, and any wait for
        the engine); ``decode_s``, the rest; the engine's token counts from ``usage``."""
        busy = union_length([(s, e) for s, _, e in self.spans])
        prefill = union_length([(s, f) for s, f, _ in self.spans])
        usage = usage or {}
        return {
            "calls": len(self.spans),
            "llm_s": round(busy, 1),
            "prefill_s": round(prefill, 1),
            "decode_s": round(busy - prefill, 1),
            "prompt_tokens": usage.get("prompt_tokens", 0),
            "completion_tokens": usage.get("completion_tokens", 0),
        }
